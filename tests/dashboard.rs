//! The dashboard drawn from a recorded incident (`tests/fixtures/samples/incident.json`, made by
//! `examples/capture_samples.rs` around `incident.py`) into ratatui's `TestBackend`: every view
//! at 80x24 and 160x48, and the states keys lead to — help, filter, sort, details, freeze — driven
//! through the same `App::handle` the live loop uses. No threads, no terminal, no sleeps.

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Modifier;
use sockscope::advise::Rules;
use sockscope::config::Config;
use sockscope::sample::Sample;
use sockscope::tui::app::{App, Effect, Event, Settings};
use sockscope::tui::component::TabId as Tab;
use sockscope::tui::keymap::{Action, Context, Keymap};
use sockscope::tui::replay::{Position, Replayed, Seek};
use sockscope::tui::ui;

fn incident() -> Vec<Sample> {
    let text = std::fs::read_to_string("tests/fixtures/samples/incident.json").expect("fixture");
    serde_json::from_str(&text).expect("fixture parses")
}

fn app_with(samples: Vec<Sample>) -> App {
    let settings = Settings::plain();
    let mut app = App::new(settings, Duration::from_secs(1));
    for sample in samples {
        app.push_sample(sample);
    }
    app
}

fn app() -> App {
    app_with(incident())
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn keys(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal.draw(|frame| ui::draw(frame, app)).expect("draw");
    terminal
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let terminal = render(app, width, height);
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect::<String>().trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_view_at_80x24_and_160x48() {
    for (index, tab) in Tab::ALL.iter().enumerate() {
        let mut app = app();
        keys(&mut app, &(index + 1).to_string());
        assert_eq!(app.tab, *tab);
        let name = tab.title().to_lowercase();
        insta::assert_snapshot!(format!("{name}_80x24"), screen(&mut app, 80, 24));
        insta::assert_snapshot!(format!("{name}_160x48"), screen(&mut app, 160, 48));
    }
}

#[test]
fn the_first_screen_shows_the_full_listener_and_somaxconn_at_100x30() {
    let mut app = app();
    let text = screen(&mut app, 100, 30);
    let full = text.lines().find(|line| line.contains("127.0.0.1:8080")).expect("listener row");
    assert!(full.contains("FULL") && full.contains('!'), "{full}");
    assert!(text.contains("somaxconn 4096"), "{text}");
    insta::assert_snapshot!("overview_100x30", text);
}

#[test]
fn help_names_every_key() {
    let mut app = app();
    key(&mut app, KeyCode::Char('?'));
    for (width, height) in [(80, 24), (100, 30)] {
        let text = screen(&mut app, width, height);
        for bound in Keymap::default().bindings().iter().filter(|bound| bound.binding.context != Context::Replay) {
            let shown = bound.display_keys();
            assert!(text.contains(&shown), "help at {width}x{height} lacks {shown}:\n{text}");
        }
        assert!(!text.contains("Replaying"), "a live dashboard has no replay keys");
        insta::assert_snapshot!(format!("help_{width}x{height}"), text);
    }
    key(&mut app, KeyCode::Esc);
    assert!(!screen(&mut app, 80, 24).contains("Keys — Esc"));
}

#[test]
fn rebound_keys_drive_the_dashboard_and_its_help() {
    let config = Config::parse("[keys]\nquit = [\"ctrl+q\"]\ndown = [\"x\"]\n", std::path::Path::new("c.toml"))
        .expect("valid configuration");
    let mut app = app();
    app.settings.keymap = Keymap::with_overrides(&config.keys).expect("valid keys");
    assert!(key(&mut app, KeyCode::Char('q')).is_empty(), "q no longer quits");
    key(&mut app, KeyCode::Char('?'));
    let help = screen(&mut app, 100, 30);
    assert!(help.contains("Ctrl-Q") && help.contains(" x "), "{help}");
    key(&mut app, KeyCode::Esc);
    keys(&mut app, "2");
    screen(&mut app, 100, 30);
    key(&mut app, KeyCode::Char('x'));
    screen(&mut app, 100, 30);
    assert_eq!(app.nav_of(Tab::Listeners).selected, 1);
    let quit = app.handle(Event::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL)));
    assert_eq!(quit, vec![Effect::Exit(0)]);
}

