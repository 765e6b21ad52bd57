//! Where output goes: standard output (a reader that went away ends the run quietly) or a file
//! written atomically.

use std::io::Write;
use std::path::Path;

use super::Failure;

/// Writes to stdout; a reader that went away (`| head`) ends the run quietly.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::runtime(format!("writing to standard output: {error}"))),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// readers see the old file or the complete new one, never a partial one.
///
/// Only a regular file, or a path where nothing is yet, is replaced. Anything else — a device
/// (`/dev/null`), a fifo, a socket, a directory or a symbolic link (`/dev/stdout`) — is refused
/// with one line, without being opened: a rename would put a regular file in place of the
/// device or link, while writing through would let whoever controls the path (a symlink planted
/// in a shared directory, a device node) aim root's write at a file or device of their choice,
/// and opening some devices or a fifo has effects of its own (or blocks). Shell redirection
/// (`> /dev/null`) does what is wanted there. The new file is owned by the user running
/// sockscope, with the replaced file's permission bits without setuid, setgid or sticky. All of
/// it is done with the invoking user's own rights ([`crate::files::as_user`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    crate::files::as_user(|| replace(path, bytes))
        .unwrap_or_else(|error| Err(Failure::runtime(format!("cannot write {}: {error}", path.display()))))
}

/// [`write_atomically`]'s work.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |what: &str, error: &dyn std::fmt::Display| {
        Failure::runtime(format!("cannot {what} {}: {error}", path.display()))
    };
    let existing = match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_file() => Some(metadata),
        Ok(metadata) => return Err(fail("write", &not_a_regular_file(&metadata.file_type()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(fail("write", &error)),
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file =
        tempfile::Builder::new().prefix(".sockscope-").tempfile_in(directory).map_err(|error| fail("write", &error))?;
    file.write_all(bytes).and_then(|()| file.as_file().sync_all()).map_err(|error| fail("write", &error))?;
    set_report_permissions(file.as_file(), existing.as_ref()).map_err(|error| fail("write", &error))?;
    file.persist(path).map_err(|error| fail("write", &error.error))?;
    Ok(())
}

/// Why `-o` refuses a path of this type, on one line.
fn not_a_regular_file(file_type: &std::fs::FileType) -> String {
    let kind = crate::files::kind(file_type);
    format!("it is {kind}, and -o replaces only regular files (redirect standard output instead)")
}

/// Gives the new file the replaced file's permission bits (never setuid, setgid or sticky), or
/// the usual 0666 minus the umask for a new path (the temporary file was created 0600).
fn set_report_permissions(file: &std::fs::File, existing: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match existing {
        Some(metadata) => metadata.permissions().mode() & 0o777,
        None => {
            let mask = rustix::process::umask(rustix::fs::Mode::empty());
            rustix::process::umask(mask);
            0o666 & !mask.bits()
        }
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}
