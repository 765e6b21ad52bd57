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
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |what: &str, error: &dyn std::fmt::Display| {
        Failure::runtime(format!("cannot {what} {}: {error}", path.display()))
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file =
        tempfile::Builder::new().prefix(".sockscope-").tempfile_in(directory).map_err(|error| fail("write", &error))?;
    file.write_all(bytes).and_then(|()| file.as_file().sync_all()).map_err(|error| fail("write", &error))?;
    set_report_permissions(file.as_file(), path).map_err(|error| fail("write", &error))?;
    file.persist(path).map_err(|error| fail("write", &error.error))?;
    Ok(())
}

/// Gives the new file the existing file's permissions, or the usual 0666 minus the umask
/// (the temporary file was created 0600).
fn set_report_permissions(file: &std::fs::File, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(path) {
        Ok(existing) => existing.permissions().mode() & 0o7777,
        Err(_) => {
            let mask = rustix::process::umask(rustix::fs::Mode::empty());
            rustix::process::umask(mask);
            0o666 & !mask.bits()
        }
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}
