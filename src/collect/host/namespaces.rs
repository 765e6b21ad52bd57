//! Network namespaces: identify them, name them, run code inside one, and compare the one being
//! inspected with the host's.
//!
//! `setns(2)` moves only the calling thread, so code that must observe another namespace runs on
//! a thread of its own that joins it first; netlink sockets and `/proc/sys/net` files opened on
//! that thread then answer for that namespace.

use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{self, Sender};

use crate::collect::ns::sysctl::read_sysctls;
use crate::sample::{HostLink, HostNamespace, Sysctls};
use crate::settings::{HOST_WIDE_SETTINGS, PER_NAMESPACE_SETTINGS};

/// The inode of a namespace file (`/proc/<pid>/ns/net`), which identifies the namespace.
pub fn namespace_inode(path: &Path) -> std::io::Result<u64> {
    rustix::fs::stat(path).map(|stat| stat.st_ino).map_err(std::io::Error::from)
}

/// Moves the calling thread into the network namespace at `path` (a `/proc/<pid>/ns/net` link
/// or a `/run/netns/<name>` file). Needs CAP_SYS_ADMIN. Only ever call it on a thread made for
/// that namespace.
pub fn join(path: &Path) -> std::io::Result<()> {
    let file = std::fs::File::open(path)?;
    rustix::thread::move_into_link_name_space(file.as_fd(), Some(rustix::thread::LinkNameSpaceType::Network))?;
    Ok(())
}

/// Runs `f` on a new thread that has joined the network namespace at `path` and returns its
/// result. Needs CAP_SYS_ADMIN.
pub fn in_namespace<T: Send + 'static>(path: &Path, f: impl FnOnce() -> T + Send + 'static) -> std::io::Result<T> {
    let path = path.to_path_buf();
    std::thread::spawn(move || -> std::io::Result<T> {
        join(&path)?;
        Ok(f())
    })
    .join()
    .map_err(|_| std::io::Error::other("the namespace thread panicked"))?
}

/// The name under `run_netns` (normally `/run/netns`, where `ip netns add` puts its files) of the
/// namespace with this inode, as `ip netns identify` finds it; `None` when it has none.
pub fn name_of(inode: u64, run_netns: &Path) -> Option<String> {
    let entries = std::fs::read_dir(run_netns).ok()?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|entry| namespace_inode(&entry.path()).is_ok_and(|found| found == inode))
        .map(|entry| crate::format::name_from_bytes(entry.file_name().as_bytes()))
        .collect();
    names.sort();
    names.into_iter().next()
}

/// Where the host's network namespace can be opened, its inode, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostNamespaceLink {
    /// The namespace link (`/proc/1/ns/net` or `/proc/2/ns/net`).
    pub path: PathBuf,
    /// The namespace's inode.
    pub inode: u64,
    /// Which of the two it was.
    pub found_through: HostLink,
}

/// Where the host's network namespace can be opened. `/proc/1/ns/net` is the host's on a
/// normal host; where pid 1 cannot be read (some sandboxes deny it even to root) but pid 2 is
/// the kernel's `kthreadd`, which always lives in the initial namespaces, its link serves.
pub fn host_namespace_link(proc_dir: &Path) -> Result<HostNamespaceLink, String> {
    let init = proc_dir.join("1/ns/net");
    let first_error = match namespace_inode(&init) {
        Ok(inode) => return Ok(HostNamespaceLink { path: init, inode, found_through: HostLink::Init }),
        Err(error) => error,
    };
    let kthreadd = std::fs::read_to_string(proc_dir.join("2/comm")).is_ok_and(|comm| comm.trim() == "kthreadd");
    let second = proc_dir.join("2/ns/net");
    match namespace_inode(&second) {
        Ok(inode) if kthreadd => Ok(HostNamespaceLink { path: second, inode, found_through: HostLink::Kthreadd }),
        _ => Err(format!("cannot identify the host's namespace: {}: {first_error}", init.display())),
    }
}

/// Compares the inspected namespace with the host's and reads the host's settings when they
/// differ. A host-wide service: one per process, whatever the number of inspected namespaces.
/// The host's settings are read by a thread that joined the host's namespace once, on first
/// need, and then answers every sample; no thread is spawned and no `setns` made per sample.
pub struct HostNamespaceReader {
    host: Result<HostNamespaceLink, String>,
    worker: Mutex<Option<Requests>>,
}

/// Where requests to the host-namespace thread go: each carries the channel for its answer.
type Requests = Sender<Sender<Result<Sysctls, String>>>;

impl HostNamespaceReader {
    /// A reader of the host namespace found under `proc_dir` (see [`host_namespace_link`]).
    pub fn locate(proc_dir: &Path) -> HostNamespaceReader {
        HostNamespaceReader { host: host_namespace_link(proc_dir), worker: Mutex::new(None) }
    }

