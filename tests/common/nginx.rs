//! A real nginx in a test namespace: from a private prefix in a temporary directory
//! (configuration, pid and logs there; nothing under /etc changes), in the foreground, killed —
//! workers too — when dropped, also on failure.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{TestNetns, wait_until};

pub const NGINX: &str = "/usr/sbin/nginx";

/// An nginx master and its workers in a test namespace, killed when dropped.
pub struct Nginx {
    master: Child,
    _prefix: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx in `netns` with `workers` worker processes and the `listen` directives given
    /// (one server per directive), and waits until every worker runs.
    pub fn start(netns: &TestNetns, workers: usize, listens: &[&str]) -> Nginx {
        assert!(
            std::path::Path::new(NGINX).exists(),
            "this test needs nginx ({NGINX}; Debian package nginx, which .ci/run installs); it is not \
             marked ignored because nginx was there when the tests were built, or CI=true"
        );
        let prefix = tempfile::tempdir().expect("tempdir");
        let dir = prefix.path().display().to_string();
        std::fs::create_dir(prefix.path().join("logs")).expect("logs dir");
        let servers: String = listens
            .iter()
            .map(|listen| format!("  server {{ listen {listen}; location / {{ return 200 \"ok\\n\"; }} }}\n"))
            .collect();
        let temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .map(|kind| format!("  {kind}_temp_path {dir}/{kind};\n"))
            .concat();
        let config = format!(
            "daemon off;\nmaster_process on;\nworker_processes {workers};\npid {dir}/nginx.pid;\n\
             error_log {dir}/logs/error.log;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n{temp}{servers}}}\n"
        );
        let conf = prefix.path().join("nginx.conf");
        std::fs::write(&conf, config).expect("write nginx.conf");
        // `ip netns exec` execs nginx itself: the child is the master.
        let master = netns
            .command(NGINX, &["-p", &dir, "-c", &conf.display().to_string(), "-e", &format!("{dir}/logs/error.log")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let nginx = Nginx { master, _prefix: prefix };
        // Ready once every worker polls its listeners (its epoll set holds more than its channel):
        // a worker stopped before that would hold its sockets without polling them.
        let started = wait_until(Duration::from_secs(10), || {
            nginx.workers().len() == workers && nginx.workers().iter().all(|w| polls(*w))
        });
        let log = std::fs::read_to_string(PathBuf::from(&dir).join("logs/error.log")).unwrap_or_default();
        assert!(started, "nginx did not start {workers} workers: {log}");
        nginx
    }

    /// The master's pid.
    pub fn pid(&self) -> u32 {
        self.master.id()
    }

    /// The worker pids: the master's children.
    pub fn workers(&self) -> BTreeSet<u32> {
        let text = std::fs::read_to_string(format!("/proc/{}/task/{}/children", self.pid(), self.pid()));
        text.unwrap_or_default().split_whitespace().filter_map(|pid| pid.parse().ok()).collect()
    }

    /// Sends `signal` to every worker.
    pub fn signal_workers(&self, signal: &str) {
        for worker in self.workers() {
            let _ = Command::new("kill").args([signal, &worker.to_string()]).status();
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // The master first: alive, it replaces every worker killed before it, and the new ones
        // would outlive the test.
        let workers = self.workers();
        let _ = self.master.kill();
        let _ = self.master.wait();
        for worker in workers {
            let _ = Command::new("kill").args(["-KILL", &worker.to_string()]).status();
        }
    }
}

/// Whether some epoll instance of `pid` watches two files or more.
pub fn polls(pid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else { return false };
    entries.flatten().any(|entry| {
        std::fs::read_to_string(entry.path())
            .is_ok_and(|text| text.lines().filter(|l| l.starts_with("tfd:")).count() >= 2)
    })
}
