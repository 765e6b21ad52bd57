//! The Counters view end to end: the dashboard of a namespace this test creates, in a real
//! terminal (tmux), while a listener there at backlog 1 overflows. `9` opens the view, the
//! overflow counter shows with its rate and meaning, `/` filters, `z` shows the counters that are
//! zero and hides them again.

mod common;

use common::{SOCKSCOPE, TestNetns, Tmux, connect_many, listener, require_root};

#[test]
#[cfg_attr(
    any(sockscope_unprivileged, sockscope_no_tmux),
    ignore = "needs root and tmux: creates a network namespace and runs the dashboard in a terminal"
)]
fn nine_opens_the_counters_z_shows_the_zero_ones_and_slash_filters() {
    require_root();
    let netns = TestNetns::new();
    // A listener nobody accepts from, at backlog 1: the clients past its queue keep retrying
    // their SYNs, so ListenOverflows moves for as long as the test runs (a few retries each).
    let _held = netns.enter(|| {
        let server = listener("127.0.0.1:0", 1);
        let address = server.local_addr().expect("address").as_socket().expect("inet");
        (connect_many(address, 8), server)
    });
    let tmux = Tmux::start("counters", &format!("--netns {} --no-processes", netns.name), 140, 30);
    tmux.wait_for(&["somaxconn"]);
    tmux.keys(&["9"]);
    tmux.wait_for(&["Counters (", "zero counters hidden: z shows them"]);

    tmux.keys(&["/", "ListenOverflows", "Enter"]);
    let screen = tmux.wait_until(std::time::Duration::from_secs(10), "ListenOverflows never moved", |screen| {
        screen
            .lines()
            .any(|line| line.contains("TcpExtListenOverflows") && line.contains("/s") && !line.contains(" 0/s"))
    });
    let row = screen.lines().find(|line| line.contains("TcpExtListenOverflows")).expect("the row");
    assert!(row.contains("dropped because an accept queue was full"), "its meaning: {row}");
    assert!(screen.contains("filter: ListenOverflows"), "{screen}");

    // Nothing in a fresh namespace fails a syncookie: the counter is zero, hidden until z.
    tmux.keys(&["/", "C-u", "SyncookiesFailed", "Enter"]);
    let hidden = tmux.wait_for(&["filter: SyncookiesFailed", "no counter matches the filter"]);
    assert!(!hidden.contains("TcpExtSyncookiesFailed "), "{hidden}");
    tmux.keys(&["z"]);
    let shown = tmux.wait_for(&["zero counters shown: z hides them", "TcpExtSyncookiesFailed"]);
    let row = shown.lines().find(|line| line.contains("TcpExtSyncookiesFailed")).expect("the row");
    assert!(row.contains("invalid syncookies received"), "{row}");
    tmux.keys(&["z"]);
    tmux.wait_for(&["zero counters hidden: z shows them", "no counter matches the filter"]);

    tmux.keys(&["q"]);
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains("EXIT=0") && end.contains("RAW=off"), "{SOCKSCOPE}:\n{end}");
}
