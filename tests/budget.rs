//! The dashboard's budgeted collector for real: 100,000 established sockets in a namespace the
//! test makes, held by holder processes (at most 20,000 descriptors per process on some hosts),
//! and the dashboard at 1 s with a 3 % budget. The walk of every socket must be spaced out —
//! its age shown next to the counts it produced — while the counts still agree with `ss`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{TestNetns, Tmux, require_root, ss_state_counts};

/// Established pairs per holder process (two sockets each, 17,000 descriptors).
const PAIRS_PER_HOLDER: usize = 8_500;
/// Holders: 6 × 8,500 pairs = 102,000 ESTABLISHED sockets.
const HOLDERS: usize = 6;

/// A python3 process in the namespace holding `pairs` loopback connections (both ends) until
/// its standard input closes.
const HOLDER: &str = r#"
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
pairs = int(sys.argv[1])
listeners = []
for _ in range(4):
    l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4096); listeners.append(l)
held = []
for i in range(pairs):
    l = listeners[i % 4]
    c = socket.create_connection(l.getsockname()); s, _ = l.accept()
    held.append((c, s))
print("ready", flush=True)
sys.stdin.read()
"#;

/// The holder processes; killed and reaped when dropped, also when the test fails.
struct Holders(Vec<Child>);

impl Drop for Holders {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn hold_connections(netns: &TestNetns) -> Holders {
    let mut holders = Holders(Vec::new());
    for _ in 0..HOLDERS {
        let child = netns
            .command("python3", &["-c", HOLDER, &PAIRS_PER_HOLDER.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        holders.0.push(child);
    }
    for child in &mut holders.0 {
        let mut line = String::new();
        let stdout = child.stdout.as_mut().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("holder answers");
        assert_eq!(line.trim(), "ready", "a holder could not make its connections");
        let _ = child.stdin.as_mut().map(|stdin| stdin.flush());
    }
    holders
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn at_100k_sockets_the_walk_is_spaced_out_and_its_age_shown() {
    require_root();
    let netns = TestNetns::new();
    netns.run("sysctl", &["-qw", "net.ipv4.ip_local_port_range=1024 65535"]);
    let _holders = hold_connections(&netns);
    let established = HOLDERS * PAIRS_PER_HOLDER * 2;
    let counts = ss_state_counts(&netns.run("ss", &["-Htan"]));
    assert_eq!(counts.get("ESTABLISHED").copied(), Some(established as u64), "{counts:?}");

    let args = format!("--netns {} --no-processes --interval 1s --budget 3%", netns.name);
    let tmux = Tmux::start("budget-100k", &args, 220, 40);
    // The first sample walks at once; a later one carries its counts, dated.
    let screen = tmux.wait_until(Duration::from_secs(30), "a carried walk", |screen| screen.contains(" ago"));
    assert!(screen.contains(&format!("TCP states ({} sockets, ", established + 24)), "{screen}");
    assert!(screen.contains("states ") && screen.contains("ago"), "{screen}");
    // The diagnostics say what the walk costs and how far apart the walks are: more than the
    // interval, because 100k sockets do not fit 3 % of a core every second.
    let line = screen.lines().find(|line| line.contains("walk ") && line.contains("every")).expect("pacing shown");
    let every = line.split("every ").nth(1).and_then(|rest| rest.split([' ', ',']).next()).expect("period");
    let seconds: f64 = every.trim_end_matches('s').parse().unwrap_or_else(|_| panic!("period {every:?} in {line}"));
    assert!(seconds > 1.5, "walks every {seconds}s: {line}");
    assert!(line.contains("budget 3%") && line.contains(", refresh "), "{line}");
    tmux.keys(&["q"]);
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn a_listeners_only_report_reads_the_queues_but_not_every_socket() {
    require_root();
    let netns = TestNetns::new();
    let (_server, _clients) = netns.enter(|| {
        let server = common::listener("127.0.0.1:8080", 2);
        let clients = common::connect_many(common::local_addr(&server), 3);
        (server, clients)
    });
    let json = netns.report_json(&["--listeners", "--no-processes"]);
    let listener = json["listeners"].as_array().and_then(|all| all.iter().find(|l| l["local_port"] == 8080).cloned());
    let listener = listener.expect("the listener");
    assert_eq!((listener["accept_queue"].as_u64(), listener["full"].as_bool()), (Some(3), Some(true)), "{listener}");
    assert!(json["tcp_states"].is_null(), "{}", json["tcp_states"]);
    let skipped: Vec<&str> = json["skipped"].as_array().expect("skipped").iter().filter_map(|s| s.as_str()).collect();
    assert!(skipped.contains(&"tcp_states") && skipped.contains(&"flows"), "{skipped:?}");
    let not_evaluated = json["not_evaluated"].to_string();
    assert!(not_evaluated.contains("not asked for (--listeners)"), "{not_evaluated}");
    assert!(json["findings"].to_string().contains("accept-queue-full"), "{}", json["findings"]);
}
