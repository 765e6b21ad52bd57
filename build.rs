//! Runs when the package is built. It names the commit and target the binary is built from
//! (`SOCKSCOPE_COMMIT`, `SOCKSCOPE_TARGET`: `sockscope --version` and the JSON report's `build`
//! show them), and decides which tests this environment cannot run, so that libtest reports them
//! as ignored instead of letting them pass having done nothing:
//!
//! - `sockscope_unprivileged`: the build does not run as root (effective uid 0), so the tests that
//!   need root (network namespaces, their sysctls, setns, /dev/kmsg) are marked `#[ignore]`.
//! - `sockscope_no_tmux`: `tmux -V` cannot run, so the tests that drive the dashboard in a real
//!   terminal are marked `#[ignore]`.
//! - `sockscope_no_nginx`: `/usr/sbin/nginx` is not installed, so the tests that run a real nginx
//!   are marked `#[ignore]`.
//! - `sockscope_no_redis`: `/usr/bin/redis-server` is not installed, so the tests that run a real
//!   redis are marked `#[ignore]`.
//! - `sockscope_no_clang`: `clang` cannot run, so the test that rebuilds the eBPF object from
//!   source (`bpf/build --check`) is marked `#[ignore]`.
//!
//! Neither is set when `CI=true`: there every test must run, and one that cannot fails. Only
//! tests read these cfgs; the library and the binary are the same whatever they are.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rustc-check-cfg=cfg(sockscope_unprivileged)");
    println!("cargo::rustc-check-cfg=cfg(sockscope_no_tmux)");
    println!("cargo::rustc-check-cfg=cfg(sockscope_no_nginx)");
    println!("cargo::rustc-check-cfg=cfg(sockscope_no_redis)");
    println!("cargo::rustc-check-cfg=cfg(sockscope_no_clang)");
    name_the_build();
    if std::env::var_os("CI").is_some_and(|ci| ci == "true") {
        return;
    }
    if !effective_uid_is_root() {
        println!("cargo::rustc-cfg=sockscope_unprivileged");
    }
    if !Command::new("tmux").arg("-V").output().is_ok_and(|output| output.status.success()) {
        println!("cargo::rustc-cfg=sockscope_no_tmux");
    }
    if !std::path::Path::new("/usr/sbin/nginx").exists() {
        println!("cargo::rustc-cfg=sockscope_no_nginx");
    }
    if !std::path::Path::new("/usr/bin/redis-server").exists() {
        println!("cargo::rustc-cfg=sockscope_no_redis");
    }
    if !Command::new("clang").arg("--version").output().is_ok_and(|output| output.status.success()) {
        println!("cargo::rustc-cfg=sockscope_no_clang");
    }
}

/// Sets `SOCKSCOPE_COMMIT` — `SOCKSCOPE_COMMIT` from the environment when set (a build from a
/// source tarball can name its commit), else `git rev-parse HEAD` when the package directory is
/// the top of a git work tree, else `unknown` (no git, or no history: the build never fails for
/// it) — and `SOCKSCOPE_TARGET`.
fn name_the_build() {
    println!("cargo::rerun-if-env-changed=SOCKSCOPE_COMMIT");
    let commit = match std::env::var("SOCKSCOPE_COMMIT") {
        Ok(commit) if !commit.is_empty() => commit,
        _ => git_commit().unwrap_or_else(|| "unknown".to_string()),
    };
    println!("cargo::rustc-env=SOCKSCOPE_COMMIT={commit}");
    println!("cargo::rustc-env=SOCKSCOPE_TARGET={}", std::env::var("TARGET").unwrap_or_default());
}

/// `git rev-parse HEAD` of the package's own work tree (not of a repository it was unpacked
/// into), and a rerun whenever HEAD moves.
fn git_commit() -> Option<String> {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let top = git(&manifest_dir, &["rev-parse", "--show-toplevel"])?;
    if std::fs::canonicalize(&top).ok()? != std::fs::canonicalize(&manifest_dir).ok()? {
        return None;
    }
    let git_dir = PathBuf::from(git(&manifest_dir, &["rev-parse", "--absolute-git-dir"])?);
    let common_dir = PathBuf::from(git(&manifest_dir, &["rev-parse", "--path-format=absolute", "--git-common-dir"])?);
    let mut watched = vec![git_dir.join("HEAD"), common_dir.join("packed-refs")];
    if let Some(branch) = git(&manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(common_dir.join(branch));
    }
    // A path that does not exist would rerun this script on every build.
    for path in watched.iter().filter(|path| path.exists()) {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    git(&manifest_dir, &["rev-parse", "HEAD"])
}

/// The trimmed output of a successful `git ARGS` in `dir`.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// Whether the effective uid, the second field of the `Uid:` line of `/proc/self/status`, is 0.
/// An unreadable file counts as not root: the root-only tests are then ignored, not failed.
fn effective_uid_is_root() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        .is_some_and(|effective| effective == "0")
}
