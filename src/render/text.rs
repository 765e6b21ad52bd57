//! The text report: readable sections with aligned columns, meant for a terminal, a file or a
//! ticket. Plain text only: no escape codes, untrusted names sanitised.

use std::fmt::Write as _;

use super::table::{Align, Table};
use crate::engine::Frame;
use crate::format::{self as units, sanitize};
use crate::model::fields::{self, Field};
use crate::model::{ListenerView, OwnerView};
use crate::sample::{ProcessRef, Source, TCP_STATES};

/// Renders the whole report; every section reads the frame's model and its raw sample. Names
/// are sanitised where they are formatted, and the whole text once more at the end
/// ([`units::terminal_text`]).
pub fn render(view: &Frame) -> String {
    let mut out = String::new();
    header(&mut out, view);
    section(&mut out, "Findings (most severe first)");
    out.push_str(&super::findings::render(view));
    listeners(&mut out, view);
    super::events::text(&mut out, view);
    overflow(&mut out, view);
    moved_counters(&mut out, view);
    tcp_states(&mut out, view);
    ports(&mut out, view);
    interfaces(&mut out, view);
    settings(&mut out, view);
    softnet(&mut out, view);
    udp(&mut out, view);
    unavailable(&mut out, view);
    units::terminal_text(out)
}

/// A note after a figure the model judged close to or at its limit.
fn level_note(level: crate::model::Level) -> &'static str {
    match level {
        crate::model::Level::Critical => "  CRITICAL",
        crate::model::Level::Warning => "  WARNING",
        crate::model::Level::Normal => "",
    }
}

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}\n{}", "=".repeat(title.chars().count()));
}

fn header(out: &mut String, view: &Frame) {
    let sample = &view.sample;
    let _ = writeln!(out, "sockscope report");
    match &sample.host {
        Some(host) => {
            let _ = writeln!(
                out,
                "Host      {}  (Linux {}, {} CPUs, up {}, load {:.2} {:.2} {:.2})",
                sanitize(&host.hostname),
                sanitize(&host.kernel),
                host.cpus,
                units::duration(host.uptime_seconds),
                host.load_average[0],
                host.load_average[1],
                host.load_average[2],
            );
        }
        None => {
            let _ = writeln!(out, "Host      unavailable: {}", reason(view, Source::Host));
        }
    }
    let _ = writeln!(out, "Taken at  {}", sample.taken_at.round(jiff::Unit::Second).unwrap_or(sample.taken_at));
    if let Some(netns) = &sample.netns {
        let container = netns.container.as_ref().map(|hint| format!("  container {}", units::container(hint)));
        let residents = Some(units::residents(netns)).filter(|text| !text.is_empty()).map(|text| format!("  {text}"));
        let _ = writeln!(
            out,
            "Netns     {}{}{}",
            units::netns(netns),
            container.unwrap_or_default(),
            residents.unwrap_or_default()
        );
    }
    let basis = match (view.model.interval, &sample.host) {
        (Some(seconds), _) => format!("rates per second over {}", units::interval(seconds)),
        (None, Some(host)) => format!(
            "counters are totals since boot ({} ago); use --interval for rates",
            units::duration(host.uptime_seconds)
        ),
        (None, None) => "counters are totals since boot; use --interval for rates".to_string(),
    };
    let _ = writeln!(out, "Counters  {basis}");
}

fn reason(view: &Frame, source: Source) -> &str {
    view.sample.unavailable_reason(&source).unwrap_or("not collected")
}

fn processes(owners: &[ProcessRef]) -> String {
    match owners {
        [] => "-".to_string(),
        [only] => format!("{}[{}]", sanitize(&only.command), only.pid),
        [first, rest @ ..] => format!("{}[{}] +{}", sanitize(&first.command), first.pid, rest.len()),
    }
}

