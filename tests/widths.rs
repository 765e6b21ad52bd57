//! Nothing truncated that changes meaning: every view drawn at every width from 80 to 200
//! columns (with its detail pane open, at every fourth width) from the recorded incident with long PIDs, long values
//! and long names planted in it. Every number on screen must be whole — each run of digits one
//! the same view shows when nothing has to be left out (a 400-column terminal) — and a process
//! name, however shortened, is always followed by its whole PID.

use std::collections::BTreeSet;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sockscope::advise::Rules;
use sockscope::sample::{Sample, SysctlValue};
use sockscope::tui::app::{App, Event, Settings};
use sockscope::tui::component::TabId;
use sockscope::tui::ui;

/// The largest PID Linux hands out (`pid_max` at most 2^22).
const PID: u32 = 4_194_303;
/// A long process name (a recording can hold any name).
const PROCESS: &str = "redis-server-long-name";
/// A long interface name.
const INTERFACE: &str = "veth-long-interface-name0";
/// A tcp_rmem maximum of 32 MiB.
const RMEM_MAX: i64 = 33_554_432;
/// Added to counters so their totals take 19 or 20 digits.
const I64_OFFSET: i64 = 9_000_000_000_000_000_000;
const U64_OFFSET: u64 = 18_000_000_000_000_000_000;
/// The height of the sweep: tall enough for a table and its detail pane.
const HEIGHT: u16 = 30;

/// The incident with long PIDs, values and names planted in every sample.
fn planted() -> Vec<Sample> {
    let text = std::fs::read_to_string("tests/fixtures/samples/incident.json").expect("fixture");
    let mut samples: Vec<Sample> = serde_json::from_str(&text).expect("fixture parses");
    for sample in &mut samples {
        for owners in sample.processes.iter_mut().flat_map(|table| table.owners.values_mut()) {
            for process in owners {
                process.pid = PID;
                process.command = PROCESS.to_string();
            }
        }
        if let Some(sysctls) = sample.sysctls.as_mut() {
            sysctls.insert("net.ipv4.tcp_rmem".into(), SysctlValue::Integers(vec![4096, 131_072, RMEM_MAX]));
            sysctls.insert("net.ipv4.tcp_wmem".into(), SysctlValue::Integers(vec![4096, 16_384, RMEM_MAX]));
        }
        for sections in [&mut sample.netstat, &mut sample.snmp].into_iter().flatten() {
            for fields in sections.values_mut() {
                for (field, value) in fields.iter_mut() {
                    if ["ListenOverflows", "ListenDrops", "InSegs", "OutSegs", "TCPOrigDataSent"]
                        .contains(&field.as_str())
                    {
                        *value = value.saturating_add(I64_OFFSET);
                    }
                }
            }
        }
        for interface in sample.interfaces.iter_mut().flatten() {
            interface.name = INTERFACE.to_string();
            if let Some(stats) = interface.stats.as_mut() {
                stats.rx_packets = stats.rx_packets.saturating_add(U64_OFFSET);
                stats.tx_bytes = stats.tx_bytes.saturating_add(U64_OFFSET);
            }
        }
        for listener in sample.tcp_listeners.iter_mut().flatten() {
            listener.uid = 4_294_967_294;
        }
    }
    samples
}

fn app() -> App {
    let settings = Settings::plain();
    let mut app = App::new(settings, Duration::from_secs(1));
    for sample in planted() {
        app.push_sample(sample);
    }
    app
}

fn key(app: &mut App, code: KeyCode) {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn screen(app: &mut App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal.draw(|frame| ui::draw(frame, app)).expect("draw");
    let buffer = terminal.backend().buffer();
    (0..height).map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect::<String>()).collect()
}

/// Every maximal run of ASCII digits on screen.
fn digit_runs(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .flat_map(|line| line.split(|c: char| !c.is_ascii_digit()).filter(|run| !run.is_empty()).map(str::to_string))
        .collect()
}

