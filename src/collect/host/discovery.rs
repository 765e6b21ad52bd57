//! Finding every network namespace in use on the host: those of running processes
//! (`/proc/*/ns/net`), the named ones (`/run/netns`) and any other nsfs bind mount (container
//! runtimes keep theirs under `/run/docker/netns`, `/var/run/netns/cni-*`, ...), deduplicated by
//! inode, each with a way in, a few of its processes and the container they run in.
//!
//! Not found: a namespace held only by an open file descriptor or a socket, with no process in
//! it and no mount (nothing on the host names it), and threads that left their process's
//! namespace (only each process's main thread is looked at).

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::containers;
use super::namespaces::namespace_inode;
use crate::collect::target::is_nsfs;
use crate::sample::Netns;

/// How many pids (and their distinct commands) describe a namespace.
pub const PIDS_SHOWN: usize = 5;

/// How many of a namespace's processes are asked for their cgroup, lowest pid first.
const CGROUPS_READ: usize = 3;

/// A network namespace in use, and where to enter it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// A file that opens it: its `/run/netns` name, another bind mount, or its lowest pid's link.
    pub path: PathBuf,
    /// Its identity and who lives in it.
    pub netns: Netns,
}

/// Where the files discovery reads are.
#[derive(Debug, Clone)]
pub struct Places {
    /// The process directory (`/proc`).
    pub proc: PathBuf,
    /// Named namespaces (`/run/netns`).
    pub run_netns: PathBuf,
    /// The mount table (`/proc/self/mountinfo`).
    pub mountinfo: PathBuf,
}

/// Every network namespace in use, ordered by inode (the initial namespace has the lowest on
/// every kernel, since it is made first).
pub fn discover(places: &Places) -> Vec<Found> {
    discover_where(places, |_| true)
}

/// The namespace with this inode, as [`discover`] would describe it, reading the processes and
/// cgroups of that namespace only; `None` when nothing on the host uses it any more.
pub fn describe(places: &Places, inode: u64) -> Option<Found> {
    discover_where(places, |found| found == inode).into_iter().next()
}

/// The namespaces in use whose inode `wanted` accepts.
fn discover_where(places: &Places, wanted: impl Fn(u64) -> bool) -> Vec<Found> {
    let mut by_inode: BTreeMap<u64, Entry> = BTreeMap::new();
    for (pid, inode) in process_namespaces(&places.proc).into_iter().filter(|(_, inode)| wanted(*inode)) {
        by_inode.entry(inode).or_default().pids.push(pid);
    }
    for (name, path, inode) in named_namespaces(&places.run_netns).into_iter().filter(|(_, _, inode)| wanted(*inode)) {
        let entry = by_inode.entry(inode).or_default();
        entry.names.push(name);
        entry.mounts.push(path);
    }
    for (path, inode) in nsfs_mounts(&places.mountinfo).into_iter().filter(|(_, inode)| wanted(*inode)) {
        by_inode.entry(inode).or_default().mounts.push(path);
    }
    by_inode.into_iter().filter_map(|(inode, entry)| entry.found(inode, &places.proc)).collect()
}

/// What discovery learnt about one inode.
#[derive(Debug, Default)]
struct Entry {
    pids: Vec<u32>,
    names: Vec<String>,
    mounts: Vec<PathBuf>,
}

impl Entry {
    fn found(mut self, inode: u64, proc_dir: &Path) -> Option<Found> {
        self.pids.sort_unstable();
        self.names.sort();
        let path = self
            .mounts
            .first()
            .cloned()
            .or_else(|| self.pids.first().map(|pid| proc_dir.join(format!("{pid}/ns/net"))))?;
        // Kernel threads live in the initial namespace and say nothing about it: show its
        // user-space processes (kernel threads only where there is nothing else).
        let shown: Vec<u32> =
            self.pids.iter().copied().filter(|pid| !is_kernel_thread(proc_dir, *pid)).take(PIDS_SHOWN).collect();
        let shown = if shown.is_empty() { self.pids.iter().copied().take(PIDS_SHOWN).collect() } else { shown };
        let container = shown.iter().take(CGROUPS_READ).find_map(|pid| container_of(proc_dir, *pid));
        let mut processes: Vec<String> = shown.iter().filter_map(|pid| command(proc_dir, *pid)).collect();
        processes.sort();
        processes.dedup();
        let netns = Netns { inode, name: self.names.first().cloned(), pids: shown, processes, container };
        Some(Found { path, netns })
    }
}

/// Each process and the inode of its network namespace; processes that cannot be read are
/// skipped (they exited, or another user's link is denied without privileges).
fn process_namespaces(proc_dir: &Path) -> Vec<(u32, u64)> {
    let Ok(entries) = std::fs::read_dir(proc_dir) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, namespace_inode(&proc_dir.join(format!("{pid}/ns/net"))).ok()?)))
        .collect()
}