/// The processes taking a listener's connections (its holders when they are unknown), the
/// first with its state letter: `nginx[27439] T +1`.
fn owners(listener: &ListenerView) -> String {
    let Some(first) = listener.owners.first() else { return processes(&listener.processes) };
    let state = first.state.map(|letter| format!(" {letter}")).unwrap_or_default();
    let more = listener.owners.len() - 1;
    let more = if more > 0 { format!(" +{more}") } else { String::new() };
    format!("{}[{}]{state}{more}", sanitize(&first.process.command), first.process.pid)
}

fn fill(listener: &ListenerView) -> String {
    if listener.full { format!("{} FULL", units::percent(listener.fill)) } else { units::percent(listener.fill) }
}

fn syn_queue(listener: &ListenerView) -> String {
    match listener.syn_queue {
        None => "-".to_string(),
        Some(count) if listener.syn_shared_by > 1 => format!("{count} (group of {})", listener.syn_shared_by),
        Some(count) => count.to_string(),
    }
}

fn listeners(out: &mut String, view: &Frame) {
    section(out, "Listeners (fullest accept queue first)");
    if view.sample.tcp_listeners.is_none() {
        let _ = writeln!(out, "  TCP listeners unavailable: {}", reason(view, Source::TcpListeners));
    }
    if view.model.listeners.is_empty() {
        let _ = writeln!(out, "  no listening sockets");
        return;
    }
    let heading = |field: &Field<ListenerView>| field.title.to_uppercase();
    let headings = [
        heading(&fields::PROTOCOL),
        "LOCAL ADDRESS".to_string(),
        heading(&fields::PROCESSES),
        heading(&fields::ACCEPT_QUEUE),
        heading(&fields::BACKLOG),
        heading(&fields::FILL),
        heading(&fields::SYN_QUEUE),
        heading(&fields::DROPS),
        heading(&fields::DROPS_PER_SECOND),
    ];
    let aligns = [Align::Left, Align::Left, Align::Left, Align::Right, Align::Right, Align::Left];
    let aligns = aligns.into_iter().chain([Align::Right; 3]);
    let columns: Vec<(&str, Align)> = headings.iter().map(String::as_str).zip(aligns).collect();
    let mut table = Table::new(&columns);
    for listener in &view.model.listeners {
        table.row(vec![
            listener.protocol.name().to_string(),
            sanitize(&listener.endpoint.to_string()).into_owned(),
            owners(listener),
            listener.accept_queue.to_string(),
            listener.backlog.to_string(),
            fill(listener),
            syn_queue(listener),
            units::count(listener.drops),
            units::rate(listener.drops_per_second),
        ]);
    }
    out.push_str(&table.render("  "));
    let _ = writeln!(
        out,
        "\n  RECV-Q: connections waiting for accept(); BACKLOG: its limit, min(listen() backlog, somaxconn\n  \
         at listen time). The queue holds BACKLOG+1, so FILL = RECV-Q/(BACKLOG+1) and FULL (RECV-Q > BACKLOG)\n  \
         means the kernel is dropping new connections for that listener. SYN Q: half-open handshakes (SYN_RECV).\n  \
         DROPS: packets the listener dropped since it was created (ss -tlm 'd'). PROCESS: the processes\n  \
         that take its connections (those polling it), the first with its state letter."
    );
    listener_owners(out, view);
    for group in &view.model.unattributed_syn_recv {
        let _ = writeln!(
            out,
            "  {} half-open requests to {} match no listener (listener closed?)",
            group.requests,
            units::endpoint(group.local_address, group.local_port)
        );
    }
}