#[test]
fn a_filter_narrows_rows_and_says_how_many() {
    let mut app = app();
    keys(&mut app, "2/port:8080");
    key(&mut app, KeyCode::Enter);
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("(1 of 3)"), "{text}");
    assert!(text.contains("filter: port:8080"), "{text}");
    insta::assert_snapshot!("listeners_filtered", text);
    keys(&mut app, "3");
    let text = screen(&mut app, 100, 30);
    assert!(text.lines().filter(|line| line.contains("8080")).count() > 3, "the filter applies to sockets too");
    assert!(!text.contains(":8443"), "{text}");
}

#[test]
fn a_bad_filter_keeps_the_table_and_names_the_word() {
    let mut app = app();
    keys(&mut app, "2/port:web");
    key(&mut app, KeyCode::Enter);
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("'web' in 'port:web' is not a port number"), "{text}");
    assert!(text.contains("Listeners (3)"), "{text}");
}

#[test]
fn details_of_the_full_listener() {
    let mut app = app();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.tab, Tab::Listeners, "Enter on the overview opens the listener");
    let text = screen(&mut app, 100, 40);
    assert!(text.contains("FULL: new SYNs and final ACKs"), "{text}");
    insta::assert_snapshot!("listener_details", text);
}

/// The incident with the owner of the full listener stopped (`T`), its state read with every
/// sample as this build does (the recording predates it), in a throttled cgroup.
fn incident_with_a_stopped_owner() -> Vec<Sample> {
    use sockscope::sample::{CgroupStats, CpuStat, ProcessStatus};
    let mut samples = incident();
    for (index, sample) in samples.iter_mut().enumerate() {
        let boottime = sample.boottime_ns;
        let Some(table) = sample.processes.as_mut() else { continue };
        let pids: Vec<u32> = table.owners.values().flatten().map(|owner| owner.pid).collect();
        table.status_boottime_ns = boottime;
        table.ticks_per_second = 100;
        for pid in pids {
            let status = ProcessStatus {
                state: 'T',
                parent: 1,
                cpu_ticks: 40,
                threads: 3,
                start_time: 77,
                cgroup: Some("/system.slice/app.service".into()),
                command_line_numbers: Default::default(),
            };
            table.status.insert(pid, status);
        }
        let throttled = index as u64 * 400_000;
        let cpu = CpuStat {
            usage_usec: Some(0),
            nr_periods: Some(index as u64 * 10),
            nr_throttled: Some(index as u64 * 9),
            throttled_usec: Some(throttled),
        };
        let stats = CgroupStats { cpu: Some(cpu), ..CgroupStats::default() };
        table.cgroups.insert("/system.slice/app.service".into(), stats);
    }
    samples
}

#[test]
fn the_full_listener_shows_its_stopped_owner_and_throttled_cgroup() {
    let mut app = app_with(incident_with_a_stopped_owner());
    key(&mut app, KeyCode::Enter);
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("python3[7340] T"), "the owner column: its state letter and pid whole: {text}");
    assert!(text.contains("owner             python3[7340], T stopped (SIGSTOP), CPU 0%, 3 threads"), "{text}");
    let model = &app.frame().expect("a frame on screen").model;
    let cgroup = model.listeners[0].owners[0].cgroup.as_ref().expect("a cgroup");
    let throttled = sockscope::format::percent(cgroup.throttled.expect("two samples"));
    assert!(text.contains(&format!("/system.slice/app.service  throttled {throttled} (9 of 10 periods)")), "{text}");
    assert!(text.contains("its only owner python3[7340] is stopped (SIGSTOP)"), "the finding names it: {text}");
    insta::assert_snapshot!("listener_details_stopped_owner", text);
}

#[test]
fn a_destination_shows_its_sockets_by_state_and_owner() {
    let mut app = app();
    keys(&mut app, "5");
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::CollectConnections(true)]);
    let text = screen(&mut app, 100, 30);
    let model = &app.frame().expect("a frame on screen").model;
    let busiest = &model.ports.as_ref().expect("ports").by_destination[0];
    let time_wait = busiest.time_wait;
    assert!(text.contains(&format!("({time_wait} in TIME_WAIT)")), "{text}");
    assert!(text.contains(&format!("TIME_WAIT {time_wait}")), "the per-socket count agrees with the summary: {text}");
    assert!(text.contains("by process"), "{text}");
    insta::assert_snapshot!("ports_destination", text);
}

