//! Which network namespace a live source reads: the one sockscope runs in, a namespace file
//! (`/run/netns/NAME`, `/proc/PID/ns/net`, any nsfs bind mount), or the namespace of a process.
//! A target is checked when it is chosen, so a bad argument is one clear line before any work.

use std::path::{Path, PathBuf};

use super::host::namespaces::namespace_inode;

/// `statfs` magic of nsfs, the file system of namespace files.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// Whose network namespace a live source reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    /// The namespace sockscope was started in (its calling thread's).
    #[default]
    Current,
    /// The namespace behind a namespace file, as the user named it.
    Netns {
        /// The file (`/run/netns/NAME`, `/proc/PID/ns/net`, a bind mount).
        path: PathBuf,
        /// What the user typed (a name or the path), for messages.
        given: String,
    },
    /// The namespace of a process (`/proc/PID/ns/net`).
    Pid(u32),
}

/// Why a target cannot be used: a bad argument (exit 2) or a namespace that exists but cannot
/// be entered (exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// The name, path or pid does not designate a network namespace.
    NotFound(String),
    /// The namespace exists but cannot be entered (no CAP_SYS_ADMIN, or it went away).
    CannotEnter(String),
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::NotFound(message) | TargetError::CannotEnter(message) => f.write_str(message),
        }
    }
}

impl Target {
    /// The target of `--netns NAME|PATH`: a bare name is looked up under `run_netns`, anything
    /// with a `/` is a path.
    pub fn netns(given: &str, run_netns: &Path) -> Result<Target, TargetError> {
        let path = if given.contains('/') { PathBuf::from(given) } else { run_netns.join(given) };
        if given.is_empty() || given == "." || given == ".." {
            return Err(TargetError::NotFound(format!("--netns '{given}': not a namespace name")));
        }
        let target = Target::Netns { path, given: given.to_string() };
        target.check()?;
        Ok(target)
    }

    /// The target of `--pid PID`: the network namespace of that process.
    pub fn pid(pid: u32, proc_dir: &Path) -> Result<Target, TargetError> {
        if pid == 0 || !proc_dir.join(pid.to_string()).exists() {
            return Err(TargetError::NotFound(format!("--pid {pid}: no such process")));
        }
        let target = Target::Pid(pid);
        target.check()?;
        Ok(target)
    }

    /// The namespace file to open, `None` for [`Target::Current`].
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            Target::Current => None,
            Target::Netns { path, .. } => Some(path.clone()),
            Target::Pid(pid) => Some(PathBuf::from(format!("/proc/{pid}/ns/net"))),
        }
    }

    /// The target as the user named it: `netns web`, `pid 4242`.
    pub fn describe(&self) -> String {
        match self {
            Target::Current => "the current network namespace".to_string(),
            Target::Netns { given, .. } => format!("network namespace {given}"),
            Target::Pid(pid) => format!("the network namespace of pid {pid}"),
        }
    }

    /// Checks that the target's file exists and is a network namespace; its inode.
    pub fn check(&self) -> Result<Option<u64>, TargetError> {
        let Some(path) = self.path() else { return Ok(None) };
        let inode = namespace_inode(&path).map_err(|error| self.stat_error(&path, &error))?;
        if !is_nsfs(&path) {
            return Err(TargetError::NotFound(format!("{}: not a namespace file (nsfs)", path.display())));
        }
        Ok(Some(inode))
    }

    fn stat_error(&self, path: &Path, error: &std::io::Error) -> TargetError {
        let message = format!("{}: {}: {error}", self.describe(), path.display());
        match (self, error.kind()) {
            (Target::Netns { given, .. }, std::io::ErrorKind::NotFound) if !given.contains('/') => {
                TargetError::NotFound(format!(
                    "--netns {given}: no such namespace under /run/netns (see `ip netns list`)"
                ))
            }
            (_, std::io::ErrorKind::NotFound) => TargetError::NotFound(message),
            _ => TargetError::CannotEnter(message),
        }
    }
}

/// Whether a file is a namespace file (on nsfs); an empty placeholder under `/run/netns` left
/// by a failed `ip netns add` is not.
pub fn is_nsfs(path: &Path) -> bool {
    // f_type is i64 on some architectures and narrower on others.
    #[allow(clippy::useless_conversion)]
    rustix::fs::statfs(path).is_ok_and(|fs| i64::from(fs.f_type) == NSFS_MAGIC)
}

/// The reason an entering failed, for people: EPERM means privileges, EINVAL a file that is a
/// namespace of another kind.
pub fn enter_error(target_path: &Path, error: &std::io::Error) -> TargetError {
    let path = target_path.display();
    match rustix::io::Errno::from_io_error(error) {
        Some(rustix::io::Errno::PERM) => TargetError::CannotEnter(format!(
            "cannot enter the network namespace {path}: {error} (entering a namespace needs root or CAP_SYS_ADMIN)"
        )),
        Some(rustix::io::Errno::INVAL) => TargetError::NotFound(format!("{path}: not a network namespace")),
        _ => TargetError::CannotEnter(format!("cannot enter the network namespace {path}: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_name_a_missing_path_and_a_missing_pid_are_bad_arguments() {
        let empty = tempfile::tempdir().expect("temporary directory");
        let by_name = Target::netns("nosuch", empty.path());
        assert!(matches!(&by_name, Err(TargetError::NotFound(m)) if m.contains("ip netns list")), "{by_name:?}");
        let by_path = Target::netns("/nonexistent/ns", empty.path());
        assert!(matches!(by_path, Err(TargetError::NotFound(_))), "{by_path:?}");
        assert!(matches!(Target::pid(0, Path::new("/proc")), Err(TargetError::NotFound(_))));
        assert!(matches!(Target::pid(u32::MAX, Path::new("/proc")), Err(TargetError::NotFound(_))));
    }

    #[test]
    fn a_file_that_is_not_a_namespace_is_a_bad_argument() {
        let file = tempfile::NamedTempFile::new().expect("temporary file");
        let path = file.path().to_string_lossy().into_owned();
        let checked = Target::netns(&path, Path::new("/run/netns"));
        assert!(matches!(&checked, Err(TargetError::NotFound(m)) if m.contains("not a namespace file")), "{checked:?}");
    }

    #[test]
    fn the_own_namespace_is_a_valid_target() {
        let own = Target::pid(std::process::id(), Path::new("/proc")).expect("own pid");
        let inode = own.check().expect("own namespace").expect("an inode");
        assert_eq!(Some(inode), namespace_inode(Path::new("/proc/self/ns/net")).ok());
        assert_eq!(own.describe(), format!("the network namespace of pid {}", std::process::id()));
    }
}
