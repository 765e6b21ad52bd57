//! Recording and reading back, end to end with the real binary: a recording of a full
//! listener reports the numbers `ss` saw; a recorder killed at any moment leaves a file that
//! reads; rotation keeps its ring; replay's time controls move the cursor as the keys say;
//! mistakes are one line with the documented status.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{
    SOCKSCOPE, TestNetns, Tmux, connect_many, listener, local_addr, parse_ss, require_root, run_ok, wait_until,
};
use sockscope::collect::{Collector, Observed, Round};
use sockscope::record::format::{FORMAT_NAME, FORMAT_VERSION};
use sockscope::record::{Header, Limits, Recorder, Recording};
use sockscope::sample::CollectPlan;

fn sockscope(args: &[&str]) -> Output {
    Command::new(SOCKSCOPE).args(args).output().expect("sockscope runs")
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// A listener on loopback with `listen(1)` and four clients: its accept queue holds two and is
/// full; `ss` is asked until it shows that.
fn full_listener() -> (socket2::Socket, Vec<socket2::Socket>, u16) {
    let server = listener("127.0.0.1:0", 1);
    let port = local_addr(&server).port();
    let clients = connect_many(local_addr(&server), 4);
    let full = wait_until(Duration::from_secs(5), || ss_accept_queue(port) == Some(2));
    assert!(full, "the accept queue of port {port} never filled");
    (server, clients, port)
}

/// Recv-Q of the listener on `port`, as `ss -ltn` shows it.
fn ss_accept_queue(port: u16) -> Option<u64> {
    let ss = run_ok(Command::new("ss").args(["-Hltn", &format!("sport = :{port}")]));
    parse_ss(&format!("LISTEN {}", ss.trim_start_matches("LISTEN").trim())).first().map(|line| line.recv_q)
}

/// The listener on `port` in a JSON report.
fn listener_on(report: &serde_json::Value, port: u16) -> serde_json::Value {
    let listeners = report["listeners"].as_array().expect("listeners");
    listeners.iter().find(|l| l["local_port"] == port).cloned().unwrap_or_else(|| panic!("no listener on {port}"))
}

#[test]
fn a_recording_of_a_full_listener_reports_the_numbers_ss_saw() {
    let (_server, _clients, port) = full_listener();
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("rec");
    run_ok(Command::new(SOCKSCOPE).args(["record", "-o", text(&file), "--count", "3", "--interval", "200ms"]));
    let seen_by_ss = ss_accept_queue(port);

    let report: serde_json::Value = serde_json::from_str(&run_ok(Command::new(SOCKSCOPE).args([
        "report",
        "--format",
        "json",
        "--from",
        text(&file),
    ])))
    .expect("JSON");
    let recorded = listener_on(&report, port);
    assert_eq!(recorded["accept_queue"].as_u64(), seen_by_ss, "{recorded}");
    assert_eq!((recorded["backlog"].as_u64(), recorded["full"].as_bool()), (Some(1), Some(true)));
    let interval = report["interval_seconds"].as_f64().expect("rates from the round before");
    assert!((0.15..1.0).contains(&interval), "the last round is 200 ms after the one before: {interval}");

    let mut recording = Recording::open(std::slice::from_ref(&file)).expect("the recording reads");
    assert_eq!(recording.len(), 3);
    let second = recording.round(1).expect("round 1").taken_at;
    let at_second = run_ok(
        Command::new(SOCKSCOPE)
            .args(["report", "--format", "json", "--from", text(&file)])
            .args(["--at", &second.to_string()]),
    );
    let at_second: serde_json::Value = serde_json::from_str(&at_second).expect("JSON");
    assert_eq!(at_second["taken_at"].as_str(), Some(second.to_string().as_str()));

    let check = sockscope(&["check", "--from", text(&file)]);
    let status = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(2), "a full listener is critical:\n{status}");
    assert!(status.starts_with("SOCKSCOPE CRITICAL") && status.contains(&port.to_string()), "{status}");
    let text_report = run_ok(Command::new(SOCKSCOPE).args(["report", "--from", text(&file)]));
    assert!(text_report.contains(&format!("127.0.0.1:{port}")) && text_report.contains("FULL"), "{text_report}");
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn an_all_namespaces_recording_keeps_each_namespace_and_the_one_that_went_away() {
    require_root();
    let netns = TestNetns::new();
    let full = netns.enter(|| {
        let server = listener("127.0.0.1:7400", 1);
        let clients = connect_many(local_addr(&server), 3);
        (server, clients)
    });
    let seen_by_ss = parse_ss(&netns.run("ss", &["-Hltn", "sport = :7400"]));
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("rec");
    let mut recorder = Command::new(SOCKSCOPE)
        .args(["--all-netns", "record", "-o", text(&file), "--interval", "200ms", "--no-processes"])
        .spawn()
        .expect("the recorder starts");
    let recorded = || Recording::open(std::slice::from_ref(&file)).map(|recording| recording.len()).unwrap_or(0);
    assert!(wait_until(Duration::from_secs(10), || recorded() >= 2), "two rounds recorded");
    let name = netns.name.clone();
    drop((full, netns));
    assert!(wait_until(Duration::from_secs(10), || recorded() >= 5), "rounds after the namespace went");
    let _ = Command::new("kill").args(["-TERM", &recorder.id().to_string()]).status();
    assert!(recorder.wait().expect("the recorder ends").success());

    let report = |at: Option<&str>| -> serde_json::Value {
        let mut command = Command::new(SOCKSCOPE);
        command.args(["report", "--format", "json", "--from", text(&file)]);
        if let Some(at) = at {
            command.args(["--at", at]);
        }
        serde_json::from_str(&run_ok(&mut command)).expect("JSON")
    };
    let mut recording = Recording::open(std::slice::from_ref(&file)).expect("reads");
    let second = recording.round(1).expect("round 1").taken_at.to_string();
    let early = report(Some(&second));
    assert_eq!(early["scope"], "all_netns");
    let row = early["overview"]
        .as_array()
        .expect("overview")
        .iter()
        .find(|row| row["netns"]["name"] == name.as_str())
        .cloned();
    let row = row.unwrap_or_else(|| panic!("{name} is in the recording: {early}"));
    assert_eq!(row["fullest_listener"]["local_port"], 7400);
    let queue = (row["fullest_listener"]["accept_queue"].as_u64(), row["fullest_listener"]["backlog"].as_u64());
    assert_eq!(vec![queue], seen_by_ss.iter().map(|l| (Some(l.recv_q), Some(l.send_q))).collect::<Vec<_>>());
    let late = report(None);
    let gone = late["overview"]
        .as_array()
        .expect("overview")
        .iter()
        .find(|row| row["netns"]["name"] == name.as_str())
        .cloned();
    assert_eq!(gone.map(|row| row["state"].clone()), Some(serde_json::json!("gone")), "{late}");
}

#[test]
fn a_recorder_killed_at_any_moment_leaves_a_file_that_reads_on() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("rec");
    let mut read_before = 0;
    for kill_after in [130, 410, 770, 1090] {
        let mut recorder = Command::new(SOCKSCOPE)
            .args(["record", "-o", text(&file), "--interval", "20ms", "--no-processes"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("the recorder starts");
        std::thread::sleep(Duration::from_millis(kill_after));
        recorder.kill().expect("SIGKILL");
        let ended = recorder.wait_with_output().expect("the recorder ends");
        assert!(ended.stderr.is_empty(), "{}", String::from_utf8_lossy(&ended.stderr));
        if !file.exists() {
            continue; // killed before it created the file
        }
        let mut recording = Recording::open(std::slice::from_ref(&file)).expect("a killed recorder's file reads");
        let rounds = recording.rounds(0..recording.len()).expect("every round decodes");
        assert!(rounds.len() >= read_before, "a continued file keeps what it had: {} < {read_before}", rounds.len());
        assert!(rounds.windows(2).all(|pair| pair[0].taken_at < pair[1].taken_at), "rounds in time order");
        assert!(recording.damage().is_empty(), "{:?}", recording.damage());
        read_before = rounds.len();
    }
    assert!(read_before > 10, "four recorders over 2.4 s at 20 ms left only {read_before} rounds");
    let report = sockscope(&["report", "--from", text(&file)]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
}

#[test]
fn recordings_rotate_in_a_ring_or_stop_when_full() {
    // Every socket of 300 connections in each round makes rounds of several KiB.
    let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = server.local_addr().expect("address");
    let pairs: Vec<_> = (0..300)
        .map(|_| (std::net::TcpStream::connect(address).expect("connect"), server.accept().expect("accept")))
        .collect();
    let dir = tempfile::tempdir().expect("temporary directory");
    let ring = dir.path().join("ring");
    let args = ["--connections", "--no-processes", "--interval", "10ms", "--max-size", "64K"];
    run_ok(Command::new(SOCKSCOPE).args(["record", "-o", text(&ring), "--count", "200", "--keep", "2"]).args(args));
    let names: Vec<PathBuf> =
        ["", ".1", ".2"].iter().map(|suffix| PathBuf::from(format!("{}{suffix}", text(&ring)))).collect();
    assert!(names.iter().all(|name| name.exists()), "FILE, FILE.1 and FILE.2 exist");
    assert!(!PathBuf::from(format!("{}.3", text(&ring))).exists(), "nothing beyond --keep 2");
    let mut recording = Recording::open(&names).expect("the ring reads as one");
    let rounds = recording.rounds(0..recording.len()).expect("every round decodes");
    assert!(rounds.windows(2).all(|pair| pair[0].taken_at < pair[1].taken_at), "oldest first, in time order");
    for name in &names[1..] {
        let size = std::fs::metadata(name).expect("size").len();
        assert!((64 * 1024..256 * 1024).contains(&size), "a finished file ends just past 64 KiB: {size}");
    }

    let stopped = dir.path().join("stopped");
    let output =
        sockscope(&[&["record", "-o", text(&stopped), "--count", "100000", "--when-full", "stop"][..], &args].concat());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!PathBuf::from(format!("{}.1", text(&stopped))).exists(), "stop never rotates");
    let size = std::fs::metadata(&stopped).expect("size").len();
    assert!((64 * 1024..256 * 1024).contains(&size), "stopped just past 64 KiB: {size}");
    drop(pairs);
}

#[test]
fn mistakes_are_one_line_with_the_documented_status() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a recording\n").expect("write");
    let file = dir.path().join("rec");
    run_ok(Command::new(SOCKSCOPE).args(["record", "-o", text(&file), "--count", "2", "--interval", "50ms"]));
    let missing = dir.path().join("missing");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["report", "--from", text(&missing)], 2, "no such file"),
        (vec!["report", "--from", text(&notes)], 1, "is not a sockscope recording"),
        (vec!["report", "--from", text(&file), "--at", "soon"], 2, "is not a time"),
        (vec!["report", "--from", text(&file), "--at", "2001-01-01T00:00:00Z"], 2, "before the start of the recording"),
        // check reports its usage errors as a monitoring plugin does: UNKNOWN.
        (vec!["check", "--from", text(&file), "--at", "2099-01-01T00:00:00Z"], 3, "after the end of the recording"),
        (vec!["--netns", "web", "report", "--from", text(&file)], 2, "a recording replays what it holds"),
        (vec!["record", "-o", "/dev/null"], 1, "not a regular file"),
        (vec!["record", "-o", text(&notes)], 1, "is not a sockscope recording"),
        (vec!["record", "-o", text(&file), "--max-size", "1K"], 2, "at least 64K"),
        (vec!["replay", text(&file)], 2, "replay needs a terminal"),
    ];
    for (args, status, message) in cases {
        let output = sockscope(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(status), "{args:?}: {stderr}");
        assert!(stderr.contains(message) && stderr.trim().lines().count() <= 2, "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(&notes).expect("read"), "not a recording\n", "never overwritten");
}

#[test]
fn a_second_recorder_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("rec");
    let mut first = Command::new(SOCKSCOPE)
        .args(["record", "-o", text(&file), "--interval", "100ms", "--no-processes"])
        .spawn()
        .expect("the first recorder starts");
    assert!(wait_until(Duration::from_secs(5), || file.exists()), "the first recorder made its file");
    let second = sockscope(&["record", "-o", text(&file), "--count", "1"]);
    let _ = Command::new("kill").args(["-TERM", &first.id().to_string()]).status();
    let ended = first.wait().expect("the first recorder ends");
    assert_eq!(second.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another sockscope record is writing it"));
    assert!(ended.success(), "SIGTERM finishes the chunk and exits 0: {ended}");
    let recording = Recording::open(std::slice::from_ref(&file)).expect("reads");
    assert!(!recording.is_empty() && recording.damage().is_empty());
}

/// A recording of 200 rounds one second apart from 00:00:00 UTC of a day, each the real sample
/// of a host with a full listener (its clock shifted), for the time controls.
fn two_hundred_seconds(path: &Path) -> u16 {
    let (_server, _clients, port) = full_listener();
    let sample = Collector::new(CollectPlan::default()).collect();
    let start = jiff::Timestamp::from_second(1_796_169_600).expect("2026-12-02T00:00:00Z");
    let header = Header {
        format: FORMAT_NAME.to_string(),
        version: FORMAT_VERSION,
        sockscope: "test".to_string(),
        started_at: start,
        host: Some("recorded-host".to_string()),
        interval_ms: 1000,
        scope: "this namespace".to_string(),
        all_namespaces: false,
        plan: CollectPlan::default(),
    };
    let mut recorder = Recorder::open(path, header, Limits::default()).expect("a recorder");
    for second in 0..200 {
        let mut sample = sample.clone();
        sample.taken_at = start.checked_add(jiff::SignedDuration::from_secs(second)).expect("time");
        sample.boottime_ns += second as u64 * 1_000_000_000;
        let round = Round { taken_at: sample.taken_at, observed: vec![Observed::Sample(Box::new(sample))] };
        recorder.append(&round).expect("append");
    }
    recorder.finish().expect("finish");
    port
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn replay_moves_through_the_recording_as_the_keys_say() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("rec");
    let port = two_hundred_seconds(&file);
    let tmux =
        Tmux::start_command("replay", &["env", "TZ=UTC", SOCKSCOPE, "replay", "--theme", "mono", text(&file)], 160, 40);
    let screen = tmux.wait_for(&["REPLAY", "2026-12-02 00:00:00 UTC", "1/200", "paused (1×)"]);
    assert!(screen.contains(&format!("127.0.0.1:{port}")) && screen.contains("FULL"), "{screen}");
    let at = |keys: &[&str], expected: &[&str]| {
        tmux.keys(keys);
        tmux.wait_for(expected)
    };
    at(&["Right", "Right"], &["00:00:02 UTC", "3/200"]);
    at(&["Left"], &["00:00:01 UTC", "2/200"]);
    at(&["]"], &["00:01:01 UTC", "62/200"]);
    at(&["["], &["00:00:01 UTC", "2/200"]);
    at(&["t"], &["go to time"]);
    at(&["0", "0", ":", "0", "2", ":", "3", "0", "Enter"], &["00:02:30 UTC", "151/200"]);
    at(&["t", "-", "1", "0", "s", "Enter"], &["00:03:09 UTC", "190/200"]);
    at(&["t", "n", "o", "o", "n", "Enter"], &["is not a time"]);
    at(&["Escape"], &["→ step"]);
    at(&["Left", "Left"], &["188/200"]);
    at(&[">", ">"], &["paused (60×)"]);
    at(&["Space"], &["▶ 60×"]);
    tmux.wait_for(&["200/200", "the end of the recording", "paused (60×)"]);
    at(&["3"], &["TCP sockets not recorded"]);
    at(&["q"], &[]);

    let started_at = Tmux::start_command(
        "replay-at",
        &["env", "TZ=UTC", SOCKSCOPE, "replay", "--theme", "mono", "--at", "00:02", text(&file)],
        160,
        40,
    );
    started_at.wait_for(&["REPLAY", "2026-12-02 00:02:00 UTC", "121/200"]);
}