/// Every listener's owners with what explains a queue nobody empties: state, CPU over the
/// interval, threads, and their cgroup's throttling and memory pressure.
fn listener_owners(out: &mut String, view: &Frame) {
    let mut table = Table::new(&[
        ("LISTENER", Align::Left),
        ("PROCESS", Align::Left),
        ("STATE", Align::Left),
        ("CPU", Align::Right),
        ("THREADS", Align::Right),
        ("CGROUP", Align::Left),
        ("THROTTLED", Align::Right),
        ("MEM PRESSURE", Align::Right),
    ]);
    for listener in &view.model.listeners {
        for owner in &listener.owners {
            table.row(owner_row(listener, owner));
        }
    }
    if table.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n  Listener owners (the processes that take each listener's connections)");
    out.push_str(&table.render("  "));
    let _ = writeln!(
        out,
        "\n  CPU: share of one CPU over the interval. THROTTLED: time the cgroup was throttled (cpu.stat\n  \
         throttled_usec) as a share of the interval. MEM PRESSURE: memory.pressure some avg10."
    );
}

fn owner_row(listener: &ListenerView, owner: &OwnerView) -> Vec<String> {
    let state = match (owner.state, owner.run_state) {
        (Some(letter), Some(state)) => format!("{letter} {}", state.name()),
        _ => "-".to_string(),
    };
    let cgroup = owner.cgroup.as_ref();
    vec![
        format!("{} {}", listener.protocol.name(), sanitize(&listener.endpoint.to_string())),
        format!("{}[{}]", sanitize(&owner.process.command), owner.process.pid),
        state,
        owner.cpu.map_or_else(|| "-".to_string(), units::percent),
        units::count(owner.threads),
        cgroup.map_or_else(|| "-".to_string(), |cgroup| sanitize(&cgroup.path).into_owned()),
        cgroup.and_then(|cgroup| cgroup.throttled).map_or_else(|| "-".to_string(), units::percent),
        cgroup.and_then(|cgroup| cgroup.memory_some_avg10).map_or_else(|| "-".to_string(), units::percent),
    ]
}

fn overflow(out: &mut String, view: &Frame) {
    section(out, "Listen-overflow counters");
    if !view.model.counters.has_section("TcpExt") {
        let _ = writeln!(out, "  unavailable: {}", reason(view, Source::Netstat));
        return;
    }
    // With history, each rate also over the smoothing window, the window named in the heading.
    let smoothed = view.model.smoothing.map(|seconds| format!("RATE OVER {}", units::interval(seconds)));
    let mut columns = vec![("COUNTER", Align::Left), ("TOTAL", Align::Right), ("RATE", Align::Right)];
    columns.extend(smoothed.as_deref().map(|heading| (heading, Align::Right)));
    columns.push(("MEANING", Align::Left));
    let mut table = Table::new(&columns);
    for counter in &view.model.overflow {
        let mut cells = vec![counter.id.field.to_string(), units::count(counter.total), units::rate(counter.rate)];
        cells.extend(smoothed.as_ref().map(|_| units::rate(counter.smoothed)));
        cells.push(counter.meaning.to_string());
        table.row(cells);
    }
    out.push_str(&table.render("  "));
}

/// Every counter of netstat, snmp and snmp6 that moved during the interval, fastest first, with
/// its increase, its rate and what it means.
fn moved_counters(out: &mut String, view: &Frame) {
    section(out, "Counters that moved (as nstat names them)");
    let Some(seconds) = view.model.interval else {
        let _ = writeln!(out, "  one sample: counters are totals since boot; use --interval to see which ones move");
        return;
    };
    let moved = crate::model::counters::moved(&view.model.counter_rows);
    if moved.is_empty() {
        let _ = writeln!(out, "  no counter moved in {}", units::interval(seconds));
        return;
    }
    let mut table = Table::new(&[
        ("COUNTER", Align::Left),
        ("DELTA", Align::Right),
        ("RATE", Align::Right),
        ("MEANING", Align::Left),
    ]);
    for row in moved {
        table.row(vec![
            sanitize(&row.name()).into_owned(),
            units::count(row.delta),
            units::rate(row.rate),
            row.meaning.unwrap_or_default().to_string(),
        ]);
    }
    out.push_str(&table.render("  "));
}

fn tcp_states(out: &mut String, view: &Frame) {
    section(out, "TCP states");
    let Some(states) = view.model.tcp_states else {
        let _ = writeln!(out, "  unavailable: {}", reason(view, Source::TcpStates));
        return;
    };
    let mut table = Table::new(&[("STATE", Align::Left), ("SOCKETS", Align::Right)]);
    for state in TCP_STATES {
        table.row(vec![state.name().to_string(), states.get(state).to_string()]);
    }
    table.row(vec!["total".to_string(), states.total().to_string()]);
    out.push_str(&table.render("  "));
}

fn ports(out: &mut String, view: &Frame) {
    section(out, "Ephemeral ports");
    let Some(ports) = &view.model.ports else {
        let _ = writeln!(
            out,
            "  unavailable: {}",
            view.sample.unavailable_reason(&Source::TcpStates).unwrap_or("port range unknown")
        );
        return;
    };
    let listening = match ports.listening_in_range.as_slice() {
        [] => String::new(),
        list => format!(
            " ({})",
            list.iter().take(8).map(u16::to_string).collect::<Vec<_>>().join(", ")
                + if list.len() > 8 { ", ..." } else { "" }
        ),
    };
    let _ = writeln!(
        out,
        "  Range     {}-{}: {} ports, {} reserved, {} held by listeners{}, {} usable per destination",
        ports.range.0,
        ports.range.1,
        ports.range_size,
        ports.reserved_in_range,
        ports.listening_in_range.len(),
        listening,
        ports.usable
    );
    let headline = &ports.headline;
    let _ = writeln!(
        out,
        "  Fullest   {} of the usable range used toward one destination ({}){}",
        units::percent(headline.fullest_share),
        units::plural(headline.fullest_sockets, "socket"),
        level_note(headline.level)
    );
    let _ = writeln!(
        out,
        "  In use    {} on {} ({} of the usable range, reused across destinations), {}, {}",
        units::plural(ports.tcp_sockets, "TCP socket"),
        units::plural(u64::from(ports.tcp_distinct_ports), "distinct port"),
        units::percent(headline.distinct_share),
        units::plural(ports.udp_sockets, "UDP socket"),
        units::plural(ports.destinations, "destination")
    );
    if ports.by_destination.is_empty() {
        return;
    }
    let mut table = Table::new(&[
        ("FROM", Align::Left),
        ("TO", Align::Left),
        ("SOCKETS", Align::Right),
        ("TIME_WAIT", Align::Right),
        ("HEADROOM", Align::Right),
        ("USED", Align::Right),
    ]);
    for destination in ports.by_destination.iter().take(20) {
        table.row(vec![
            destination.key.local_address.to_string(),
            destination.key.remote().to_string(),
            destination.sockets.to_string(),
            destination.time_wait.to_string(),
            destination.headroom.to_string(),
            units::percent(destination.use_ratio),
        ]);
    }
    let _ = writeln!(out, "\n  Busiest destinations (each needs a distinct local port per connection):");
    out.push_str(&table.render("  "));
    if ports.by_destination.len() > 20 || ports.destinations > ports.by_destination.len() as u64 {
        let _ = writeln!(out, "  ... {} destinations in all", ports.destinations);
    }
}

fn interfaces(out: &mut String, view: &Frame) {
    section(out, "Interfaces");
    if view.sample.interfaces.is_none() {
        let _ = writeln!(out, "  unavailable: {}", reason(view, Source::Interfaces));
        return;
    }
    let rates = view.model.interval.is_some();
    let mut table = Table::new(&[
        ("NAME", Align::Left),
        ("STATE", Align::Left),
        ("MTU", Align::Right),
        ("KIND", Align::Left),
        ("MASTER", Align::Left),
        ("LINK / PEER", Align::Left),
        (if rates { "RX DROP/S" } else { "RX DROPPED" }, Align::Right),
        (if rates { "TX DROP/S" } else { "TX DROPPED" }, Align::Right),
        (if rates { "RX ERR/S" } else { "RX ERRORS" }, Align::Right),
        (if rates { "TX ERR/S" } else { "TX ERRORS" }, Align::Right),
    ]);
    for item in &view.model.interfaces {
        let interface = &item.interface;
        let stats = interface.stats;
        let numbers: [String; 4] = match (rates, item.rates) {
            (true, Some(r)) => [
                units::rate(r.rx_dropped),
                units::rate(r.tx_dropped),
                units::rate(r.rx_errors),
                units::rate(r.tx_errors),
            ],
            (true, None) => ["-".into(), "-".into(), "-".into(), "-".into()],
            (false, _) => [
                units::count(stats.map(|s| s.rx_dropped)),
                units::count(stats.map(|s| s.tx_dropped)),
                units::count(stats.map(|s| s.rx_errors)),
                units::count(stats.map(|s| s.tx_errors)),
            ],
        };
        let [rx_drop, tx_drop, rx_err, tx_err] = numbers;
        table.row(vec![
            sanitize(&interface.name).into_owned(),
            interface.oper_state.clone(),
            units::count(interface.mtu),
            interface.kind.as_deref().map_or_else(|| "-".to_string(), |kind| sanitize(kind).into_owned()),
            item.master_name.as_deref().map_or_else(|| "-".to_string(), |name| sanitize(name).into_owned()),
            link_text(item),
            rx_drop,
            tx_drop,
            rx_err,
            tx_err,
        ]);
    }
    out.push_str(&table.render("  "));
}

/// The lower device or veth peer: `ev3b0 netnsid 0 MTU 1500`; `-` when there is none. The
/// dashboard's interface details show the same text.
pub fn link_text(item: &crate::model::InterfaceView) -> String {
    let interface = &item.interface;
    let name = match (&item.link_name, interface.link) {
        (Some(name), _) => sanitize(name).into_owned(),
        (None, Some(index)) => format!("if{index}"),
        (None, None) => return "-".to_string(),
    };
    let netnsid = interface.link_netnsid.map(|id| format!(" netnsid {id}")).unwrap_or_default();
    let mtu = interface.peer.as_ref().and_then(|peer| peer.mtu).map(|mtu| format!(" MTU {mtu}")).unwrap_or_default();
    format!("{name}{netnsid}{mtu}")
}

fn settings(out: &mut String, view: &Frame) {
    section(out, "Kernel settings");
    if view.sample.sysctls.is_none() {
        let _ = writeln!(out, "  unavailable: {}", reason(view, Source::Sysctls));
        return;
    }
    let mut group = None;
    let mut table = Table::new(&[
        ("SETTING", Align::Left),
        ("VALUE", Align::Left),
        ("DEFAULT", Align::Left),
        ("BOUNDS", Align::Left),
    ]);
    for item in view.model.settings.iter().filter(|item| item.value.is_some()) {
        if group != Some(item.setting.group) {
            group = Some(item.setting.group);
            table.row(vec![format!("[{}]", item.setting.group.title())]);
        }
        table.row(vec![
            item.setting.name.to_string(),
            item.shown().unwrap_or_default(),
            item.setting.default.to_string(),
            item.setting.bounds.to_string(),
        ]);
    }
    out.push_str(&table.render("  "));
    let host_wide: Vec<&str> = view
        .model
        .settings
        .iter()
        .filter(|item| item.missing == Some(crate::model::settings::Missing::HostWide))
        .map(|item| item.setting.name)
        .collect();
    if !host_wide.is_empty() {
        let _ = writeln!(
            out,
            "  host-wide, not readable from this namespace (root or CAP_SYS_ADMIN reads them in the host's): {}",
            host_wide.join(", ")
        );
    }
    for unreadable in &view.sample.unavailable {
        if let Source::Sysctl(name) = &unreadable.source {
            let _ = writeln!(out, "  {name} could not be read: {}", unreadable.reason);
        }
    }
}

fn softnet(out: &mut String, view: &Frame) {
    section(out, "Softnet (per CPU input processing)");
    if view.sample.softnet.is_none() {
        let _ = writeln!(out, "  unavailable: {}", reason(view, Source::Softnet));
        return;
    }
    let rates = view.model.interval.is_some();
    let mut table = Table::new(&[
        ("CPU", Align::Right),
        ("PROCESSED", Align::Right),
        ("DROPPED", Align::Right),
        ("SQUEEZED", Align::Right),
        ("BACKLOG", Align::Right),
        ("DROPPED/S", Align::Right),
        ("SQUEEZED/S", Align::Right),
    ]);
    for cpu in &view.model.softnet {
        table.row(vec![
            cpu.cpu.to_string(),
            units::count(cpu.processed),
            units::count(cpu.dropped),
            units::count(cpu.time_squeeze),
            units::count(cpu.backlog_len),
            if rates { units::rate(cpu.dropped_rate) } else { "-".into() },
            if rates { units::rate(cpu.squeezed_rate) } else { "-".into() },
        ]);
    }
    out.push_str(&table.render("  "));
    let _ = writeln!(
        out,
        "  DROPPED: input backlog (net.core.netdev_max_backlog) full; SQUEEZED: softirq out of budget or time."
    );
}

fn udp(out: &mut String, view: &Frame) {
    section(out, "UDP sockets (fullest receive queue first)");
    if view.sample.udp_sockets.is_none() {
        let _ = writeln!(out, "  unavailable: {}", reason(view, Source::Udp));
        return;
    }
    if view.model.udp.is_empty() {
        let _ = writeln!(out, "  no UDP sockets");
        return;
    }
    let mut table = Table::new(&[
        ("LOCAL ADDRESS", Align::Left),
        ("PEER", Align::Left),
        ("PROCESS", Align::Left),
        ("RECV-Q", Align::Right),
        ("SEND-Q", Align::Right),
        ("RCVBUF", Align::Right),
        ("DROPS", Align::Right),
        ("DROPS/S", Align::Right),
    ]);
    for item in &view.model.udp {
        let socket = &item.socket;
        table.row(vec![
            units::endpoint(socket.local_address, socket.local_port),
            if socket.connected { units::endpoint(socket.remote_address, socket.remote_port) } else { "*".to_string() },
            processes(&item.processes),
            socket.receive_queue.to_string(),
            socket.send_queue.to_string(),
            units::count(socket.rcvbuf),
            units::count(socket.drops),
            units::rate(item.drops_per_second),
        ]);
    }
    out.push_str(&table.render("  "));
}

fn unavailable(out: &mut String, view: &Frame) {
    let sample = &view.sample;
    let problems: Vec<_> = sample.unavailable.iter().filter(|u| !matches!(u.source, Source::Sysctl(_))).collect();
    let diagnostics = &sample.diagnostics;
    let denied = sample.processes.as_ref().is_some_and(|p| p.denied > 0);
    let odd = diagnostics.malformed_messages > 0 || diagnostics.skipped_fields > 0 || diagnostics.interrupted_dumps > 0;
    if problems.is_empty() && sample.skipped.is_empty() && !denied && !odd {
        return;
    }
    section(out, "Not collected");
    if diagnostics.malformed_messages > 0 {
        let _ = writeln!(
            out,
            "  {} netlink messages could not be decoded and were skipped",
            diagnostics.malformed_messages
        );
    }
    if diagnostics.interrupted_dumps > 0 {
        let _ = writeln!(
            out,
            "  {} socket or link dumps were interrupted by concurrent changes (a socket may be missing or twice)",
            diagnostics.interrupted_dumps
        );
    }
    if diagnostics.skipped_fields > 0 {
        let _ = writeln!(out, "  {} malformed fields of /proc/net files were skipped", diagnostics.skipped_fields);
    }
    for problem in problems {
        let _ = writeln!(out, "  {}: {}", problem.source, problem.reason);
    }
    for skipped in &sample.skipped {
        let _ = writeln!(out, "  {skipped}: skipped on request");
    }
    if let Some(table) = sample.processes.as_ref().filter(|p| p.denied > 0) {
        let _ = writeln!(
            out,
            "  processes: {} processes could not be inspected (run as root to name every socket owner)",
            table.denied
        );
    }
}
