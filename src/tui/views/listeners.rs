//! Every TCP and UNIX listener with all its numbers, sortable, and a detail pane: owners with
//! their state, CPU and cgroup, the SYN_RECV requests the model attributed to it, fill and drop
//! history, socket memory, `tcp_info` and the findings about it.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{
    InNamespace, address_cell, draw_pane, finding_line, in_scope, level_style, netns_cell, netns_fields, owners_cell,
    owners_label, process_fields, title,
};
use crate::format::{self as units, sanitize};
use crate::model::fields;
use crate::model::listeners::fullest_first;
use crate::model::{EventStatus, ListenerActivity, ListenerView, OwnerView, Protocol};
use crate::sample::listen_events::DropReason;
use crate::sample::{Source, TcpState};
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::filter::Record;
use crate::tui::table::{Row, TableState, ordered};
use crate::tui::widgets::{CellText, Column, Cut, DataTable, Drawn, bar, field, sparkline};

/// The columns of the Listeners table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerColumn {
    /// The network namespace (when every namespace is shown).
    Netns,
    /// `!` full, `▲` dropping.
    Marker,
    /// `tcp` or `unix`.
    Protocol,
    /// Bound address or UNIX path.
    Address,
    /// Bound port.
    Port,
    /// The processes taking its connections, with their state letters.
    Process,
    /// Accept queue.
    RecvQ,
    /// Its limit.
    Backlog,
    /// Fill bar and percentage.
    Fill,
    /// Half-open requests.
    SynQueue,
    /// Of those, SYN-ACK retransmitted.
    SynRetransmitted,
    /// Drops since creation.
    Drops,
    /// Drops per second.
    DropsPerSecond,
    /// Drops per second over the smoothing window the title names.
    DropsSmoothed,
    /// Owner uid.
    Uid,
    /// Socket inode.
    Inode,
    /// Fill over the history.
    FillHistory,
    /// Accept-wait p99 over the interval (eBPF listen events).
    AcceptWait,
    /// Drops per second by reason: SYN at a full accept queue, SYN at a full SYN queue, final
    /// ACK at a full accept queue (eBPF listen events).
    EventDrops,
}

use ListenerColumn as C;

/// The columns; every heading of an exported field comes from the model's field table.
const COLUMNS: [Column<C>; 16] = [
    Column::text(C::Marker, "!", 1, 0),
    Column::text(C::Protocol, fields::PROTOCOL.title, 5, 3),
    Column::name(C::Address, fields::LOCAL_ADDRESS.title, 12),
    Column::number(C::Port, fields::LOCAL_PORT.title, 5, 0),
    Column::text(C::Process, fields::PROCESSES.title, 14, 1),
    Column::number(C::RecvQ, fields::ACCEPT_QUEUE.title, 7, 0),
    Column::number(C::Backlog, fields::BACKLOG.title, 7, 0),
    Column::text(C::Fill, fields::FILL.title, 12, 2),
    Column::number(C::SynQueue, fields::SYN_QUEUE.title, 6, 3),
    Column::number(C::SynRetransmitted, fields::SYN_RETRANSMITTED.title, 6, 5),
    Column::number(C::Drops, fields::DROPS.title, 9, 4),
    Column::number(C::DropsPerSecond, fields::DROPS_PER_SECOND.title, 8, 1),
    Column::number(C::DropsSmoothed, "avg/s", 8, 3),
    Column::number(C::Uid, fields::UID.title, 6, 6),
    Column::number(C::Inode, fields::INODE.title, 10, 7),
    Column::text(C::FillHistory, "fill history", 20, 5),
];

/// The listen-event columns, after the drop counter's, shown while the eBPF source runs.
const EVENT_COLUMNS: [Column<C>; 2] =
    [Column::number(C::AcceptWait, "acc-wait p99", 7, 2), Column::number(C::EventDrops, "drop/s syn/q/ack", 7, 4)];

/// The namespace column, first when every namespace is shown.
const NETNS_COLUMN: Column<C> = Column::text(C::Netns, "netns", 20, 1);

