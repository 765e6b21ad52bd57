//! What this binary is: its version, the commit it was built from, its target and the optional
//! parts it has — for `sockscope --version` and the JSON report's `build` object.

use serde::Serialize;

/// The package version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The full git commit the binary was built from; `unknown` for a tree without its git history
/// (a source tarball), unless `SOCKSCOPE_COMMIT` named it at build time (see `build.rs`).
pub const COMMIT: &str = env!("SOCKSCOPE_COMMIT");

/// The target triple the binary was built for.
pub const TARGET: &str = env!("SOCKSCOPE_TARGET");

/// The optional parts a build may have, and whether this one has each.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Parts {
    /// The listen-event source (eBPF programs compiled in: `sockscope events`, the per-listener
    /// drops by reason and accept waits). Whether it can run is decided at run time.
    pub ebpf: bool,
}

/// This binary's optional parts.
pub const PARTS: Parts = Parts { ebpf: true };

/// The JSON report's `build` object.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Build {
    /// [`VERSION`].
    pub version: &'static str,
    /// [`COMMIT`].
    pub commit: &'static str,
    /// [`TARGET`].
    pub target: &'static str,
    /// [`PARTS`].
    pub optional_parts: Parts,
}

/// This binary's build.
pub const BUILD: Build = Build { version: VERSION, commit: COMMIT, target: TARGET, optional_parts: PARTS };

/// The text of `sockscope --version` after the name: the version, then one line each for the
/// commit, the target and the optional parts.
pub fn long_version() -> String {
    let ebpf = if PARTS.ebpf { "yes (listen events; runs with root or CAP_BPF+CAP_PERFMON)" } else { "no" };
    format!("{VERSION}\ncommit:   {COMMIT}\ntarget:   {TARGET}\noptional: ebpf {ebpf}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_is_a_full_hash_or_unknown() {
        assert!(
            COMMIT == "unknown" || (COMMIT.len() == 40 && COMMIT.bytes().all(|b| b.is_ascii_hexdigit())),
            "{COMMIT}"
        );
    }
}
