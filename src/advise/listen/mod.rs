//! Checks of the listen and accept path, one module per stage: the accept queue and its drops
//! ([`queue`]), backlogs against somaxconn ([`backlog`]), and the SYN queue, syncookies and
//! handshake settings ([`syn`]), and what the eBPF listen events tell about a dropping listener
//! ([`flood_or_slow`]). When a queue is full or overflowing, [`owner`] adds what its
//! owners are doing. Kernel facts behind them: `shared/reference/kernel-queues.md`.

mod backlog;
mod flood_or_slow;
mod owner;
mod queue;
mod syn;

pub use backlog::{BACKLOG_BELOW_SOMAXCONN, BACKLOG_CLAMPED_BY_SOMAXCONN, SOMAXCONN_LOW};
pub use flood_or_slow::LISTEN_FLOOD_OR_SLOW;
pub use queue::{ACCEPT_QUEUE_FULL, LISTEN_OVERFLOW_RATE, LISTENER_DROPS};
pub use syn::{HANDSHAKE_SYSCTLS, SYN_QUEUE_PRESSURE, SYNCOOKIES_DISABLED};

use super::{Context, Report, Subject};
use crate::model::ListenerView;
use crate::sample::counters::LISTEN_OVERFLOWS;

/// The subject of a listener finding, named by the processes that take its connections (each
/// member of an `SO_REUSEPORT` group its own worker), else by every holder.
pub(crate) fn listener_subject(listener: &ListenerView) -> Subject {
    Subject::Listener {
        key: listener.key,
        protocol: listener.protocol,
        endpoint: listener.endpoint.clone(),
        processes: listener.accepting(),
    }
}

/// The subject of a per-namespace finding.
pub(crate) fn netns_subject(context: &Context<'_>) -> Subject {
    Subject::Netns { inode: context.sample.netns.as_ref().map(|netns| netns.inode) }
}

fn who(listener: &ListenerView) -> String {
    match listener.accepting().first() {
        Some(process) => format!("{} on {}", process.command, listener.endpoint),
        None => format!("the listener on {}", listener.endpoint),
    }
}

/// Whether a listener is dropping connections because its accept queue overflows: full now, or
/// its drop counter moved while the namespace counted overflows.
fn in_trouble(context: &Context<'_>, listener: &ListenerView) -> bool {
    let thresholds = &context.rules.thresholds;
    let overflowed = context.model.counters.delta(LISTEN_OVERFLOWS).is_some_and(|delta| delta > 0);
    listener.full
        || listener.fill >= thresholds.accept_queue_fill
        || (overflowed && listener.drops_delta.is_some_and(|delta| delta > 0))
}

/// Whether a listener showed any queueing: connections or requests waiting now, drops in the
/// interval, or a non-zero fill in the recent history.
fn busy(context: &Context<'_>, listener: &ListenerView) -> bool {
    listener.accept_queue > 0
        || listener.syn_queue.is_some_and(|synq| synq > 0)
        || listener.drops_delta.is_some_and(|delta| delta > 0)
        || context.history.listener_fill(listener.key).iter().flatten().any(|fill| *fill > 0.0)
}

fn tcp_listeners_unavailable(context: &Context<'_>, report: &mut Report, id: &'static str) -> bool {
    if context.sample.tcp_listeners.is_some() {
        return false;
    }
    let reason = context.sample.unavailable_reason(&crate::sample::Source::TcpListeners).unwrap_or("not collected");
    report.not_evaluated(id, format!("TCP listeners unavailable: {reason}"));
    true
}

fn needs_interval(context: &Context<'_>, report: &mut Report, id: &'static str) -> bool {
    if context.model.interval.is_some() {
        return false;
    }
    report.not_evaluated(id, "needs two samples (use --interval)");
    true
}

#[cfg(test)]
mod tests;