/// The columns of this table: with the namespace column when every namespace is shown, and
/// the listen-event columns after `avg/s` while the source runs.
pub(super) fn columns_for(ctx: &Ctx<'_>) -> Vec<Column<C>> {
    let netns = ctx.all.then_some(NETNS_COLUMN);
    let events = events_active(ctx).then_some(EVENT_COLUMNS).into_iter().flatten();
    let (before, after) = COLUMNS.split_at(13);
    netns.into_iter().chain(before.iter().copied()).chain(events).chain(after.iter().copied()).collect()
}

/// Whether the listen-event source runs in the namespace on view.
fn events_active(ctx: &Ctx<'_>) -> bool {
    ctx.model.listen_events.status.is_active()
}

/// The sorts `s` cycles through; the first is the model's order (fullest first).
const SORTABLE: [C; 7] = [C::Fill, C::RecvQ, C::DropsPerSecond, C::Drops, C::SynQueue, C::Port, C::Process];

impl Row for ListenerView {
    type Column = ListenerColumn;

    fn key(&self) -> u64 {
        self.cookie()
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        let rate = |l: &ListenerView| l.drops_per_second.unwrap_or(-1.0);
        match column {
            C::RecvQ => other.accept_queue.cmp(&self.accept_queue),
            C::DropsPerSecond => rate(other).total_cmp(&rate(self)),
            C::Drops => other.drops.cmp(&self.drops),
            C::SynQueue => other.syn_queue.cmp(&self.syn_queue),
            C::Port => self.endpoint.cmp(&other.endpoint),
            C::Process => owner_key(self).cmp(&owner_key(other)),
            // The model's order; the other columns are not offered as sorts.
            C::Fill | C::Marker | C::Protocol | C::Address | C::Backlog => fullest_first(self, other),
            C::SynRetransmitted | C::Uid | C::Inode | C::FillHistory | C::Netns | C::DropsSmoothed => {
                fullest_first(self, other)
            }
            C::AcceptWait | C::EventDrops => fullest_first(self, other),
        }
    }

    fn record(&self) -> Record {
        Record {
            local_address: Some(self.endpoint.address_text()),
            local_port: self.endpoint.port(),
            state: Some(TcpState::Listen.name()),
            processes: process_fields(&self.processes),
            text: vec![self.protocol.name().to_string(), self.family_name().to_string()],
            ..Record::default()
        }
    }
}

impl Row for InNamespace<'_, ListenerView> {
    type Column = ListenerColumn;

    fn key(&self) -> u64 {
        self.row.key()
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        self.row.compare(other.row, column)
    }

    fn record(&self) -> Record {
        Record { netns: netns_fields(&self.view.netns), ..self.row.record() }
    }
}

/// The listeners of every namespace in scope, fullest first across them.
pub(super) fn listeners_in_scope<'a>(ctx: &Ctx<'a>) -> Vec<InNamespace<'a, ListenerView>> {
    let mut all = in_scope(ctx, |frame| &frame.model.listeners);
    if ctx.all {
        all.sort_by(|a, b| fullest_first(a.row, b.row));
    }
    all
}

/// The Listeners tab.
pub struct Listeners {
    table: TableState<C>,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners { table: TableState::new(&SORTABLE) }
    }
}

impl Tab for Listeners {
    tab_table!(TabId::Listeners);

    fn merges_namespaces(&self) -> bool {
        true
    }

