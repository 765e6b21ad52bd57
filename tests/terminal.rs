//! The dashboard in a real terminal: tmux runs the binary in a 100x30 window (a private tmux
//! server, no user configuration) while this process holds a listener at backlog 8 with 9
//! unaccepted connections. The screen is read with `capture-pane`; keys and signals are sent;
//! the wrapper shell then prints the exit status and whether the terminal is still raw.
//!
//! Every test here needs tmux. `build.rs` sets the `sockscope_no_tmux` cfg when `tmux -V` cannot
//! run at build time and `CI` is not `true`; libtest then reports these tests as ignored. A test
//! that runs without tmux (tmux removed after the build, or `CI=true`) fails.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{SOCKSCOPE, Tmux, connect_many, dashboard_script as script, listener, wait_until};

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn a_full_listener_help_and_quit_in_a_real_terminal() {
    let server = listener("127.0.0.1:0", 8);
    let address = server.local_addr().expect("address").as_socket().expect("inet");
    let _clients = connect_many(address, 9);
    let full = format!("127.0.0.1:{}", address.port());
    let tmux = Tmux::start("quit", "--no-processes", 100, 30);
    let mut screen = tmux.wait_for(&[&full, "somaxconn"]);
    let full_row = |screen: &str| {
        screen
            .lines()
            .find(|line| line.contains(&full))
            .is_some_and(|row| row.contains("9/8 FULL") && row.contains('!'))
    };
    let stands_out = wait_until(Duration::from_secs(10), || {
        screen = tmux.screen();
        full_row(&screen)
    });
    assert!(stands_out, "the full listener stands out:\n{screen}");
    let output = Command::new("ss").args(["-Hltn", &format!("sport = :{}", address.port())]).output().expect("ss");
    let ss = common::parse_ss(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(ss.iter().map(|line| (line.recv_q, line.send_q)).collect::<Vec<_>>(), vec![(9, 8)], "ss agrees");
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn").expect("somaxconn");
    assert!(screen.contains(&format!("somaxconn {}", somaxconn.trim())), "{screen}");

    tmux.keys(&["+"]);
    tmux.wait_for(&["every 500ms"]);
    tmux.keys(&["-", "-"]);
    tmux.wait_for(&["every 2s"]);
    tmux.keys(&["?"]);
    // A frame can reach tmux in several writes: wait for the whole help, not its title.
    let keymap = sockscope::tui::keymap::Keymap::default();
    let live =
        keymap.bindings().iter().filter(|bound| bound.binding.context != sockscope::tui::keymap::Context::Replay);
    let keys: Vec<String> = live.map(|bound| bound.display_keys()).collect();
    let mut expected: Vec<&str> = keys.iter().map(String::as_str).collect();
    expected.push("Keys — Esc or ? closes");
    tmux.wait_for(&expected);
    tmux.keys(&["Escape"]);
    tmux.keys(&["q"]);
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains("EXIT=0"), "{end}");
    assert!(end.contains("RAW=off"), "the terminal was left raw:\n{end}");
    assert_eq!(tmux.terminal_modes(), "0 1", "main screen and a visible cursor");
}

/// Sends `signal` to the running dashboard (mouse capture on) and expects the restored
/// terminal — main screen, visible cursor, no mouse capture, cooked — and `status`.
fn signal_ends_the_dashboard(test: &str, signal: &str, status: u8) {
    let tmux = Tmux::start(test, "--no-processes", 100, 30);
    tmux.wait_for(&["somaxconn"]);
    assert!(mouse_captured(&tmux), "{test}: the dashboard captures the mouse");
    kill(signal, tmux.sockscope_pid().expect("sockscope runs under the wrapper shell"));
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains(&format!("EXIT={status}")) && end.contains("RAW=off"), "SIG{signal}:\n{end}");
    assert_eq!(tmux.terminal_modes(), "0 1", "SIG{signal}: main screen and a visible cursor");
    assert!(!mouse_captured(&tmux), "SIG{signal}: mouse capture left on");
}

/// Sends `SIG<signal>` to `pid`.
fn kill(signal: &str, pid: u32) {
    let sent = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().expect("kill runs");
    assert!(sent.success(), "kill -{signal} {pid}");
}

/// Whether the pane's application has mouse reporting on.
fn mouse_captured(tmux: &Tmux) -> bool {
    tmux.tmux(&["display", "-p", "#{mouse_any_flag}"]).trim() == "1"
}

/// Whether the pane's terminal is cooked (canonical input, echo), as `stty -a` on its tty says.
fn cooked(tmux: &Tmux) -> bool {
    let tty = tmux.tmux(&["display", "-p", "#{pane_tty}"]).trim().to_string();
    let output = Command::new("stty").args(["-a", "-F", &tty]).output().expect("stty runs");
    let modes = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "stty -a -F {tty}: {}", String::from_utf8_lossy(&output.stderr));
    let words: Vec<&str> = modes.split_whitespace().collect();
    words.contains(&"icanon") && words.contains(&"echo")
}

