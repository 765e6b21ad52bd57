//! Names chosen by other users, against the real kernel: a process that names itself with
//! `prctl(PR_SET_NAME)` and runs as uid 65534 (nobody), abstract UNIX socket names and
//! interface names, each planted in a network namespace made for the test, with full accept
//! queues and an MTU mismatch so that findings quote them. sockscope, run as root, must print
//! none of their control characters to a terminal (`report`, `check`, the dashboard), must
//! keep them exactly in its JSON, and must keep names that are not UTF-8 apart and visible
//! (escaped as `\xNN`) instead of dropping or merging them.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// Debian's python3 (CI installs it): a shim under root's home could not be run as nobody.
const PYTHON: &str = "/usr/bin/python3";

/// The hostile program: names itself with the bytes hex-encoded in argv[1], then for each
/// further argument opens a listener with backlog 1 and fills its accept queue (two queued
/// connections, a third left waiting): `tcp` is one on 127.0.0.1, anything else the hex of an
/// abstract UNIX socket name. Prints `ready PORT` (PORT of the TCP listener, 0 if none), then
/// waits for standard input to close.
const HOSTILE: &str = r#"
import ctypes, socket, sys
if ctypes.CDLL(None).prctl(15, bytes.fromhex(sys.argv[1]), 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_NAME) failed")
kept, port = [], 0
for spec in sys.argv[2:]:
    if spec == "tcp":
        family, address = socket.AF_INET, ("127.0.0.1", 0)
    else:
        family, address = socket.AF_UNIX, b"\0" + bytes.fromhex(spec)
    server = socket.socket(family, socket.SOCK_STREAM)
    server.bind(address)
    server.listen(1)
    if spec == "tcp":
        port = server.getsockname()[1]
    for _ in range(3):
        client = socket.socket(family, socket.SOCK_STREAM)
        client.setblocking(False)
        try:
            client.connect(server.getsockname())
        except (BlockingIOError, InterruptedError):
            pass
        kept.append(client)
    kept.append(server)
print("ready", port, flush=True)
sys.stdin.read()
"#;

/// The OSC that sets a terminal's title.
const TITLE: &[u8] = b"\x1b]2;OWNED\x07";
/// Cursor up, erase line: 13 of them erase the 13 lines above.
const ERASE: &[u8] = b"\x1b[1A\x1b[2K";

/// The hostile process, run as nobody inside a test namespace; killed when dropped.
struct Hostile {
    child: Child,
    /// Its TCP listener's port (0 when it has none).
    port: u16,
}