    fn wants_connections(&self) -> bool {
        // The detail pane names the peers of half-open requests, from every socket.
        self.table.detail
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        let all = listeners_in_scope(ctx);
        let rows = ordered(&all, ctx.filter, self.table.sort);
        let keys: Vec<u64> = rows.iter().map(|index| all[*index].key()).collect();
        let (table_area, pane) = super::split_detail(area, self.table.detail);
        let spark_width = usize::from(COLUMNS[COLUMNS.len() - 1].width);
        let columns = columns_for(ctx);
        let table = DataTable {
            title: smoothing_title(events_title(table_title("Listeners", rows.len(), all.len(), ctx), ctx), ctx),
            columns: &columns,
            sorts: &SORTABLE,
            sort: self.table.sort,
            keys: &keys,
            focused: true,
            empty: empty_text(all.is_empty()),
        };
        let clicks = table.draw(frame, table_area, &mut self.table.nav, ctx.theme, |row| {
            let item = &all[rows[row]];
            let listener = item.row;
            let (marker, _, style) = fill_cells(listener, ctx, 0);
            let fills = ctx.history_of(item.view.netns.inode).listener_fill(listener.key);
            let history = sparkline(&fills, spark_width, Some(1.0));
            let netns = ctx.all.then(|| CellText::name(netns_cell(&item.view.netns)));
            let activity = item.frame.model.listen_events.listener(&listener.key);
            let events = events_active(ctx).then(|| event_cells(activity)).into_iter().flatten();
            let cells = netns.into_iter().chain([
                marker.into(),
                listener.protocol.name().into(),
                address_cell(&listener.endpoint),
                units::count(listener.endpoint.port()).into(),
                owner_cell(listener),
                listener.accept_queue.to_string().into(),
                listener.backlog.to_string().into(),
                Span::styled(
                    format!("{} {:>4}", bar(listener.fill, 6), units::percent(listener.fill)),
                    level_style(listener.level, ctx.theme),
                )
                .into(),
                units::count(listener.syn_queue).into(),
                units::count(listener.syn_retransmitted).into(),
                units::count(listener.drops).into(),
                units::rate(listener.drops_per_second).into(),
                units::rate(listener.drops_smoothed).into(),
            ]);
            let cells = cells.chain(events).chain([
                units::count(listener.uid).into(),
                listener.inode.to_string().into(),
                Span::styled(history, ctx.theme.chart).into(),
            ]);
            (cells.collect(), style)
        });
        let selected = self.table.nav.key.and_then(|key| all.iter().find(|item| item.key() == key));
        if let (Some(pane), Some(item)) = (pane, selected) {
            let width = usize::from(pane.width.saturating_sub(22));
            let listener = item.row;
            let title = format!("{} {}", listener.protocol.name(), sanitize(&listener.endpoint.to_string()));
            let own = ctx.for_namespace(item.view, item.frame);
            draw_pane(frame, pane, title, details(listener, &own, width), ctx.theme);
        }
        Some(clicks)
    }
}

/// The marker column, the fill cell (`bar 9/8 FULL`) and the row style of a listener: full
/// queues in the critical style with `!`, queues whose drop counter just moved with `▲`.
pub(super) fn fill_cells(
    listener: &ListenerView,
    ctx: &Ctx<'_>,
    width: usize,
) -> (Span<'static>, Span<'static>, Style) {
    let style = level_style(listener.level, ctx.theme);
    let dropping = listener.dropping();
    let marker = if listener.full {
        "!"
    } else if dropping {
        "▲"
    } else {
        " "
    };
    let label = format!(
        "{} {}/{}{}",
        bar(listener.fill, width),
        listener.accept_queue,
        listener.backlog,
        if listener.full { " FULL" } else { "" }
    );
    let row_style = if listener.full || dropping { ctx.theme.critical } else { Style::new() };
    (Span::styled(marker, row_style), Span::styled(label, style), row_style)
}

/// What the owner column sorts by: the first owner's name and PID, or the holders'.
fn owner_key(listener: &ListenerView) -> (String, u32) {
    match (listener.owners.first(), listener.processes.first()) {
        (Some(owner), _) => (owner.process.command.clone(), owner.process.pid),
        (None, Some(process)) => (process.command.clone(), process.pid),
        (None, None) => (String::new(), 0),
    }
}

/// The owner column of a listener: the first process that takes its connections, with its
/// state letter (`nginx[27439] T`), and `+N` for the others; the name shortens with `…`, the
/// PID and the state never do. Without a known owner, the holders as [`owners_cell`] shows them.
pub(super) fn owner_cell(listener: &ListenerView) -> CellText<'static> {
    let Some(first) = listener.owners.first() else {
        return owners_cell(&listener.processes, listener.owners_resolving);
    };
    let state = first.state.map(|letter| format!(" {letter}")).unwrap_or_default();
    let more = listener.owners.len() - 1;
    let more = if more > 0 { format!(" +{more}") } else { String::new() };
    CellText::name(sanitize(&first.process.command).into_owned())
        .then(Span::raw(format!("[{}]{state}{more}", first.process.pid)), Cut::Never)
}

