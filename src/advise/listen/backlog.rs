//! Backlogs against somaxconn: listeners whose backlog was clamped, or below what somaxconn
//! would allow, and a somaxconn too low for the namespace's listeners.

use super::{busy, in_trouble, listener_subject, tcp_listeners_unavailable};
use crate::advise::{Check, Context, Evidence, Finding, Report, Severity, Subject, kernel_version};
use crate::format as units;
use crate::model::{ListenerView, Protocol};

/// Well-known backlog values and who passes them.
fn backlog_origin(backlog: u32) -> Option<&'static str> {
    Some(match backlog {
        511 => "511 is the default of nginx, Redis and Node.js",
        128 => "128 is a common library default, and the somaxconn of kernels before 5.4",
        4096 => "4096 is the somaxconn default since Linux 5.4",
        100 => "100 is a common library default",
        50 => "50 is Java's ServerSocket default",
        5 => "5 is the default of Python's socketserver",
        _ => return None,
    })
}

/// `backlog-clamped-by-somaxconn`.
pub const BACKLOG_CLAMPED_BY_SOMAXCONN: Check = Check {
    id: "backlog-clamped-by-somaxconn",
    family: "listen",
    title: "a listener asked for a backlog the kernel capped at somaxconn",
    run: backlog_clamped,
};

/// somaxconn and the TCP listeners, or `None` after recording why check `id` cannot run.
fn somaxconn_and_listeners<'a>(
    context: &'a Context<'_>,
    report: &mut Report,
    id: &'static str,
) -> Option<(i64, impl Iterator<Item = &'a ListenerView> + use<'a>)> {
    if tcp_listeners_unavailable(context, report, id) {
        return None;
    }
    let Some(somaxconn) = context.sysctl("net.core.somaxconn") else {
        report.not_evaluated(id, "net.core.somaxconn unavailable");
        return None;
    };
    Some((somaxconn, context.model.listeners.iter().filter(|l| l.protocol == Protocol::Tcp)))
}

fn backlog_clamped(context: &Context<'_>, report: &mut Report) {
    let id = BACKLOG_CLAMPED_BY_SOMAXCONN.id;
    let Some((somaxconn, listeners)) = somaxconn_and_listeners(context, report, id) else { return };
    for listener in listeners {
        let backlog = i64::from(listener.backlog);
        let (severity, summary, explanation) = if backlog > somaxconn {
            (
                Severity::Info,
                format!("backlog {backlog} is above today's somaxconn {somaxconn}"),
                format!(
                    "This socket listened before net.core.somaxconn was lowered to {somaxconn}: the limit is \
                     applied only when listen() runs. After a restart it will get at most {somaxconn}."
                ),
            )
        } else if backlog == somaxconn && (in_trouble(context, listener) || busy(context, listener)) {
            let trouble = in_trouble(context, listener);
            (
                if trouble { Severity::Warning } else { Severity::Info },
                format!(
                    "backlog {backlog} is capped by net.core.somaxconn{}",
                    if trouble { " while the queue overflows" } else { "" }
                ),
                format!(
                    "listen() silently truncates the backlog to net.core.somaxconn ({somaxconn} in this network \
                     namespace). This service asked for at least that much — possibly -1, \"as large as allowed\" — \
                     so raising somaxconn will enlarge both its SYN queue and its accept queue, after the service \
                     calls listen() again."
                ),
            )
        } else {
            continue;
        };
        report.add(Finding {
            id,
            severity,
            subject: listener_subject(listener),
            summary,
            explanation,
            evidence: vec![
                Evidence::number("backlog", backlog.to_string(), backlog as f64),
                Evidence::number("net.core.somaxconn", somaxconn.to_string(), somaxconn as f64),
                Evidence::number("fill", units::percent(listener.fill), listener.fill),
            ],
            remedy: format!(
                "sysctl -w net.core.somaxconn={} and persist it in /etc/sysctl.d/*.conf, then restart the service: \
                 existing listeners keep their old limit. In Kubernetes set it per pod (securityContext.sysctls); \
                 pods do not inherit the host value.",
                somaxconn.max(1).saturating_mul(2).max(4096)
            ),
            settings: vec!["net.core.somaxconn"],
        });
    }
}

/// `backlog-below-somaxconn`.
pub const BACKLOG_BELOW_SOMAXCONN: Check = Check {
    id: "backlog-below-somaxconn",
    family: "listen",
    title: "a busy listener asked for less than somaxconn allows",
    run: backlog_below,
};