/// The namespaces under `/run/netns`: name, file and inode.
fn named_namespaces(run_netns: &Path) -> Vec<(String, PathBuf, u64)> {
    let Ok(entries) = std::fs::read_dir(run_netns) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let inode = namespace_inode(&path).ok()?;
            Some((crate::format::name_from_bytes(entry.file_name().as_bytes()), path, inode))
        })
        .filter(|(_, path, _)| is_nsfs(path))
        .collect()
}

/// The nsfs bind mounts of network namespaces in a `mountinfo` table: mount point and inode.
fn nsfs_mounts(mountinfo: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(table) = std::fs::read_to_string(mountinfo) else { return Vec::new() };
    table.lines().filter_map(parse_nsfs_mount).collect()
}

/// One `mountinfo` line, when it is a network namespace's bind mount: `36 25 0:4 net:[4026532] /run/netns/a rw - nsfs nsfs rw`.
fn parse_nsfs_mount(line: &str) -> Option<(PathBuf, u64)> {
    let (mount, filesystem) = line.split_once(" - ")?;
    if filesystem.split_whitespace().next()? != "nsfs" {
        return None;
    }
    let mut fields = mount.split_whitespace();
    let root = fields.nth(3)?;
    let point = fields.next()?;
    let inode = root.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()?;
    Some((PathBuf::from(unescape_octal(point)), inode))
}

/// Undoes `mountinfo`'s octal escapes (`\040` for a space).
fn unescape_octal(text: &str) -> String {
    unescape(text, |rest| match rest {
        [b'\\', high, middle, low, ..] => {
            let digit = |byte: &u8| char::from(*byte).to_digit(8);
            u8::try_from(digit(high)? * 64 + digit(middle)? * 8 + digit(low)?).ok()
        }
        _ => None,
    })
}

/// Undoes four-byte escapes (`\040`, `\x2d`): `escape` reads the byte an escape at the start of
/// its argument stands for; anything else is kept as written.
pub(super) fn unescape(text: &str, escape: impl Fn(&[u8]) -> Option<u8>) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match escape(&bytes[at..]) {
            Some(byte) => {
                out.push(byte);
                at += 4;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a process is a kernel thread: kthreadd itself or one of its children (they have
/// no command line).
fn is_kernel_thread(proc_dir: &Path, pid: u32) -> bool {
    pid == 2 || std::fs::read(proc_dir.join(format!("{pid}/cmdline"))).is_ok_and(|cmdline| cmdline.is_empty())
}

/// A process's command (`comm`), kept whatever its bytes ([`crate::format::name_from_bytes`]).
fn command(proc_dir: &Path, pid: u32) -> Option<String> {
    let comm = std::fs::read(proc_dir.join(format!("{pid}/comm"))).ok()?;
    Some(crate::format::name_from_bytes(comm.strip_suffix(b"\n").unwrap_or(&comm)))
}

/// The container of a process, from its cgroup.
fn container_of(proc_dir: &Path, pid: u32) -> Option<crate::sample::ContainerHint> {
    let cgroup = std::fs::read_to_string(proc_dir.join(format!("{pid}/cgroup"))).ok()?;
    containers::from_cgroup(&cgroup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_of_namespace_bind_mounts() {
        let line = "644 29 0:4 net:[4026532290] /run/netns/web rw shared:322 - nsfs nsfs rw";
        assert_eq!(parse_nsfs_mount(line), Some((PathBuf::from("/run/netns/web"), 4_026_532_290)));
        let spaced = "645 29 0:4 net:[4026532291] /run/my\\040ns rw - nsfs nsfs rw";
        assert_eq!(parse_nsfs_mount(spaced), Some((PathBuf::from("/run/my ns"), 4_026_532_291)));
        assert_eq!(parse_nsfs_mount("646 29 0:4 mnt:[4026532292] /run/m rw - nsfs nsfs rw"), None);
        assert_eq!(parse_nsfs_mount("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw"), None);
        assert_eq!(parse_nsfs_mount("garbage"), None);
    }

    #[test]
    fn the_own_namespace_is_found_with_this_process_in_it() {
        let places = Places {
            proc: PathBuf::from("/proc"),
            run_netns: PathBuf::from("/nonexistent"),
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
        };
        let own = namespace_inode(Path::new("/proc/self/ns/net")).expect("own namespace");
        let found = discover(&places);
        let entry = found.iter().find(|found| found.netns.inode == own).expect("the own namespace");
        assert!(!entry.netns.pids.is_empty() && entry.netns.pids.len() <= PIDS_SHOWN);
        assert_eq!(namespace_inode(&entry.path).ok(), Some(own));
        assert!(found.windows(2).all(|pair| pair[0].netns.inode < pair[1].netns.inode));
        assert_eq!(describe(&places, own).map(|one| one.netns.inode), Some(own), "one namespace alone");
        assert_eq!(describe(&places, 1), None, "no namespace has inode 1");
    }
}