/// Whether process `pid` is stopped (state T in /proc/PID/stat).
fn stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('T')))
}

/// Waits until the dashboard holds the terminal again: alternate screen, hidden cursor, raw
/// input and mouse capture.
fn wait_for_the_dashboard_terminal(tmux: &Tmux, what: &str) {
    let held =
        wait_until(Duration::from_secs(10), || tmux.terminal_modes() == "1 0" && !cooked(tmux) && mouse_captured(tmux));
    assert!(held, "{what}: modes {}, cooked {}, mouse {}", tmux.terminal_modes(), cooked(tmux), mouse_captured(tmux));
}

/// An interactive shell with job control, as a user has, running `sockscope ARGS` in the
/// foreground; returns sockscope's pid once `shown` is on the screen.
fn in_a_shell(test: &str, args: &str, shown: &str) -> (Tmux, u32) {
    let shell = ["env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i"];
    let tmux = Tmux::start_command(test, &shell, 100, 30);
    tmux.wait_for(&["$"]);
    tmux.keys(&[&format!("{SOCKSCOPE} {args}"), "Enter"]);
    tmux.wait_for(&[shown]);
    wait_for_the_dashboard_terminal(&tmux, "at the start");
    let pid = tmux.sockscope_pid().expect("sockscope runs under the shell");
    (tmux, pid)
}

/// After a stop: `fg` in the shell gives the dashboard the terminal back, raw (`2` opens the
/// Listeners view without Enter), and all of the screen repainted over the shell's lines.
fn fg_takes_the_terminal_back(tmux: &Tmux, repainted: &str) {
    tmux.wait_for(&["Stopped"]);
    tmux.keys(&["fg", "Enter"]);
    wait_for_the_dashboard_terminal(tmux, "after fg");
    let screen = tmux.wait_until(Duration::from_secs(10), "a full repaint after fg", |screen| {
        screen.contains(repainted) && screen.contains("1 Over") && !screen.contains("Stopped")
    });
    assert!(!screen.contains("$ fg"), "the shell's lines are painted over:\n{screen}");
    tmux.keys(&["2"]);
    tmux.wait_for(&["┌ Listeners ("]);
}

/// Quits the dashboard with `q` alone and expects the shell to see status `status` and a
/// cooked terminal.
fn quit_to_the_shell(tmux: &Tmux, status: u8) {
    tmux.keys(&["q"]);
    assert!(wait_until(Duration::from_secs(10), || tmux.terminal_modes() == "0 1"), "q without Enter quits");
    tmux.keys(&["echo EXIT=$?; stty -a | grep -q -- -icanon && echo RAW=on || echo RAW=off", "Enter"]);
    let end = tmux.wait_for(&[&format!("EXIT={status}"), "RAW="]);
    assert!(end.contains("RAW=off"), "{end}");
    assert!(!mouse_captured(tmux), "mouse capture left on");
}