impl Hostile {
    fn start(netns: &TestNetns, name: &[u8], listeners: &[&[u8]]) -> Hostile {
        let mut args: Vec<String> =
            ["--reuid", "65534", "--regid", "65534", "--clear-groups", PYTHON, "-c", HOSTILE].map(String::from).into();
        args.push(hex(name));
        args.extend(listeners.iter().map(|spec| if *spec == b"tcp" { "tcp".to_string() } else { hex(spec) }));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = netns
            .command("setpriv", &args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the hostile process");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read the hostile process's line");
        let port = line.strip_prefix("ready ").and_then(|port| port.trim().parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            panic!("the hostile process did not start: {line:?} (needs {PYTHON} and setpriv)");
        };
        Hostile { child, port }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A veth pair and a bridge with the given names; `port` (one end of the pair) is enslaved to
/// the bridge with MTU 1400 under a bridge set to 1500, which `mtu-mismatch` reports.
fn mismatched_bridge(netns: &TestNetns, bridge: &[u8], port: &[u8], peer: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let name = |bytes: &[u8]| std::ffi::OsStr::from_bytes(bytes).to_os_string();
    let ip = |args: Vec<std::ffi::OsString>| {
        let mut command = Command::new("ip");
        command.args(["-n", &netns.name]).args(args);
        run_ok(&mut command);
    };
    let split = |text: &str| text.split(' ').map(std::ffi::OsString::from).collect::<Vec<_>>();
    ip([split("link add"), vec![name(bridge)], split("type bridge")].concat());
    ip([split("link add"), vec![name(port)], split("mtu 1400 type veth peer name"), vec![name(peer)]].concat());
    ip([split("link set"), vec![name(port)], split("master"), vec![name(bridge)]].concat());
    ip([split("link set"), vec![name(bridge)], split("mtu 1500")].concat());
}

/// `sockscope ARGS` inside the namespace, with its stdout; any exit status.
fn sockscope(netns: &TestNetns, args: &[&str]) -> Vec<u8> {
    let output = netns.command(SOCKSCOPE, args).output().expect("run sockscope");
    assert!(
        output.stderr.is_empty(),
        "sockscope {args:?} wrote to stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The report's JSON once both of the hostile process's listeners are full.
fn full_report(netns: &TestNetns, hostile: &Hostile, listeners: usize) -> Value {
    let mut report = Value::Null;
    let full = wait_until(Duration::from_secs(10), || {
        report = netns.report_json(&[]);
        owned_listeners(&report, hostile.pid()).iter().filter(|listener| listener["full"] == true).count() == listeners
    });
    assert!(full, "the hostile listeners never showed full: {:#}", report["listeners"]);
    report
}

/// The listeners of the report held by `pid`.
fn owned_listeners(report: &Value, pid: u32) -> Vec<&Value> {
    let listeners = report["listeners"].as_array().map(Vec::as_slice).unwrap_or_default();
    listeners
        .iter()
        .filter(|listener| listener["processes"].as_array().is_some_and(|p| p.iter().any(|p| p["pid"] == pid)))
        .collect()
}

/// The text with every run of whitespace made one space, so that wrapped lines read as one.
fn words(text: &[u8]) -> String {
    String::from_utf8_lossy(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fails unless `output` is UTF-8 with no control character but the line feed: no C0 control
/// (ESC, BEL among them), no DEL, no C1 (CSI U+009B among them) and no bare 0x9b byte.
fn assert_terminal_safe(what: &str, output: &[u8]) {
    let text = std::str::from_utf8(output).unwrap_or_else(|error| panic!("{what} is not UTF-8: {error}"));
    let bad: Vec<(usize, &str)> =
        text.lines().enumerate().filter(|(_, line)| line.chars().any(char::is_control)).collect();
    assert!(bad.is_empty(), "{what} prints control characters on lines {bad:?}");
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and runs a process as nobody")]
fn hostile_names_reach_no_terminal_and_stay_exact_in_json() {
    require_root();
    let netns = TestNetns::new();
    let abstract_name = ERASE.repeat(13);
    let hostile = Hostile::start(&netns, TITLE, &[b"tcp", &abstract_name]);
    mismatched_bridge(&netns, ERASE, TITLE, b"peer\x1b[5m");
    let report = full_report(&netns, &hostile, 2);

    let title = std::str::from_utf8(TITLE).expect("UTF-8");
    let unix_name = format!("@{}", std::str::from_utf8(&abstract_name).expect("UTF-8"));
    let owned = owned_listeners(&report, hostile.pid());
    assert!(owned.iter().all(|listener| listener["processes"][0]["command"] == title), "{owned:#?}");
    assert!(owned.iter().any(|listener| listener["local_address"] == unix_name.as_str()), "{owned:#?}");
    let interfaces: Vec<&str> =
        report["interfaces"].as_array().expect("interfaces").iter().filter_map(|i| i["name"].as_str()).collect();
    assert!(
        interfaces.contains(&title) && interfaces.contains(&std::str::from_utf8(ERASE).expect("UTF-8")),
        "{interfaces:?}"
    );
    let findings = report["findings"].as_array().expect("findings");
    let queue_findings: Vec<&Value> = findings.iter().filter(|finding| finding["id"] == "accept-queue-full").collect();
    assert_eq!(queue_findings.len(), 2, "{findings:#?}");
    assert!(queue_findings.iter().all(|f| f["subject"]["processes"][0]["command"] == title), "{queue_findings:#?}");
    assert!(findings.iter().any(|finding| finding["id"] == "mtu-mismatch" && finding["subject"]["name"] == title));

    let text = sockscope(&netns, &["report"]);
    assert_terminal_safe("report", &text);
    let text = words(&text);
    let shown_title = r"\x1b]2;OWNED\x07";
    let shown_unix = format!("@{}", r"\x1b[1A\x1b[2K".repeat(13));
    assert!(text.contains(&format!("Why: {shown_title} on 127.0.0.1:{}", hostile.port)), "{text}");
    assert!(text.contains(&format!("{shown_title} on {shown_unix}")), "{text}");
    assert!(text.contains(r"[WARN] mtu-mismatch interface \x1b]2;OWNED\x07"), "{text}");
    assert!(text.contains(r"\x1b[1A\x1b[2K MTU: 1500"), "the bridge's name in the evidence:\n{text}");

    let check = sockscope(&netns, &["check"]);
    assert_terminal_safe("check", &check);
    let check = words(&check);
    assert!(check.starts_with("SOCKSCOPE CRITICAL") && check.contains(shown_title), "{check}");
}

#[test]
#[cfg_attr(
    any(sockscope_unprivileged, sockscope_no_tmux),
    ignore = "needs root and tmux: creates a network namespace and prints to a real terminal"
)]
fn a_terminal_keeps_its_title_and_its_lines() {
    require_root();
    let netns = TestNetns::new();
    let hostile = Hostile::start(&netns, TITLE, &[b"tcp", &ERASE.repeat(13)]);
    full_report(&netns, &hostile, 2);
    let shown_title = r"\x1b]2;OWNED\x07";

    // The report, printed to a terminal tall enough to keep all of it on screen: nothing
    // sets the title, nothing erases the findings.
    let command = format!("ip netns exec {} {SOCKSCOPE} report; echo EXIT=$?; exec sleep 600", netns.name);
    let tmux = Tmux::start_command("hostile-report", &["sh", "-c", &command], 200, 400);
    let screen = words(tmux.wait_for(&["EXIT=0"]).as_bytes());
    assert_ne!(tmux.tmux(&["display", "-p", "#{pane_title}"]).trim(), "OWNED", "the report set the title");
    let criticals = screen.matches("[CRIT] accept-queue-full").count();
    assert_eq!(criticals, 2, "both full listeners are still on screen:\n{screen}");
    assert!(screen.contains(&format!("Why: {shown_title} on @")), "{screen}");
    drop(tmux);

    // The dashboard's Findings view shows the names escaped.
    let command = format!("ip netns exec {} {}; exec sleep 600", netns.name, dashboard_script(""));
    let tmux = Tmux::start_command("hostile-dashboard", &["sh", "-c", &command], 200, 50);
    tmux.wait_for(&[&format!("127.0.0.1:{}", hostile.port)]);
    tmux.keys(&["8"]);
    tmux.wait_for(&["accept-queue-full", shown_title]);
    // The table shortens long names with …; the detail pane of the UNIX listener's finding (the
    // second row) shows its path whole.
    tmux.keys(&["j"]);
    let findings = tmux.wait_for(&["about unix", r"\x1b[1A\x1b[2K"]);
    assert_ne!(tmux.tmux(&["display", "-p", "#{pane_title}"]).trim(), "OWNED", "the dashboard set the title");
    assert!(findings.contains(r"\x1b[1A\x1b[2K"), "{findings}");
    tmux.keys(&["q"]);
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains("EXIT=0") && end.contains("RAW=off"), "{end}");
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and runs a process as nobody")]
fn names_that_are_not_utf8_are_kept_apart_and_shown_escaped() {
    require_root();
    let netns = TestNetns::new();
    let hostile = Hostile::start(&netns, b"\xffhide", &[b"tcp", b"hide\xff", b"hide\xfe"]);
    mismatched_bridge(&netns, b"br\xfe", b"\xff\xfe", b"\xfe\xff");
    let report = full_report(&netns, &hostile, 3);

    let owned = owned_listeners(&report, hostile.pid());
    assert_eq!(owned.len(), 3, "the process is named as the owner of all three: {:#}", report["listeners"]);
    assert!(owned.iter().all(|listener| listener["processes"][0]["command"] == r"\xffhide"), "{owned:#?}");
    let mut unix: Vec<&str> =
        owned.iter().filter(|l| l["protocol"] == "unix").filter_map(|l| l["local_address"].as_str()).collect();
    unix.sort_unstable();
    assert_eq!(unix, [r"@hide\xfe", r"@hide\xff"], "two names, two rows");
    let interfaces: Vec<&str> =
        report["interfaces"].as_array().expect("interfaces").iter().filter_map(|i| i["name"].as_str()).collect();
    for name in [r"br\xfe", r"\xff\xfe", r"\xfe\xff"] {
        assert!(interfaces.contains(&name), "{name} is listed: {interfaces:?}");
    }
    assert_eq!(report["collection"]["malformed_messages"], 0, "{:#}", report["collection"]);
    assert_eq!(report["collection"]["processes_denied"], 0, "{:#}", report["collection"]);

    let text = sockscope(&netns, &["report"]);
    assert_terminal_safe("report", &text);
    let text = String::from_utf8_lossy(&text);
    let owner = format!(r"\xffhide[{}]", hostile.pid());
    let row = |line: &&str| line.contains(&format!("127.0.0.1:{}", hostile.port)) && line.contains(&owner);
    assert!(text.lines().any(|line| row(&line)), "the listener's row names its owner:\n{text}");
    assert!(text.contains(r"[WARN] mtu-mismatch  interface \xff\xfe"), "{text}");
    assert!(!text.contains('\u{fffd}'), "nothing is replaced:\n{text}");
}
