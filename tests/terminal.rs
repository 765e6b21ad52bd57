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

/// Sends `signal` to the running dashboard and expects the restored terminal and `status`.
fn signal_ends_the_dashboard(test: &str, signal: &str, status: u8) {
    let tmux = Tmux::start(test, "--no-processes --no-mouse", 100, 30);
    tmux.wait_for(&["somaxconn"]);
    let pid = tmux.sockscope_pid().expect("sockscope runs under the wrapper shell").to_string();
    assert!(Command::new("kill").args([&format!("-{signal}"), &pid]).status().expect("kill runs").success());
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains(&format!("EXIT={status}")) && end.contains("RAW=off"), "{end}");
    assert_eq!(tmux.terminal_modes(), "0 1");
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
    // An interactive shell with job control, as a user has: Ctrl-Z stops the job, fg resumes it.
    let shell = ["env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i"];
    let tmux = Tmux::start_command("suspend", &shell, 100, 30);
    tmux.wait_for(&["$"]);
    tmux.keys(&[&format!("{SOCKSCOPE} --no-processes"), "Enter"]);
    tmux.wait_for(&["somaxconn"]);
    tmux.keys(&["C-z"]);
    let stopped = tmux.wait_for(&["Stopped"]);
    assert!(!stopped.contains("somaxconn"), "the shell is back on the main screen:\n{stopped}");
    assert_eq!(tmux.terminal_modes(), "0 1");
    tmux.keys(&["fg", "Enter"]);
    tmux.wait_for(&["somaxconn", "1 Overview"]);
    assert_eq!(tmux.terminal_modes().split(' ').next(), Some("1"), "back on the alternate screen");
    tmux.keys(&["q"]);
    assert!(wait_until(Duration::from_secs(10), || tmux.terminal_modes() == "0 1"), "restored after q");
    tmux.keys(&["echo EXIT=$?; stty -a | grep -q -- -icanon && echo RAW=on || echo RAW=off", "Enter"]);
    let end = tmux.wait_for(&["EXIT=0", "RAW="]);
    assert!(end.contains("RAW=off"), "{end}");
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