/// `kill -TSTP` from outside: the dashboard hands the terminal back (main screen, cursor, no
/// mouse capture) before it stops, and the shell sees a stopped job.
fn sigtstp_stops_with_the_terminal_restored(tmux: &Tmux, pid: u32) {
    kill("TSTP", pid);
    let restored =
        wait_until(Duration::from_secs(10), || stopped(pid) && tmux.terminal_modes() == "0 1" && !mouse_captured(tmux));
    let (modes, mouse) = (tmux.terminal_modes(), mouse_captured(tmux));
    assert!(restored, "after SIGTSTP: stopped {}, modes {modes} (want 0 1), mouse {mouse}", stopped(pid));
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn sigtstp_from_outside_suspends_cleanly_and_fg_takes_the_terminal_back() {
    let (tmux, pid) = in_a_shell("tstp", "--no-processes", "somaxconn");
    sigtstp_stops_with_the_terminal_restored(&tmux, pid);
    fg_takes_the_terminal_back(&tmux, "somaxconn");
    quit_to_the_shell(&tmux, 0);
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn sigstop_then_fg_in_a_shell_takes_the_terminal_back() {
    // SIGSTOP cannot be caught: the terminal stays as it was while the shell prints its
    // prompt over it and resets its modes; on `fg` the dashboard takes it back.
    let (tmux, pid) = in_a_shell("sigstop", "--no-processes", "somaxconn");
    kill("STOP", pid);
    fg_takes_the_terminal_back(&tmux, "somaxconn");
    quit_to_the_shell(&tmux, 0);
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn without_job_control_sigtstp_is_discarded_and_sigcont_repaints() {
    // Under `sh -c` nothing could continue a stopped job (its process group is orphaned), so
    // the kernel discards SIGTSTP; the dashboard must then keep the terminal, not stop for good.
    let tmux = Tmux::start("nojobs", "--no-processes", 100, 30);
    tmux.wait_for(&["somaxconn"]);
    let pid = tmux.sockscope_pid().expect("sockscope runs under the wrapper shell");
    kill("TSTP", pid);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!stopped(pid), "stopped for good in an orphaned process group");
    wait_for_the_dashboard_terminal(&tmux, "after a discarded SIGTSTP");
    // SIGSTOP, the terminal reset behind the dashboard's back, SIGCONT: raw again, repainted.
    kill("STOP", pid);
    assert!(wait_until(Duration::from_secs(5), || stopped(pid)), "SIGSTOP stops it");
    let tty = tmux.tmux(&["display", "-p", "#{pane_tty}"]).trim().to_string();
    common::run_ok(Command::new("stty").args(["-F", &tty, "sane"]));
    let mut terminal = std::fs::OpenOptions::new().write(true).open(&tty).expect("open the pane's tty");
    std::io::Write::write_all(&mut terminal, b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1049l\x1b[?25h")
        .expect("write to the pane's tty");
    assert!(wait_until(Duration::from_secs(5), || tmux.terminal_modes() == "0 1" && cooked(&tmux)));
    kill("CONT", pid);
    wait_for_the_dashboard_terminal(&tmux, "after SIGCONT");
    tmux.keys(&["2"]);
    tmux.wait_for(&["┌ Listeners (", "somaxconn"]);
    tmux.keys(&["q"]);
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains("EXIT=0") && end.contains("RAW=off"), "{end}");
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn every_terminating_signal_restores_the_terminal_and_exits_128_plus_it() {
    // SIGPIPE is ignored (the Rust runtime ignores it; a closed pipe is an EPIPE error): the
    // dashboard keeps running.
    let tmux = Tmux::start("sigpipe", "--no-processes", 100, 30);
    tmux.wait_for(&["somaxconn"]);
    kill("PIPE", tmux.sockscope_pid().expect("sockscope runs under the wrapper shell"));
    tmux.keys(&["2"]);
    tmux.wait_for(&["┌ Listeners ("]);
    assert!(tmux.sockscope_pid().is_some(), "SIGPIPE ended the dashboard:\n{}", tmux.screen());
    drop(tmux);
    let signals = [
        ("USR1", 10),
        ("USR2", 12),
        ("ALRM", 14),
        ("STKFLT", 16),
        ("XCPU", 24),
        ("XFSZ", 25),
        ("VTALRM", 26),
        ("PROF", 27),
        ("IO", 29),
        ("PWR", 30),
        ("RTMIN+1", 35),
        ("RTMIN+30", 64),
    ];
    for (signal, number) in signals {
        signal_ends_the_dashboard(&format!("sig{number}"), signal, 128 + number);
    }
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn the_replay_dashboard_suspends_resumes_and_restores_on_sigusr1() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("three.rec");
    let file = file.to_str().expect("utf-8 path");
    common::run_ok(Command::new(SOCKSCOPE).args(["record", "-o", file, "--count", "3", "--interval", "100ms"]));
    let (tmux, pid) = in_a_shell("replaysig", &format!("replay {file}"), "REPLAY");
    sigtstp_stops_with_the_terminal_restored(&tmux, pid);
    fg_takes_the_terminal_back(&tmux, "REPLAY");
    kill("USR1", pid);
    assert!(wait_until(Duration::from_secs(10), || tmux.terminal_modes() == "0 1"), "restored after SIGUSR1");
    tmux.keys(&["echo EXIT=$?; stty -a | grep -q -- -icanon && echo RAW=on || echo RAW=off", "Enter"]);
    let end = tmux.wait_for(&["EXIT=138", "RAW="]);
    assert!(end.contains("RAW=off"), "{end}");
    assert!(!mouse_captured(&tmux), "mouse capture left on");
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn sigterm_restores_the_terminal_and_exits_143() {
    signal_ends_the_dashboard("sigterm", "TERM", 143);
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn sigint_from_outside_restores_the_terminal_and_exits_130() {
    signal_ends_the_dashboard("sigint", "INT", 130);
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn a_panic_restores_the_terminal_before_its_message() {
    // The hook exists in debug builds only, the ones the tests run.
    let command = format!("SOCKSCOPE_TEST_PANIC_AFTER=3 {}", script("--no-processes"));
    let tmux = Tmux::start_command("panic", &["sh", "-c", &format!("{command}; exec sleep 600")], 100, 30);
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains("EXIT=101") && end.contains("RAW=off"), "{end}");
    assert!(end.contains("a requested crash"), "the panic message lands on the restored screen:\n{end}");
    assert_eq!(tmux.terminal_modes(), "0 1");
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn ctrl_z_suspends_to_the_shell_and_fg_resumes() {
    let (tmux, _) = in_a_shell("suspend", "--no-processes", "somaxconn");
    tmux.keys(&["C-z"]);
    let stopped = tmux.wait_for(&["Stopped"]);
    assert!(!stopped.contains("somaxconn"), "the shell is back on the main screen:\n{stopped}");
    assert_eq!(tmux.terminal_modes(), "0 1");
    assert!(!mouse_captured(&tmux), "mouse capture left on while stopped");
    fg_takes_the_terminal_back(&tmux, "somaxconn");
    quit_to_the_shell(&tmux, 0);
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn a_small_window_says_so_and_still_quits() {
    let tmux = Tmux::start("small", "--no-processes", 100, 30);
    tmux.wait_for(&["somaxconn"]);
    tmux.tmux(&["resize-window", "-x", "50", "-y", "10"]);
    tmux.wait_for(&["terminal too small: 50x10"]);
    tmux.tmux(&["resize-window", "-x", "80", "-y", "24"]);
    tmux.wait_for(&["somaxconn"]);
    tmux.keys(&["C-c"]);
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains("EXIT=0") && end.contains("RAW=off"), "{end}");
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn no_color_means_no_colour_codes_but_still_bold_and_reverse() {
    let server = listener("127.0.0.1:0", 0);
    let address = server.local_addr().expect("address").as_socket().expect("inet");
    let _clients = connect_many(address, 1);
    let command = format!("NO_COLOR=1 {}; exec sleep 600", script("--no-processes"));
    let tmux = Tmux::start_command("nocolor", &["sh", "-c", &command], 100, 30);
    tmux.wait_for(&[&format!("127.0.0.1:{}", address.port()), "somaxconn"]);
    let escaped = tmux.tmux(&["capture-pane", "-e", "-p"]);
    let colours: Vec<&str> = escaped
        .split("\x1b[")
        .skip(1)
        .filter_map(|sequence| sequence.split_once('m').map(|(parameters, _)| parameters))
        .filter(|parameters| {
            parameters.split(';').any(|p| matches!(p.parse::<u8>(), Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)))
        })
        .collect();
    assert!(colours.is_empty(), "colour codes under NO_COLOR: {colours:?}");
    assert!(escaped.contains("\x1b[1") || escaped.contains(";1m"), "bold is kept:\n{escaped}");
    assert!(escaped.contains("7m"), "reverse is kept (the selection)");
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn a_vanished_terminal_ends_the_dashboard() {
    let tmux = Tmux::start("hangup", "--no-processes", 100, 30);
    tmux.wait_for(&["somaxconn"]);
    let pid = tmux.sockscope_pid().expect("sockscope runs under the wrapper shell");
    drop(tmux); // kills the tmux server: the pane's terminal is gone, SIGHUP is sent
    let running = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
    };
    assert!(wait_until(Duration::from_secs(5), || !running()), "sockscope {pid} still runs without its terminal");
}

fn inode_of(netns: &common::TestNetns) -> u64 {
    let path = format!("/run/netns/{}", netns.name);
    sockscope::collect::host::namespaces::namespace_inode(std::path::Path::new(&path)).expect("namespace inode")
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and enters it")]
fn a_namespace_side_by_side_then_deleted_while_the_dashboard_watches() {
    common::require_root();
    let netns = common::TestNetns::new();
    let server = netns.enter(|| listener("127.0.0.1:7400", 16));
    // Every namespace: the Listeners view has a netns column naming the test's namespace.
    let all = Tmux::start("allns", "--all-netns --no-processes", 140, 30);
    all.wait_for(&["all namespaces"]);
    all.keys(&["2"]);
    let screen = all.wait_for(&["netns", &netns.name, "7400"]);
    assert!(screen.lines().any(|line| line.contains(&netns.name) && line.contains("7400")), "{screen}");
    // The picker: n goes from all namespaces to the first, the header names it.
    all.keys(&["n"]);
    all.wait_for(&["netns net:["]);
    drop(all);
    // One namespace watched by name, then deleted: shown as gone with its last numbers.
    let one = Tmux::start("gone", &format!("--netns {} --no-processes", netns.name), 200, 30);
    one.keys(&["2"]);
    one.wait_for(&[&format!("netns net:[{}] {}", inode_of(&netns), netns.name), "7400"]);
    drop(server);
    let _ = Command::new("ip").args(["netns", "del", &netns.name]).status();
    let screen = one.wait_for(&["GONE at", "last numbers (/run/netns/", "was deleted)"]);
    assert!(screen.contains("7400"), "the last numbers stay on screen:\n{screen}");
    assert!(one.sockscope_pid().is_some(), "sockscope is still running:\n{screen}");
    one.keys(&["q"]);
    one.wait_for(&["EXIT=0", "RAW=off"]);
}