#[test]
fn sorting_connections_by_receive_queue() {
    let mut app = app();
    keys(&mut app, "3sss");
    let text = screen(&mut app, 120, 30);
    assert!(text.contains("recv-q▼"), "{text}");
    insta::assert_snapshot!("connections_by_recv_q", text);
    key(&mut app, KeyCode::Char('S'));
    assert!(screen(&mut app, 120, 30).contains("recv-q▲"));
}

#[test]
fn clicking_a_heading_sorts_by_it_and_again_reverses() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = app();
    keys(&mut app, "2");
    let text = screen(&mut app, 160, 48);
    let (row, line) = text.lines().enumerate().find(|(_, line)| line.contains("drops/s")).expect("heading");
    let x = line.find("drops/s").map(|byte| line[..byte].chars().count()).expect("x") + 2;
    let click = |app: &mut App| {
        let at = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x as u16,
            row: row as u16,
            modifiers: KeyModifiers::NONE,
        };
        app.handle(Event::Mouse(at));
        screen(app, 160, 48)
    };
    let sorted = click(&mut app);
    assert!(sorted.contains("drops/s▼"), "{sorted}");
    assert!(click(&mut app).contains("drops/s▲"));
}

#[test]
fn freezing_keeps_the_screen_while_samples_arrive() {
    let samples = incident();
    let (last, earlier) = samples.split_last().expect("samples");
    let mut app = app_with(earlier.to_vec());
    key(&mut app, KeyCode::Char(' '));
    let frozen = screen(&mut app, 100, 30);
    assert!(frozen.contains("FROZEN"), "{frozen}");
    app.push_sample(last.clone());
    assert_eq!(screen(&mut app, 100, 30), frozen, "nothing moves while frozen");
    key(&mut app, KeyCode::Char(' '));
    let live = screen(&mut app, 100, 30);
    assert!(!live.contains("FROZEN") && live != frozen);
}

#[test]
fn an_old_sample_is_marked_stale() {
    let mut app = app();
    assert!(!screen(&mut app, 100, 30).contains("STALE"));
    app.stale = true;
    assert!(screen(&mut app, 100, 30).lines().next().is_some_and(|line| line.contains("STALE")));
    let samples = incident();
    app.push_sample(samples[0].clone());
    assert!(!app.stale, "a new sample clears it");
}

#[test]
fn selection_follows_the_listener_across_samples() {
    let samples = incident();
    let mut app = app_with(samples[..6].to_vec());
    keys(&mut app, "2G");
    screen(&mut app, 100, 30);
    let selected = app.nav_of(Tab::Listeners).key;
    for sample in &samples[6..] {
        app.push_sample(sample.clone());
        screen(&mut app, 100, 30);
        assert_eq!(app.nav_of(Tab::Listeners).key, selected);
    }
}

#[test]
fn before_the_first_sample_and_when_sources_fail() {
    let mut app = app_with(Vec::new());
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("taking the first sample"), "{text}");
    let mut broken = incident().pop().expect("sample");
    broken.tcp_summary = None;
    broken.tcp_listeners = None;
    broken.unavailable.push(sockscope::sample::Unavailable {
        source: sockscope::sample::Source::TcpListeners,
        reason: "sock_diag: Protocol not supported".into(),
    });
    broken.interfaces = None;
    broken.unavailable.push(sockscope::sample::Unavailable {
        source: sockscope::sample::Source::TcpStates,
        reason: "sock_diag: Operation not permitted".into(),
    });
    let mut app = app_with(vec![broken]);
    let text = screen(&mut app, 120, 30);
    assert!(text.contains("TCP listeners unavailable: sock_diag: Protocol not supported"), "{text}");
    assert!(text.contains("listeners unreadable") && !text.contains("no problems"), "{text}");
    keys(&mut app, "4");
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("unavailable: sock_diag: Operation not permitted"), "{text}");
    keys(&mut app, "6");
    assert!(screen(&mut app, 80, 24).contains("unavailable"));
}

