//! What a path names, in the words of an error message: sockscope reads its configuration and
//! replaces `report -o` targets only when they are regular files, and says what else it found.

use std::os::unix::fs::FileTypeExt;

/// The kind of file, as in "it is a fifo": `a symbolic link`, `a directory`, `a character
/// device`, `a block device`, `a fifo`, `a socket`, or `a regular file`.
pub fn kind(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_fifo() {
        "a fifo"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_named() {
        let kind_of = |path: &str| kind(&std::fs::symlink_metadata(path).expect("stat").file_type());
        assert_eq!(kind_of("/dev/null"), "a character device");
        assert_eq!(kind_of("/dev/stdout"), "a symbolic link");
        assert_eq!(kind_of("/"), "a directory");
        assert_eq!(kind_of("/proc/self/status"), "a regular file");
    }
}