/// The process names on screen cut without `…`, or shortened and not followed by their whole
/// PID.
fn cut_owners(lines: &[String]) -> Vec<String> {
    let head = &PROCESS[..5];
    let pid = format!("[{PID}]");
    let mut bad = Vec::new();
    for line in lines {
        for (at, _) in line.match_indices(head) {
            let token: String =
                line[at..].chars().take_while(|c| c.is_alphanumeric() || "-_[]…".contains(*c)).collect();
            // The name alone is the advisor's prose ("redis-server-long-name on 127.0.0.1:8080 ...").
            let whole = token == PROCESS
                || token.strip_suffix(&pid).is_some_and(|name| {
                    name == PROCESS || name.strip_suffix('…').is_some_and(|start| PROCESS.starts_with(start))
                });
            if !whole {
                bad.push(token);
            }
        }
    }
    bad
}

/// What one state of the dashboard (a view, its pane open or not) shows, checked at `widths`.
fn sweep(app: &mut App, what: &str, widths: impl Iterator<Item = u16>) {
    let reference = screen(app, 400, 200);
    let allowed: BTreeSet<String> = digit_runs(&reference).into_iter().collect();
    assert!(cut_owners(&reference).is_empty(), "{what} at 400 columns: {:?}", cut_owners(&reference));
    for width in widths {
        let lines = screen(app, width, HEIGHT);
        let text = lines.join("\n");
        let cut: Vec<String> = digit_runs(&lines).into_iter().filter(|run| !allowed.contains(run)).collect();
        assert!(cut.is_empty(), "{what} at {width}x{HEIGHT} shows numbers in part: {cut:?}\n{text}");
        let owners = cut_owners(&lines);
        assert!(owners.is_empty(), "{what} at {width}x{HEIGHT} shows an owner without its PID: {owners:?}\n{text}");
    }
}

#[test]
fn every_view_shows_every_number_whole_from_80_to_200_columns() {
    let mut app = app();
    let mut planted_seen = BTreeSet::new();
    for (index, tab) in TabId::ALL.iter().enumerate() {
        let digit = char::from_digit(index as u32 + 1, 10).expect("a view number");
        key(&mut app, KeyCode::Char(digit));
        assert_eq!(app.tab, *tab);
        sweep(&mut app, tab.title(), 80..=200);
        planted_seen.extend(digit_runs(&screen(&mut app, 400, 200)));
        if *tab != TabId::Overview {
            key(&mut app, KeyCode::Enter);
            // Every fourth width, and both sides of where the pane moves beside the table.
            let widths = (80..=200).step_by(4).chain([159, 160]);
            sweep(&mut app, &format!("{} with details", tab.title()), widths);
            planted_seen.extend(digit_runs(&screen(&mut app, 400, 200)));
            key(&mut app, KeyCode::Esc);
        }
    }
    let last = planted().pop().expect("a sample");
    let overflows = last.netstat.as_ref().and_then(|netstat| netstat.get("TcpExt")?.get("ListenOverflows").copied());
    let long = [PID.to_string(), RMEM_MAX.to_string(), overflows.expect("ListenOverflows").to_string()];
    for number in long {
        assert!(planted_seen.contains(&number), "the fixture's {number} is shown somewhere: {planted_seen:?}");
    }
}

#[test]
fn the_report_keeps_long_numbers_and_names_whole() {
    let mut pipeline = sockscope::engine::Pipeline::new(Rules::default());
    let frame = planted().into_iter().map(|sample| pipeline.push(sample)).last().expect("a frame");
    let text = sockscope::render::text::render(&frame);
    for whole in [format!("{PROCESS}[{PID}]"), format!("4096 131072 {RMEM_MAX}"), INTERFACE.to_string()] {
        assert!(text.contains(&whole), "the report lacks {whole}:\n{text}");
    }
}