#[test]
fn names_with_control_characters_are_shown_escaped() {
    let mut samples = incident();
    for sample in &mut samples {
        for owners in sample.processes.iter_mut().flat_map(|table| table.owners.values_mut()) {
            for process in owners {
                process.command = "evil\u{1b}[2J\u{202e}x".to_string();
            }
        }
    }
    let mut app = app_with(samples);
    let overview = screen(&mut app, 120, 30);
    // Escaped, and whole where the column has room (a narrow one shortens the name, never the pid).
    assert!(overview.contains("evil\\x1b[2J\\u{202e}x[7340]"), "{overview}");
    key(&mut app, KeyCode::Enter);
    let details = screen(&mut app, 120, 40);
    assert!(details.contains("evil\\x1b[2J\\u{202e}x["), "{details}");
    for text in [overview, details] {
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
    }
}

#[test]
fn full_rows_are_marked_without_colour() {
    let mut app = app();
    let terminal = render(&mut app, 100, 30);
    let buffer = terminal.backend().buffer();
    let row =
        (0..30).find(|y| (0..100).map(|x| buffer[(x, *y)].symbol()).collect::<String>().contains("127.0.0.1:8080"));
    let y = row.expect("listener row");
    let x = (0..100).find(|x| buffer[(*x, y)].symbol() == "!").expect("marker");
    let style = buffer[(x, y)].style();
    assert!(style.add_modifier.contains(Modifier::BOLD), "{style:?}");
    assert!(style.fg.is_none() || style.fg == Some(ratatui::style::Color::Reset), "mono sets no colour: {style:?}");
}

#[test]
fn every_view_draws_at_every_size_without_panicking() {
    let mut app = app();
    let sweep = |app: &mut App| {
        for width in (1..=120).step_by(7) {
            for height in (1..=40).step_by(3) {
                render(app, width, height);
            }
        }
    };
    for tab in 1..=9 {
        keys(&mut app, &tab.to_string());
        key(&mut app, KeyCode::Enter);
        sweep(&mut app);
    }
    key(&mut app, KeyCode::Char('?'));
    sweep(&mut app);
    key(&mut app, KeyCode::Esc);
    keys(&mut app, "/port:8080");
    sweep(&mut app);
    assert!(screen(&mut app, 50, 10).contains("terminal too small: 50x10"));
}

#[test]
fn quit_and_signals_end_with_their_status() {
    let mut app = app();
    assert_eq!(key(&mut app, KeyCode::Char('q')), vec![Effect::Exit(0)]);
    assert_eq!(app.handle(Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))), vec![Effect::Exit(0)]);
    assert_eq!(app.handle(Event::Terminate(15)), vec![Effect::Exit(143)]);
}

/// One fact, one number: the headline port use and the fullest listener's fill are the same in
/// the dashboard's header and tables, the text report and the JSON report, because all three
/// read the frame's model. The fixture's busiest destination is raised to 20,000 sockets so the
/// figure is far from 0 and distinct from the share of distinct ports (237 of 28,232).
#[test]
fn port_use_and_fill_are_one_number_in_every_output() {
    let mut samples = incident();
    if let Some(summary) = samples.last_mut().and_then(|sample| sample.tcp_summary.as_mut()) {
        summary.ephemeral.by_destination[0].sockets = 20_000;
    }
    let mut app = app_with(samples);
    let header = screen(&mut app, 160, 48);
    let frame = app.frame().expect("a frame on screen");
    let json: serde_json::Value =
        serde_json::from_str(&sockscope::render::json::render(frame).expect("JSON")).expect("valid JSON");
    let text = sockscope::render::text::render(frame);

    let share = json["ports"]["fullest_share"].as_f64().expect("fullest_share");
    assert!((share - 20_000.0 / 28_232.0).abs() < 1e-9, "{share}");
    let shown = sockscope::format::percent(share);
    assert_eq!(shown, "71%");
    assert!(header.contains(&format!("ports 32768-60999 {shown} used")), "{header}");
    assert!(text.contains(&format!("Fullest   {shown} of the usable range used toward one destination")), "{text}");
    assert!(json["ports"]["distinct_share"].as_f64().is_some_and(|distinct| distinct < 0.01));

    let fill = json["listeners"][0]["fill"].as_f64().expect("fill");
    assert_eq!(fill, frame.model.max_fill());
    let fill_shown = sockscope::format::percent(fill);
    let first_listener_row = text.lines().skip_while(|line| !line.contains("RECV-Q")).nth(1).expect("a listener row");
    assert!(first_listener_row.contains(&format!("{fill_shown} FULL")), "{first_listener_row}");
    keys(&mut app, "2");
    let listeners = screen(&mut app, 160, 48);
    let row = listeners.lines().find(|line| line.contains("127.0.0.1") && line.contains("8080")).expect("row");
    assert!(row.contains(&fill_shown), "{row}");
}

