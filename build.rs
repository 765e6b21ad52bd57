//! Decides, when the package is built, which tests this environment cannot run, so that libtest
//! reports them as ignored instead of letting them pass having done nothing:
//!
//! - `sockscope_unprivileged`: the build does not run as root (effective uid 0), so the tests that
//!   need root (network namespaces, their sysctls, setns, /dev/kmsg) are marked `#[ignore]`.
//! - `sockscope_no_tmux`: `tmux -V` cannot run, so the tests that drive the dashboard in a real
//!   terminal are marked `#[ignore]`.
//! - `sockscope_no_nginx`: `/usr/sbin/nginx` is not installed, so the tests that run a real nginx
//!   are marked `#[ignore]`.
//! - `sockscope_no_redis`: `/usr/bin/redis-server` is not installed, so the tests that run a real
//!   redis are marked `#[ignore]`.
//!
//! Neither is set when `CI=true`: there every test must run, and one that cannot fails. Only
//! tests read these cfgs; the library and the binary are the same whatever they are.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rustc-check-cfg=cfg(sockscope_unprivileged)");
    println!("cargo::rustc-check-cfg=cfg(sockscope_no_tmux)");
    println!("cargo::rustc-check-cfg=cfg(sockscope_no_nginx)");
    println!("cargo::rustc-check-cfg=cfg(sockscope_no_redis)");
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
