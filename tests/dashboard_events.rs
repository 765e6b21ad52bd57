//! The listen events (eBPF) in the dashboard, drawn from the recorded incident
//! (`tests/fixtures/samples/incident.json`) with the source's totals added to each sample for
//! its full listener on 127.0.0.1:8080 (the sample is plain data; the kernel side fills it
//! live): the Listeners view's accept-wait and drop columns, the detail pane's feed and
//! percentiles, and the one line that says the source is unavailable — at 80x24 and 160x48.

use std::collections::BTreeMap;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sockscope::sample::listen_events::{
    ClientDrops, DropReason, EventKind, EventRoute, ListenEvent, ListenEvents, ListenerEvents, WaitHistogram,
};
use sockscope::sample::{Sample, Source};
use sockscope::tui::app::{App, Event, Settings};
use sockscope::tui::ui;

const MS: u64 = 1_000_000;

fn incident() -> Vec<Sample> {
    let text = std::fs::read_to_string("tests/fixtures/samples/incident.json").expect("fixture");
    serde_json::from_str(&text).expect("fixture parses")
}

/// The source's totals at the listener on port 8080 after `step` samples: 12 SYNs dropped and
/// 3 final ACKs, 20 accepts waiting 1.5 s each, per step, from two clients.
fn totals(sample: &Sample, step: u64) -> ListenerEvents {
    let web = sample.tcp_listeners.iter().flatten().find(|l| l.local_port == 8080).expect("the 8080 listener");
    let mut accept_wait = WaitHistogram::default();
    for _ in 0..20 * step {
        accept_wait.add(1500 * MS);
    }
    ListenerEvents {
        cookie: Some(web.cookie),
        family: web.family,
        local_address: web.local_address,
        local_port: 8080,
        drops: BTreeMap::from([
            (DropReason::SynAcceptQueueFull, 12 * step),
            (DropReason::AckAcceptQueueFull, 3 * step),
        ]),
        syncookies: 0,
        synack_retransmits: 2 * step,
        accept_wait,
        interval_max_wait_ns: if step > 0 { 1600 * MS } else { 0 },
        top_dropped_clients: vec![
            ClientDrops { address: "127.0.0.1".parse().expect("ip"), drops: 10 * step },
            ClientDrops { address: "127.0.0.2".parse().expect("ip"), drops: 5 * step },
        ],
        distinct_dropped_clients: 2,
    }
}

fn feed(sample: &Sample, entry: &ListenerEvents) -> Vec<ListenEvent> {
    let kinds = [
        (EventKind::Drop(DropReason::SynAcceptQueueFull), 41_002),
        (EventKind::Drop(DropReason::AckAcceptQueueFull), 41_003),
        (EventKind::SynackRetransmit, 41_004),
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(index, (kind, port))| ListenEvent {
            boottime_ns: sample.boottime_ns - (3 - index as u64) * 100 * MS,
            kind,
            client_address: "127.0.0.1".parse().expect("ip"),
            client_port: port,
            local_address: entry.local_address,
            local_port: 8080,
            cookie: entry.cookie,
            accept_queue: (9, 8),
            syn_queue: 0,
            wait_ns: 0,
            retransmits: u32::from(kind == EventKind::SynackRetransmit),
        })
        .collect()
}

/// The incident with the source running from its first sample.
fn with_events() -> Vec<Sample> {
    let mut samples = incident();
    for (step, sample) in samples.iter_mut().enumerate() {
        let entry = totals(sample, step as u64);
        let latest = if step > 0 { feed(sample, &entry) } else { Vec::new() };
        sample.listen_events = Some(ListenEvents {
            route: EventRoute {
                attached: vec!["tp_btf:kfree_skb".into(), "cgroup_skb:ingress".into()],
                accept_wait: "getpeername".into(),
                listen_overflow_reason: true,
            },
            started_boottime_ns: 1,
            listeners: vec![entry],
            latest,
            lost_events: 0,
        });
    }
    samples
}

fn app_with(samples: Vec<Sample>) -> App {
    let mut app = App::new(Settings::plain(), Duration::from_secs(1));
    for sample in samples {
        app.push_sample(sample);
    }
    app
}

fn key(app: &mut App, code: KeyCode) {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal.draw(|frame| ui::draw(frame, app)).expect("draw");
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect::<String>().trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_listeners_view_shows_accept_wait_p99_and_drops_by_reason() {
    let mut app = app_with(with_events());
    key(&mut app, KeyCode::Char('2'));
    let wide = screen(&mut app, 160, 48);
    assert!(wide.contains("acc-wait p99") && wide.contains("drop/s syn/q/ack"), "{wide}");
    let row = wide.lines().find(|line| line.contains("8080")).expect("the 8080 row");
    assert!(row.contains("1.49s") && row.contains("12/0/3.0"), "{row}");
    insta::assert_snapshot!("listeners_events_160x48", wide);
    let narrow = screen(&mut app, 80, 24);
    let row = narrow.lines().find(|line| line.contains("8080")).expect("the 8080 row");
    assert!(row.contains("20.9/s"), "at 80 columns the event columns give way to drops/s: {row}");
    insta::assert_snapshot!("listeners_events_80x24", narrow);
}

#[test]
fn the_detail_pane_has_the_feed_percentiles_and_their_history() {
    let mut app = app_with(with_events());
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Enter);
    let wide = screen(&mut app, 160, 48);
    assert!(wide.contains("accept wait       p50 1.49s  p90 1.49s  p99 1.49s  max 1.60s  (20"), "{wide}");
    assert!(wide.contains("drop ack_accept_queue_full (observed)"), "{wide}");
    assert!(wide.contains("127.0.0.1:41003  queue 9/8"), "{wide}");
    assert!(wide.contains("SYN-ACK retransmit #1 127.0.0.1:41004"), "{wide}");
    assert!(wide.contains("p99 history"), "{wide}");
    insta::assert_snapshot!("listener_events_details_160x48", wide);
    insta::assert_snapshot!("listener_events_details_80x24", screen(&mut app, 80, 24));
}

#[test]
fn an_unavailable_source_is_one_line_with_the_reason() {
    let mut samples = incident();
    for sample in &mut samples {
        sample.mark_unavailable(Source::ListenEvents, "BPF_PROG_LOAD: operation not permitted (needs CAP_BPF)");
    }
    let mut app = app_with(samples);
    key(&mut app, KeyCode::Char('2'));
    for (width, height) in [(80, 24), (160, 48)] {
        let text = screen(&mut app, width, height);
        let lines = text.lines().filter(|line| line.contains("listen events unavailable")).count();
        assert_eq!(lines, 1, "{text}");
        assert!(!text.contains("acc-wait"), "no empty columns without the source: {text}");
        insta::assert_snapshot!(format!("listeners_events_unavailable_{width}x{height}"), text);
    }
}