/// The incident as a replay at its last sample, as the replayer hands it over.
fn replay_app() -> App {
    let mut app = app_with(Vec::new());
    let mut pipelines = sockscope::engine::Pipelines::new(Rules::default());
    let samples = incident();
    let (first, last) = (samples[0].taken_at, samples[samples.len() - 1].taken_at);
    let total = samples.len();
    let mut scene = None;
    for sample in samples {
        scene = Some(
            pipelines
                .push(sockscope::collect::Round::new(vec![sockscope::collect::Observed::Sample(Box::new(sample))])),
        );
    }
    let position = Position {
        index: total - 1,
        total,
        taken_at: last,
        covered: sockscope::record::moment::Covered { first, last },
        playing: false,
        speed: 1,
        host: Some("recorded".to_string()),
    };
    let replayed = Replayed { pipelines, scene: scene.expect("a scene"), position, message: None };
    app.handle(Event::Replayed(Box::new(replayed)));
    app
}

#[test]
fn a_replay_says_so_and_its_keys_move_the_cursor() {
    let mut app = replay_app();
    let text = screen(&mut app, 160, 48);
    assert!(text.contains("REPLAY") && text.contains(&format!("{total}/{total}", total = incident().len())), "{text}");
    assert!(!text.contains("STALE"), "a paused replay is never stale");
    assert_eq!(
        app.handle(Event::Key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE))),
        vec![Effect::Replay(Seek::Step(1))]
    );
    assert_eq!(
        app.handle(Event::Key(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE))),
        vec![Effect::Replay(Seek::Step(-1))]
    );
    assert_eq!(key(&mut app, KeyCode::Char(' ')), vec![Effect::Replay(Seek::PlayPause)]);
    assert_eq!(key(&mut app, KeyCode::Char('+')), vec![Effect::Replay(Seek::Speed(1))], "+ is speed, not the interval");
    assert_eq!(key(&mut app, KeyCode::Char('<')), vec![Effect::Replay(Seek::Speed(-1))]);
    assert_eq!(
        key(&mut app, KeyCode::Char(']')),
        vec![Effect::Replay(Seek::Jump(jiff::SignedDuration::from_secs(60)))]
    );
    key(&mut app, KeyCode::Char('t'));
    keys(&mut app, "soon");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(app.message.as_deref().is_some_and(|m| m.contains("not a time")), "{:?}", app.message);
    key(&mut app, KeyCode::Char('u'));
    app.filter_input = Some(String::new());
    let first = incident()[0].taken_at;
    keys(&mut app, &first.to_string());
    assert_eq!(key(&mut app, KeyCode::Enter), vec![Effect::Replay(Seek::To(first))]);
}

#[test]
fn a_replays_help_names_its_keys_at_80x24() {
    let mut app = replay_app();
    key(&mut app, KeyCode::Char('?'));
    let text = screen(&mut app, 80, 24);
    for bound in Keymap::default().bindings() {
        if matches!(bound.binding.action, Action::Faster | Action::Slower) {
            continue; // replaced by the replay's speed keys
        }
        let shown = bound.display_keys();
        assert!(text.contains(&shown), "the replay's help lacks {shown}:\n{text}");
    }
    assert!(!text.contains("sample more often"), "{text}");
}

#[test]
fn an_interrupted_dump_is_shown_in_the_header() {
    let mut samples = incident();
    let quiet = screen(&mut app_with(samples.clone()), 120, 30);
    assert!(!quiet.contains("dump interrupted"), "{quiet}");
    if let Some(last) = samples.last_mut() {
        last.diagnostics.interrupted_dumps = 1;
    }
    let flagged = screen(&mut app_with(samples), 120, 30);
    let header = flagged.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(header.contains("dump interrupted"), "{header}");
}