fn backlog_below(context: &Context<'_>, report: &mut Report) {
    let id = BACKLOG_BELOW_SOMAXCONN.id;
    let Some((somaxconn, listeners)) = somaxconn_and_listeners(context, report, id) else { return };
    for listener in listeners {
        let backlog = i64::from(listener.backlog);
        // Every idle daemon with a small backlog would qualify; only listeners that queue are named.
        if backlog >= somaxconn || !busy(context, listener) {
            continue;
        }
        let trouble = in_trouble(context, listener);
        let mut evidence = vec![
            Evidence::number("backlog", backlog.to_string(), backlog as f64),
            Evidence::number("net.core.somaxconn", somaxconn.to_string(), somaxconn as f64),
            Evidence::number("fill", units::percent(listener.fill), listener.fill),
        ];
        if let Some(origin) = backlog_origin(listener.backlog) {
            evidence.push(Evidence::fact("likely origin", origin));
        }
        report.add(Finding {
            id,
            severity: if trouble { Severity::Warning } else { Severity::Info },
            subject: listener_subject(listener),
            summary: format!(
                "backlog {backlog} chosen by the application, below somaxconn {somaxconn}{}",
                if trouble { ", and the queue overflows" } else { "" }
            ),
            explanation: format!(
                "somaxconn is {somaxconn} but this listener's queue is only {backlog} because the application \
                 passed a smaller backlog to listen() (or listened before somaxconn was raised). Raising \
                 somaxconn further will not help this listener."
            ),
            evidence,
            remedy: "Raise the application's own backlog and restart it: nginx `listen ... backlog=N`, Redis \
                     `tcp-backlog`, gunicorn `--backlog`, Tomcat `acceptCount`, Java `new ServerSocket(port, backlog)`, \
                     Python socketserver `request_queue_size`, systemd socket units `Backlog=`. If it listened before \
                     a sysctl change, a restart alone is enough."
                .to_string(),
            settings: Vec::new(),
        });
    }
}

/// `somaxconn-low`.
pub const SOMAXCONN_LOW: Check = Check {
    id: "somaxconn-low",
    family: "listen",
    title: "net.core.somaxconn is low (the legacy 128 or similar)",
    run: somaxconn_low,
};

fn somaxconn_low(context: &Context<'_>, report: &mut Report) {
    let id = SOMAXCONN_LOW.id;
    let model = context.model;
    let Some(somaxconn) = context.sysctl("net.core.somaxconn") else {
        report.not_evaluated(id, "net.core.somaxconn unavailable");
        return;
    };
    let listeners: Vec<&ListenerView> = model.listeners.iter().filter(|l| l.protocol == Protocol::Tcp).collect();
    let modern = kernel_version(context.sample).is_some_and(|version| version >= (5, 4));
    let low = somaxconn < context.rules.thresholds.somaxconn_min;
    let severity = if low && listeners.iter().any(|l| in_trouble(context, l) && i64::from(l.backlog) >= somaxconn) {
        Severity::Critical
    } else if low && !listeners.is_empty() {
        Severity::Warning
    } else if somaxconn == 128 && modern {
        Severity::Info
    } else {
        return;
    };
    let mut evidence = vec![
        Evidence::number("net.core.somaxconn", somaxconn.to_string(), somaxconn as f64),
        Evidence::number("TCP listeners", listeners.len().to_string(), listeners.len() as f64),
    ];
    let capped: Vec<String> = listeners
        .iter()
        .filter(|l| i64::from(l.backlog) == somaxconn)
        .map(|l| l.endpoint.to_string())
        .take(5)
        .collect();
    if !capped.is_empty() {
        evidence.push(Evidence::fact("listeners capped at it", capped.join(", ")));
    }
    if let Some(host) = &context.sample.host {
        evidence.push(Evidence::fact("kernel", host.kernel.clone()));
    }
    report.add(Finding {
        id,
        severity,
        subject: Subject::Sysctl { name: "net.core.somaxconn".into() },
        summary: format!(
            "net.core.somaxconn is {somaxconn}{}",
            if modern && somaxconn < 4096 { " (kernel default 4096)" } else { "" }
        ),
        explanation: format!(
            "somaxconn caps every listener's accept and SYN queues, whatever the application asks for. 128 was the \
             default for more than twenty years; kernels since 5.4 default to 4096{}.",
            if modern && somaxconn == 128 {
                ", so 128 here means somebody lowered it — often an old sysctl.conf, or a container runtime"
            } else {
                ""
            }
        ),
        evidence,
        remedy: "Set net.core.somaxconn = 4096 (or higher for bursty front ends) in /etc/sysctl.d/, apply it with \
                 `sysctl --system`, then restart the listeners: the limit is applied at listen() time."
            .to_string(),
        settings: vec!["net.core.somaxconn"],
    });
}
