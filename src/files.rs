//! The files the invoking user names — `--config`, `report -o`, `record -o`, the recordings of
//! `replay` and `--from` — are opened, created, renamed and removed only inside [`as_user`],
//! with the user's own rights; and what a path names, in the words of an error message:
//! sockscope reads its configuration and replaces `report -o` targets only when they are
//! regular files, and says what else it found.

use std::os::unix::fs::FileTypeExt;

/// Runs `work` — every call that opens, creates, renames or removes a file the invoking user
/// named — with the user's own rights. When sockscope runs with capabilities raised above its
/// user's (file capabilities, or a systemd unit's `AmbientCapabilities=`), the calling thread's
/// effective capabilities are lowered for the call and raised again after it, so that
/// `CAP_DAC_READ_SEARCH` never lets `--config /etc/shadow` read a file the user cannot. For
/// root, or a user without capabilities, it only calls `work`. Fails, without calling `work`,
/// when the kernel refuses to lower them.
pub fn as_user<T>(work: impl FnOnce() -> T) -> std::io::Result<T> {
    let lowered = crate::capabilities::Lowered::enter()?;
    let result = work();
    drop(lowered);
    Ok(result)
}

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