/// An owner's line of the detail pane: `T stopped (SIGSTOP), CPU 0%, 4 threads, polls it`.
fn owner_line(owner: &OwnerView) -> String {
    let mut parts = vec![format!("{}[{}]", sanitize(&owner.process.command), owner.process.pid)];
    if let (Some(letter), Some(state)) = (owner.state, owner.run_state) {
        parts.push(format!("{letter} {}", state.name()));
    }
    if let Some(cpu) = owner.cpu {
        parts.push(format!("CPU {}", units::percent(cpu)));
    }
    if let Some(threads) = owner.threads {
        parts.push(format!("{threads} threads"));
    }
    if owner.polls {
        parts.push("polls it".to_string());
    }
    parts.join(", ")
}

/// An owner's cgroup line: `/web  throttled 40% (18 of 20 periods), cpu.max 0.10 CPU, memory
/// some 35% full 5% (avg10)`.
fn cgroup_line(owner: &OwnerView) -> Option<String> {
    let cgroup = owner.cgroup.as_ref()?;
    let mut parts = Vec::new();
    if let Some(share) = cgroup.throttled {
        let periods = match (cgroup.throttled_periods, cgroup.periods) {
            (Some(throttled), Some(periods)) => format!(" ({throttled} of {periods} periods)"),
            _ => String::new(),
        };
        parts.push(format!("throttled {}{periods}", units::percent(share)));
    }
    if let Some(limit) = cgroup.cpu_limit {
        parts.push(format!("cpu.max {limit:.2} CPU"));
    }
    if let Some(some) = cgroup.memory_some_avg10 {
        let full = cgroup.memory_full_avg10.map(|full| format!(" full {}", units::percent(full))).unwrap_or_default();
        parts.push(format!("memory some {}{full} (avg10)", units::percent(some)));
    }
    Some(format!("{}  {}", sanitize(&cgroup.path), parts.join(", ")))
}

/// What an empty listener table says: that nothing listens, or that the filter hides everything.
pub(super) fn empty_text(none: bool) -> &'static str {
    if none { "no listening sockets" } else { "no listener matches the filter" }
}

/// The title with the window the `avg/s` column covers.
fn smoothing_title<'a>(mut line: Line<'a>, ctx: &Ctx<'_>) -> Line<'a> {
    if let Some(seconds) = ctx.model.smoothing {
        line.push_span(Span::styled(format!("avg/s over {} ", units::interval(seconds)), ctx.theme.muted));
    }
    line
}

/// The title with the one line that says the listen-event source could not start, and why.
fn events_title<'a>(mut line: Line<'a>, ctx: &Ctx<'_>) -> Line<'a> {
    if let EventStatus::Unavailable { reason } = &ctx.model.listen_events.status {
        line.push_span(Span::styled(format!(" listen events unavailable: {} ", sanitize(reason)), ctx.theme.warning));
    }
    line
}

/// The listen-event cells of a row: accept-wait p99 and drops per second by reason.
fn event_cells(activity: Option<&ListenerActivity>) -> [CellText<'static>; 2] {
    let interval = activity.and_then(|activity| activity.interval.as_ref());
    let p99 = interval.and_then(|interval| interval.accept_wait).map(|waits| units::wait(waits.p99_ns));
    let drops = interval.map(|interval| {
        let rates: Vec<String> = DropReason::ALL
            .iter()
            .map(|reason| compact_rate(interval.drops.get(reason).map_or(0.0, |count| count.per_second)))
            .collect();
        rates.join("/")
    });
    [units::count(p99).into(), units::count(drops).into()]
}

/// A rate without its unit, as short as it reads: `0`, `0.5`, `12`, `1520`.
fn compact_rate(rate: f64) -> String {
    if rate == 0.0 {
        "0".to_string()
    } else if rate < 10.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.0}")
    }
}

/// The table title, with the reason when TCP or UNIX listeners could not be read.
pub(super) fn table_title<'a>(name: &str, shown: usize, total: usize, ctx: &Ctx<'_>) -> Line<'a> {
    let mut line = title(name, shown, total, ctx);
    let sample = ctx.sample;
    let missing = [
        ("TCP", Source::TcpListeners, sample.tcp_listeners.is_none()),
        ("UNIX", Source::UnixListeners, sample.unix_listeners.is_none()),
    ];
    for (what, source, absent) in missing {
        if absent {
            let reason = sample.unavailable_reason(&source).unwrap_or("not collected");
            line.push_span(Span::styled(
                format!(" {what} listeners unavailable: {} ", sanitize(reason)),
                ctx.theme.warning,
            ));
        }
    }
    line
}