/// The Counters view: every counter as nstat names it, fastest first, zero counters hidden until
/// `z`, the filter, and the meaning of the ones that matter.
#[test]
fn the_counters_view_lists_every_counter_fastest_first() {
    let mut app = app();
    keys(&mut app, "9");
    assert_eq!(app.tab, Tab::Counters);
    let text = screen(&mut app, 120, 30);
    let model = &app.frame().expect("a frame on screen").model;
    let fastest = sockscope::model::counters::moved(&model.counter_rows)[0];
    let first_row = text.lines().find(|line| line.contains('▶')).expect("a selected row");
    assert!(first_row.contains(&fastest.name()), "{first_row}");
    assert!(first_row.contains(&sockscope::format::rate(fastest.rate)), "{first_row}");
    let zero = model.counter_rows.iter().filter(|row| row.total == 0).count();
    let all = model.counter_rows.len();
    assert!(zero > 0 && text.contains(&format!("({} of {all},", all - zero)), "{text}");
    insta::assert_snapshot!("counters_120x30", text);

    keys(&mut app, "/TcpExtSyncookies");
    key(&mut app, KeyCode::Enter);
    let hidden = screen(&mut app, 120, 30);
    assert!(!hidden.contains("TcpExtSyncookiesFailed"), "a zero counter is hidden: {hidden}");
    keys(&mut app, "z");
    let shown = screen(&mut app, 120, 30);
    let row = shown.lines().find(|line| line.contains("TcpExtSyncookiesFailed")).expect("shown after z");
    assert!(row.contains("invalid syncookies received"), "{row}");
    assert!(shown.contains(&format!("(3 of {all},")), "{shown}");
    insta::assert_snapshot!("counters_zeros_filtered", shown);
    keys(&mut app, "z");
    assert!(!screen(&mut app, 120, 30).contains("TcpExtSyncookiesFailed"), "z hides them again");
}

/// Labels never run into their values and the sort arrow never covers a heading's letter:
/// seen were `rx packets / bytes7 / 586B` and `rx drop/s` losing its `s` to the arrow.
#[test]
fn labels_and_headings_keep_their_letters() {
    let mut app = app();
    keys(&mut app, "6s");
    let sorted = screen(&mut app, 100, 30);
    assert!(sorted.contains("rx drop/s▼"), "{sorted}");
    key(&mut app, KeyCode::Enter);
    let details = screen(&mut app, 100, 40);
    let line = details.lines().find(|line| line.contains("rx packets / bytes")).expect("the totals line");
    let value = line.split("rx packets / bytes").nth(1).unwrap_or_default();
    assert!(value.starts_with(' ') && value.trim_start().starts_with(|c: char| c.is_ascii_digit()), "{line}");
}

/// The report's counters section lists every counter that moved during the interval, with its
/// increase and rate, fastest first, and none that stood still.
#[test]
fn the_report_lists_every_counter_that_moved() {
    let mut pipeline = sockscope::engine::Pipeline::new(Rules::default());
    let frame = incident().into_iter().map(|sample| pipeline.push(sample)).last().expect("a frame");
    let text = sockscope::render::text::render(&frame);
    let section: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with("Counters that moved"))
        .skip(3)
        .take_while(|line| !line.is_empty())
        .collect();
    let moved = sockscope::model::counters::moved(&frame.model.counter_rows);
    assert!(moved.len() > 8, "more than the fixed eight moved: {}", moved.len());
    assert_eq!(section.len(), moved.len(), "{text}");
    for (line, row) in section.iter().zip(&moved) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], row.name(), "{line}");
        assert_eq!(words[1], sockscope::format::count(row.delta), "{line}");
        assert_eq!(words[2], sockscope::format::rate(row.rate), "{line}");
    }
    let overflows =
        section.iter().find(|line| line.trim_start().starts_with("TcpExtListenOverflows ")).expect("overflows moved");
    assert!(overflows.contains("accept queue was full"), "{overflows}");
    assert!(!text.contains("TcpExtSyncookiesFailed"), "a counter that stood still is not listed");
}