    /// A reader that treats the namespace at `link` as the host's (tests use their own).
    pub fn at(link: &Path) -> HostNamespaceReader {
        let host = namespace_inode(link)
            .map(|inode| HostNamespaceLink { path: link.to_path_buf(), inode, found_through: HostLink::Given })
            .map_err(|error| format!("cannot identify the host's namespace: {}: {error}", link.display()));
        HostNamespaceReader { host, worker: Mutex::new(None) }
    }

    /// The host's namespace, or why it could not be found.
    pub fn host(&self) -> Result<&HostNamespaceLink, &str> {
        self.host.as_ref().map_err(String::as_str)
    }

    /// How the namespace with inode `own` relates to the host's.
    pub fn compare(&self, own: u64) -> HostNamespace {
        let host = match &self.host {
            Ok(found) => found,
            Err(reason) => return HostNamespace::Unknown { reason: reason.clone() },
        };
        if own == host.inode {
            return HostNamespace::Same { found_through: host.found_through };
        }
        match self.read_host_settings(&host.path) {
            Ok(sysctls) => HostNamespace::Other { inode: host.inode, found_through: host.found_through, sysctls },
            Err(error) => {
                HostNamespace::Unknown { reason: format!("cannot read the host namespace's settings: {error}") }
            }
        }
    }

    fn read_host_settings(&self, link: &Path) -> Result<Sysctls, String> {
        let mut worker = self.worker.lock().map_err(|_| "the host namespace reader failed".to_string())?;
        if worker.is_none() {
            *worker = Some(spawn_worker(link).map_err(|error| error.to_string())?);
        }
        let (reply, answer) = mpsc::channel();
        let sent = worker.as_ref().is_some_and(|requests| requests.send(reply).is_ok());
        if !sent {
            *worker = None;
            return Err("the host namespace thread ended".to_string());
        }
        answer.recv().map_err(|_| "the host namespace thread ended".to_string())?
    }
}

/// A thread that joins the host's namespace and reads its settings for each request.
fn spawn_worker(link: &Path) -> std::io::Result<Requests> {
    let (requests, inbox) = mpsc::channel::<Sender<Result<Sysctls, String>>>();
    let link = link.to_path_buf();
    std::thread::Builder::new().name("sockscope-hostns".to_string()).spawn(move || {
        let joined = join(&link).map_err(|error| format!("{}: {error}", link.display()));
        for reply in inbox {
            let answer = joined.clone().and_then(|()| host_settings());
            let _ = reply.send(answer);
        }
    })?;
    Ok(requests)
}

/// The settings worth comparing and the host-wide ones, read on a thread in the host's namespace.
fn host_settings() -> Result<Sysctls, String> {
    let all = read_sysctls(Path::new("/proc/sys")).map_err(|error| error.to_string())?;
    Ok(all
        .values
        .into_iter()
        .filter(|(name, _)| {
            PER_NAMESPACE_SETTINGS.contains(&name.as_str()) || HOST_WIDE_SETTINGS.contains(&name.as_str())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_namespace_is_the_same_as_itself() {
        let own = Path::new("/proc/thread-self/ns/net");
        let inode = namespace_inode(own).expect("own namespace");
        let same = HostNamespace::Same { found_through: HostLink::Given };
        assert_eq!(HostNamespaceReader::at(own).compare(inode), same);
        match HostNamespaceReader::at(Path::new("/nonexistent/ns/net")).compare(inode) {
            HostNamespace::Unknown { reason } => assert!(reason.contains("No such file"), "{reason}"),
            other => panic!("expected Unknown, got {other:?}"),
        }
    }

    #[test]
    #[cfg_attr(sockscope_unprivileged, ignore = "needs root: reads the namespace links of pid 1 and 2")]
    fn the_host_namespace_is_found_through_pid_1_or_kthreadd() {
        let uid = rustix::process::geteuid().as_raw();
        assert!(uid == 0, "this test needs root but runs as uid {uid} (built as root or with CI=true)");
        // On a normal host pid 1's link is readable; in some sandboxes only kthreadd's is. One of
        // them must identify a namespace on any Linux machine this runs on as root.
        let host = host_namespace_link(Path::new("/proc")).expect("root finds the host's namespace");
        let expected = if host.path.ends_with("1/ns/net") { HostLink::Init } else { HostLink::Kthreadd };
        assert!(host.path.ends_with("1/ns/net") || host.path.ends_with("2/ns/net"), "{}", host.path.display());
        assert_eq!(host.found_through, expected);
        assert_ne!(host.inode, 0);
    }

    #[test]
    fn a_namespace_without_a_name_under_run_netns_has_none() {
        let empty = tempfile::tempdir().expect("temporary directory");
        let own = namespace_inode(Path::new("/proc/thread-self/ns/net")).expect("own namespace");
        assert_eq!(name_of(own, empty.path()), None);
        assert_eq!(name_of(own, Path::new("/nonexistent")), None);
    }
}