fn details<'a>(listener: &ListenerView, ctx: &Ctx<'_>, width: usize) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let mut lines = vec![
        field("processes", owners_label(&listener.processes, listener.owners_resolving), theme),
        field(
            "uid / inode",
            format!("{} / {}  cookie {:#x}", units::count(listener.uid), listener.inode, listener.cookie()),
            theme,
        ),
        field(
            "accept queue",
            format!(
                "{} waiting, backlog {} (holds {}), fill {}{}",
                listener.accept_queue,
                listener.backlog,
                listener.capacity(),
                units::percent(listener.fill),
                if listener.full { " — FULL: new SYNs and final ACKs are dropped" } else { "" }
            ),
            theme,
        ),
        field("fill history", history_line(&ctx.history.listener_fill(listener.key), width, Some(1.0), ctx), theme),
    ];
    // An owner whose state was not read (a recording without it) is in the processes line.
    let owners = listener.owners.iter().filter(|owner| owner.state.is_some()).flat_map(|owner| {
        let cgroup = cgroup_line(owner).map(|line| field("  cgroup", line, theme));
        std::iter::once(field("owner", owner_line(owner), theme)).chain(cgroup)
    });
    lines.splice(1..1, owners);
    if listener.protocol == Protocol::Tcp {
        lines.extend(tcp_details(listener, ctx, width));
        lines.extend(event_details(listener, ctx, width));
    }
    let about = |finding: &&crate::advise::Finding| finding.subject.listener_key() == Some(listener.key);
    lines.extend(ctx.frame.findings.findings.iter().filter(about).map(|finding| finding_line(finding, ctx)));
    lines
}

/// A sparkline of the whole history and the time it covers: `▁▁▂█  last 2m 30s`.
fn history_line(series: &[Option<f64>], width: usize, max: Option<f64>, ctx: &Ctx<'_>) -> String {
    let span = format!("  last {}", units::duration(ctx.history.span_seconds().round() as u64));
    format!("{}{span}", sparkline(series, width.saturating_sub(span.len()), max))
}

fn tcp_details<'a>(listener: &ListenerView, ctx: &Ctx<'_>, width: usize) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let shared = if listener.syn_shared_by > 1 {
        format!(" (shared by {} SO_REUSEPORT sockets)", listener.syn_shared_by)
    } else {
        String::new()
    };
    let mut lines = vec![
        field(
            "SYN queue",
            format!(
                "{} half-open, {} with SYN-ACK retransmitted{shared}",
                units::count(listener.syn_queue),
                units::count(listener.syn_retransmitted)
            ),
            theme,
        ),
        field(
            "drops",
            format!(
                "{} since creation, +{} last interval, {}",
                units::count(listener.drops),
                units::count(listener.drops_delta),
                units::rate(listener.drops_per_second)
            ),
            theme,
        ),
        field("drop history", history_line(&ctx.history.listener_drop_rate(listener.key), width, None, ctx), theme),
    ];
    lines.extend(syn_recv_lines(listener, ctx));
    let raw = ctx.sample.tcp_listeners.iter().flatten().find(|raw| raw.cookie == listener.cookie());
    if let Some(memory) = raw.and_then(|raw| raw.memory.as_ref()) {
        lines.push(field(
            "memory",
            format!(
                "rmem {} of rcvbuf {}, wmem {} of sndbuf {}, drops {}",
                units::bytes(u64::from(memory.rmem_alloc)),
                units::bytes(u64::from(memory.rcvbuf)),
                units::bytes(u64::from(memory.wmem_alloc)),
                units::bytes(u64::from(memory.sndbuf)),
                units::count(memory.drops)
            ),
            theme,
        ));
    }
    if let Some(info) = raw.and_then(|raw| raw.tcp_info.as_ref()) {
        lines.push(field(
            "tcp_info",
            format!(
                "unacked {} (accept queue) sacked {} (backlog) advmss {} options {:#04x} ({} bytes)",
                units::count(info.unacked),
                units::count(info.sacked),
                units::count(info.advmss),
                info.options.unwrap_or(0),
                info.payload_len
            ),
            theme,
        ));
    }
    if let Some(v6only) = listener.v6only {
        lines.push(field(
            "IPV6_V6ONLY",
            if v6only { "yes: IPv4 clients refused" } else { "no: IPv4 clients accepted too" },
            theme,
        ));
    }
    lines
}

