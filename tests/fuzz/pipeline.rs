//! The whole pipeline on mutated samples, as a crafted or corrupt recording would bring them:
//! the recorded incident (`tests/fixtures/samples/incident.json`) with numbers set to the
//! extremes of their types, port ranges inverted, clocks going backwards and lists blown up,
//! pushed through `Pipeline` (model and advisor), rendered in every report format, and drawn as
//! the dashboard at random sizes after random keys. Nothing may panic, and the JSON and metric
//! outputs must stay well-formed.

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use serde::Deserialize;
use serde_json::Value;
use sockscope::advise::Rules;
use sockscope::engine::Pipeline;
use sockscope::render::{self, Format};
use sockscope::sample::{Interface, Sample, SoftnetRow, SynRecvGroup, TcpListener, UdpSocket};
use sockscope::tui::app::{App, Event, Settings};
use sockscope::tui::ui;

use super::harness::{Rng, cases, run};

/// The recorded incident's samples, as JSON values to mutate.
fn incident() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples/incident.json"))
        .expect("the incident fixture");
    let samples: Vec<Value> = serde_json::from_str(&text).expect("the fixture is JSON");
    samples.into_iter().map(slim).collect()
}

/// Keeps a few of each long list (connections, flows, kernel events), so a case costs
/// milliseconds; the mutations make lists long again where it matters.
fn slim(mut sample: Value) -> Value {
    for (pointer, keep) in
        [("/connections", 40), ("/flows/busiest", 4), ("/flows/retransmitting", 4), ("/kernel_events", 4)]
    {
        if let Some(list) = sample.pointer_mut(pointer).and_then(Value::as_array_mut) {
            list.truncate(keep);
        }
    }
    sample
}

/// Paths (object keys and array indices) to every number inside `value`.
fn number_paths(value: &Value, path: &mut Vec<Step>, found: &mut Vec<Vec<Step>>) {
    match value {
        Value::Number(_) => found.push(path.clone()),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Step::Index(index));
                number_paths(item, path, found);
                path.pop();
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                path.push(Step::Key(key.clone()));
                number_paths(item, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// One step into a JSON value.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn at<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get_mut(key.as_str()),
        Step::Index(index) => value.get_mut(*index),
    })
}

/// An extreme for a number, then the widest values most fields take: the first that the
/// field accepts is kept.
fn extremes(rng: &mut Rng) -> [Value; 3] {
    let first: Value = match rng.below(8) {
        0 => u64::MAX.into(),
        1 => i64::MAX.into(),
        2 => i64::MIN.into(),
        3 => (-1).into(),
        4 => f64::MAX.into(),
        5 => rng.next_u64().into(),
        _ => rng.extreme().into(),
    };
    [first, u32::MAX.into(), 0.into()]
}

/// Sets a few numbers of `sample` to extremes, keeping only changes the sample type accepts.
fn extreme_numbers(rng: &mut Rng, sample: &mut Value) {
    let mut paths = Vec::new();
    number_paths(sample, &mut Vec::new(), &mut paths);
    for _ in 0..1 + rng.below(8) {
        let Some(path) = (!paths.is_empty()).then(|| paths[rng.below(paths.len())].clone()) else { return };
        let Some(original) = at(sample, &path).cloned() else { continue };
        for candidate in extremes(rng) {
            if let Some(slot) = at(sample, &path) {
                *slot = candidate;
            }
            if Sample::deserialize(&*sample).is_ok() {
                break;
            }
            if let Some(slot) = at(sample, &path) {
                *slot = original.clone();
            }
        }
    }
}

/// Whether a JSON value reads as one element of a list.
type ElementOk = fn(&Value) -> bool;

/// The lists that are blown up, with the type of their elements.
const LISTS: [(&str, ElementOk); 5] = [
    ("/tcp_listeners", |value| TcpListener::deserialize(value).is_ok()),
    ("/interfaces", |value| Interface::deserialize(value).is_ok()),
    ("/softnet", |value| SoftnetRow::deserialize(value).is_ok()),
    ("/udp_sockets", |value| UdpSocket::deserialize(value).is_ok()),
    ("/tcp_summary/syn_recv", |value| SynRecvGroup::deserialize(value).is_ok()),
];

/// Gives a sample without half-open requests one group of them on its first listener's
/// endpoint, so that request counts reach the listener attribution.
fn add_syn_recv(sample: &mut Value) {
    let Some(listener) = sample.pointer("/tcp_listeners/0").cloned() else { return };
    let group = serde_json::json!({
        "family": listener["family"],
        "local_address": listener["local_address"],
        "local_port": listener["local_port"],
        "requests": 3,
        "retransmitted": 1,
    });
    if let Some(groups) = sample.pointer_mut("/tcp_summary/syn_recv").and_then(Value::as_array_mut)
        && groups.is_empty()
        && SynRecvGroup::deserialize(&group).is_ok()
    {
        groups.push(group);
    }
}

/// Sets every number of `element` that its type lets be `u32::MAX` to that.
fn maximise(element: &mut Value, element_ok: ElementOk) {
    let mut paths = Vec::new();
    number_paths(element, &mut Vec::new(), &mut paths);
    for path in paths {
        let Some(original) = at(element, &path).map(|slot| std::mem::replace(slot, u32::MAX.into())) else { continue };
        if !element_ok(element)
            && let Some(slot) = at(element, &path)
        {
            *slot = original;
        }
    }
}

