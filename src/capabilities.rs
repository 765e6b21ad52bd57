//! The capabilities sockscope holds beyond its user's own rights — given by file capabilities
//! (`setcap`) or by a systemd unit's `AmbientCapabilities=` — and the guard that lowers them
//! while a file the user named is opened ([`crate::files::as_user`]).
//!
//! Capabilities belong to a thread, so lowering them on the thread that opens a file leaves the
//! collector's threads as they are, and raising them again afterwards needs no privilege: the
//! permitted set is never touched.

use std::io;

use rustix::thread::{CapabilitySet, CapabilitySets};

/// The kernel's names of the capabilities, by bit number (`capabilities(7)`).
const NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// The effective capabilities of the calling thread that its user does not have: all of them
/// when the real uid is not root, none for root (whose rights they are) or when they cannot be
/// read. Names as `capabilities(7)` spells them without `CAP_`, lower case (`sys_ptrace`).
pub fn raised() -> Vec<String> {
    if rustix::process::getuid().is_root() {
        return Vec::new();
    }
    match rustix::thread::capabilities(None) {
        Ok(sets) => names(sets.effective),
        Err(_) => Vec::new(),
    }
}

/// The names of the capabilities in `set`, lowest bit first; a bit newer than this table reads
/// `cap_N`.
fn names(set: CapabilitySet) -> Vec<String> {
    (0..64)
        .filter(|bit| set.bits() & (1u64 << bit) != 0)
        .map(|bit| NAMES.get(bit).map_or_else(|| format!("cap_{bit}"), |name| name.to_string()))
        .collect()
}

/// Refuses a set-user-ID or set-group-ID run (effective ids other than the real ones): lowering
/// capabilities would not take away the rights of an effective uid 0, so `--config
/// /etc/shadow` would be read as root. File capabilities are the supported way to raise rights.
pub fn refuse_set_id() -> Result<(), String> {
    use rustix::process::{getegid, geteuid, getgid, getuid};
    if geteuid() != getuid() || getegid() != getgid() {
        return Err(format!(
            "refusing to run set-user-ID or set-group-ID (real uid {}, effective uid {}): grant \
             capabilities instead (see the PRIVILEGES section of sockscope(1))",
            getuid().as_raw(),
            geteuid().as_raw()
        ));
    }
    Ok(())
}

/// While alive, the calling thread runs without its raised effective capabilities; dropping it
/// raises them again.
#[must_use = "the capabilities are raised again when the guard is dropped"]
pub struct Lowered {
    /// The sets before lowering, restored on drop; `None` when nothing was lowered.
    before: Option<CapabilitySets>,
}

impl Lowered {
    /// Lowers the calling thread's effective capabilities when its user is not root and it has
    /// any; an error when the kernel refuses (the caller must then not open the file).
    pub fn enter() -> io::Result<Lowered> {
        if rustix::process::getuid().is_root() {
            return Ok(Lowered { before: None });
        }
        let sets = rustix::thread::capabilities(None)?;
        if sets.effective.is_empty() {
            return Ok(Lowered { before: None });
        }
        rustix::thread::set_capabilities(None, CapabilitySets { effective: CapabilitySet::empty(), ..sets })?;
        Ok(Lowered { before: Some(sets) })
    }
}

impl Drop for Lowered {
    fn drop(&mut self) {
        // Raising within the permitted set cannot fail; were it to, this thread would merely
        // go on with the user's own rights.
        if let Some(sets) = self.before {
            let _ = rustix::thread::set_capabilities(None, sets);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_named_as_the_kernel_names_them() {
        let set = CapabilitySet::SYS_PTRACE | CapabilitySet::DAC_READ_SEARCH | CapabilitySet::CHECKPOINT_RESTORE;
        assert_eq!(names(set), ["dac_read_search", "sys_ptrace", "checkpoint_restore"]);
        assert_eq!(names(CapabilitySet::from_bits_retain(1 << 41)), ["cap_41"]);
        assert_eq!(NAMES[21], "sys_admin");
        assert_eq!(NAMES[38], "perfmon");
        assert_eq!(NAMES[39], "bpf");
    }

    #[test]
    fn a_guard_leaves_the_capabilities_as_they_were() {
        let before = rustix::thread::capabilities(None).expect("capget");
        drop(Lowered::enter().expect("lower"));
        assert_eq!(rustix::thread::capabilities(None).expect("capget"), before);
    }
}