/// How many of a listener's latest events its detail pane lists.
const FEED: usize = 8;

/// What the listen-event source saw at this listener: accept-wait percentiles over the interval
/// and the smoothing window, their p99 history, drops by reason, the clients dropped most and
/// the latest drop, SYN-cookie and retransmit events.
fn event_details<'a>(listener: &ListenerView, ctx: &Ctx<'_>, width: usize) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let events = &ctx.model.listen_events;
    match &events.status {
        EventStatus::Active { .. } => {}
        EventStatus::Unavailable { .. } => {
            return vec![field("listen events", crate::render::events::status_line(events), theme)];
        }
        EventStatus::NotStarted => return Vec::new(),
    }
    let Some(activity) = events.listener(&listener.key) else {
        return vec![field("listen events", "none seen at this listener", theme)];
    };
    let Some(interval) = &activity.interval else {
        return vec![field("listen events", "no interval observed yet", theme)];
    };
    let waits = interval.accept_wait.as_ref();
    let mut lines = vec![field(
        "accept wait",
        waits.map_or_else(|| "no connection accepted".to_string(), crate::render::events::wait_text),
        theme,
    )];
    if let (Some(smoothed), Some(seconds)) = (&activity.accept_wait_smoothed, ctx.model.smoothing) {
        let text = format!("{} over {}", crate::render::events::wait_text(smoothed), units::interval(seconds));
        lines.push(field("  smoothed", text, theme));
    }
    let p99: Vec<Option<f64>> =
        ctx.history.listener_wait_p99(listener.key).iter().map(|p99| p99.map(|nanos| nanos as f64)).collect();
    lines.push(field("p99 history", history_line(&p99, width, None, ctx), theme));
    let drops: Vec<String> = DropReason::ALL
        .iter()
        .map(|reason| {
            let count = interval.drops.get(reason).copied().unwrap_or_default();
            format!("{} {} ({})", units::drop_reason_short(*reason), count.delta, units::rate(Some(count.per_second)))
        })
        .collect();
    lines.push(field("event drops", format!("{} — syn, synq predicted; ack observed", drops.join(", ")), theme));
    lines.push(field(
        "handshakes",
        format!(
            "{} accepted, {} SYN cookies, {} SYN-ACK retransmits",
            interval.accepts.delta, interval.syncookies.delta, interval.synack_retransmits.delta
        ),
        theme,
    ));
    let clients: Vec<String> = activity
        .top_dropped_clients
        .iter()
        .take(4)
        .map(|client| format!("{} {}", client.address, units::count(client.interval)))
        .collect();
    if !clients.is_empty() {
        lines.push(field("dropped most", sanitize(&clients.join(", ")).into_owned(), theme));
    }
    let recent: Vec<&crate::sample::listen_events::ListenEvent> = activity.latest.iter().rev().take(FEED).collect();
    for event in recent {
        let age = ctx.sample.boottime_ns.saturating_sub(event.boottime_ns) as f64 / 1e9;
        let text = format!("{:>5} ago  {}", units::interval(age), crate::render::events::event_text(event));
        lines.push(field("  event", sanitize(&text).into_owned(), theme));
    }
    lines
}

/// The SYN_RECV requests the model attributed to this listener, per local address, and their
/// peers when every socket is being collected.
fn syn_recv_lines<'a>(listener: &ListenerView, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let mut lines: Vec<Line> = listener
        .syn_recv
        .iter()
        .map(|group| {
            field(
                "  SYN_RECV to",
                format!(
                    "{}  {} requests, {} retransmitted",
                    units::endpoint(group.local_address, group.local_port),
                    group.requests,
                    group.retransmitted
                ),
                ctx.theme,
            )
        })
        .collect();
    let peers: Vec<String> = listener.syn_recv_peers.iter().map(ToString::to_string).collect();
    if !peers.is_empty() {
        lines.push(field("  from peers", peers.join("  "), ctx.theme));
    }
    lines
}