/// Structural damage a recording could hold: inverted ranges, a huge list, a missing source.
fn damage(rng: &mut Rng, sample: &mut Value) {
    match rng.below(6) {
        0 => {
            if let Some(range) = sample.pointer_mut("/tcp_summary/ephemeral/range") {
                *range = serde_json::json!([60999, 32768]);
            }
        }
        1 => {
            if let Some(range) = sample.pointer_mut("/sysctls/net.ipv4.ip_local_port_range") {
                *range = serde_json::json!([65535, 0]);
            }
            if let Some(reserved) = sample.pointer_mut("/sysctls/net.ipv4.ip_local_reserved_ports") {
                *reserved = Value::from("0-65535,9-3,70000");
            }
        }
        2 => {
            // The first element is repeated, half the time with every number its type takes at
            // `u32::MAX`, so sums over the list are pushed past what their types hold.
            let (pointer, element_ok) = *rng.pick(&LISTS);
            let maximised = rng.chance(1, 2);
            let copies = 1 + rng.below(1000);
            add_syn_recv(sample);
            let list = sample.pointer_mut(pointer).and_then(Value::as_array_mut);
            if let Some(list) = list.filter(|list| !list.is_empty()) {
                let mut first = list[0].clone();
                if maximised {
                    maximise(&mut first, element_ok);
                }
                list.extend(std::iter::repeat_n(first, copies));
            }
        }
        3 => {
            let sources = ["tcp_listeners", "tcp_summary", "sysctls", "netstat", "interfaces", "processes", "host"];
            if let Some(fields) = sample.as_object_mut() {
                fields.insert(rng.pick(&sources).to_string(), Value::Null);
            }
        }
        _ => {}
    }
}

/// A run of 1 to 4 consecutive incident samples, mutated; the clock may stand still, go
/// backwards or jump to its end.
fn mutated_samples(rng: &mut Rng, incident: &[Value]) -> Vec<Sample> {
    let count = 1 + rng.below(4);
    let start = rng.below(incident.len() - count + 1);
    let mut samples = Vec::new();
    for original in &incident[start..start + count] {
        let mut value = original.clone();
        if rng.chance(3, 4) {
            extreme_numbers(rng, &mut value);
        }
        if rng.chance(1, 2) {
            damage(rng, &mut value);
        }
        let mut sample: Sample = serde_json::from_value(value).expect("a mutated sample stays a sample");
        match rng.below(8) {
            0 => sample.boottime_ns = 0,
            1 => sample.boottime_ns = u64::MAX,
            2 => sample.boottime_ns = samples.last().map_or(0, |previous: &Sample| previous.boottime_ns),
            _ => {}
        }
        samples.push(sample);
    }
    samples
}

#[test]
fn mutated_samples_through_the_model_advisor_and_every_format() {
    let incident = incident();
    run("pipeline", cases(200), |rng| {
        let mut pipeline = Pipeline::new(Rules::default());
        for sample in mutated_samples(rng, &incident) {
            let frame = pipeline.push(sample);
            for format in [Format::Text, Format::Json, Format::OpenMetrics, Format::Prometheus] {
                let output = render::render(&frame, format).expect("a frame always renders");
                match format {
                    Format::Json => {
                        serde_json::from_str::<Value>(&output).expect("the JSON report parses");
                    }
                    Format::OpenMetrics => assert!(output.ends_with("# EOF\n")),
                    Format::Text | Format::Prometheus => assert!(!output.is_empty()),
                }
            }
        }
    });
}

/// Keys a user could press: every default binding's key and a few strays.
fn random_key(rng: &mut Rng) -> KeyEvent {
    let code = match rng.below(12) {
        0 => KeyCode::Up,
        1 => KeyCode::Down,
        2 => KeyCode::PageDown,
        3 => KeyCode::End,
        4 => KeyCode::Enter,
        5 => KeyCode::Esc,
        6 => KeyCode::Tab,
        7 => KeyCode::Backspace,
        8 => KeyCode::Char(char::from(b'1' + rng.below(9) as u8)),
        _ => {
            KeyCode::Char(*rng.pick(&['j', 'k', 's', 'S', 'd', '/', 'n', 'N', 'f', ' ', 'm', '?', 'x', ':', 'g', 'G']))
        }
    };
    let modifiers = if rng.chance(1, 10) { KeyModifiers::ALT } else { KeyModifiers::NONE };
    KeyEvent::new(code, modifiers)
}

fn random_event(rng: &mut Rng) -> Event {
    match rng.below(10) {
        0 => Event::Resize,
        1 => Event::Mouse(MouseEvent {
            kind: *rng.pick(&[
                MouseEventKind::Down(MouseButton::Left),
                MouseEventKind::ScrollDown,
                MouseEventKind::ScrollUp,
            ]),
            column: rng.below(300) as u16,
            row: rng.below(100) as u16,
            modifiers: KeyModifiers::NONE,
        }),
        _ => Event::Key(random_key(rng)),
    }
}

#[test]
fn mutated_samples_in_the_dashboard_at_random_sizes_and_keys() {
    let incident = incident();
    run("dashboard", cases(100), |rng| {
        let settings = Settings::plain();
        let mut app = App::new(settings, Duration::from_secs(1));
        for sample in mutated_samples(rng, &incident) {
            app.push_sample(sample);
            for _ in 0..rng.below(12) {
                app.handle(random_event(rng));
            }
            let (width, height) = (1 + rng.below(220) as u16, 1 + rng.below(70) as u16);
            let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
            terminal.draw(|frame| ui::draw(frame, &mut app)).expect("a draw");
        }
    });
}
