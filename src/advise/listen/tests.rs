use super::syn::flood_port;
use super::*;
use crate::advise::testkit::*;
use crate::advise::{Outcome, Rules, Severity};
use crate::sample::{Sample, SynRecvGroup, SysctlValue};

fn ids(outcome: &Outcome) -> Vec<(&'static str, Severity)> {
    outcome.findings.iter().map(|finding| (finding.id, finding.severity)).collect()
}

/// Two samples a second apart with one listener; `change` edits the second.
fn pair(listener: crate::sample::TcpListener, change: impl FnOnce(&mut Sample)) -> Vec<Sample> {
    let mut first = sample(100);
    add_listener(&mut first, listener.clone(), Some((812, "nginx")));
    let mut second = sample(101);
    add_listener(&mut second, listener, Some((812, "nginx")));
    change(&mut second);
    vec![first, second]
}

#[test]
fn a_full_accept_queue_is_critical() {
    let samples = pair(listener("0.0.0.0", 8080, 7, 129, 128), |_| {});
    let outcome = run_check(&ACCEPT_QUEUE_FULL, &samples);
    assert_eq!(ids(&outcome), vec![("accept-queue-full", Severity::Critical)]);
    let finding = &outcome.findings[0];
    assert_eq!(finding.subject.label(), "tcp 0.0.0.0:8080 (nginx[812])");
    assert!(finding.summary.contains("129 of 129"), "{}", finding.summary);
    assert!(finding.remedy.contains("restart"));
}

#[test]
fn a_queue_at_80_percent_warns_and_a_calm_one_does_not() {
    let warm = pair(listener("0.0.0.0", 8080, 7, 104, 128), |_| {});
    assert_eq!(ids(&run_check(&ACCEPT_QUEUE_FULL, &warm)), vec![("accept-queue-full", Severity::Warning)]);
    let calm = pair(listener("0.0.0.0", 8080, 7, 3, 128), |_| {});
    assert!(run_check(&ACCEPT_QUEUE_FULL, &calm).findings.is_empty());
}

#[test]
fn a_sustained_half_full_queue_warns_after_three_samples() {
    let samples: Vec<Sample> = (0..3)
        .map(|second| {
            let mut s = sample(100 + second);
            add_listener(&mut s, listener("0.0.0.0", 8080, 7, 70, 128), None);
            s
        })
        .collect();
    assert_eq!(ids(&run_check(&ACCEPT_QUEUE_FULL, &samples)), vec![("accept-queue-full", Severity::Warning)]);
    assert!(run_check(&ACCEPT_QUEUE_FULL, &samples[..2]).findings.is_empty(), "two samples are not sustained");
}

#[test]
fn listener_drops_with_overflows_are_critical() {
    let samples = pair(listener("0.0.0.0", 8080, 7, 10, 128), |s| {
        if let Some(l) = s.tcp_listeners.as_mut() {
            l[0].drops = Some(14);
        }
        set_counter(s, "TcpExt", "ListenOverflows", 14);
        set_counter(s, "TcpExt", "ListenDrops", 14);
    });
    let outcome = run_check(&LISTENER_DROPS, &samples);
    assert_eq!(ids(&outcome), vec![("listener-drops", Severity::Critical)]);
    assert!(outcome.findings[0].summary.contains("14"));
}

#[test]
fn syn_queue_drops_get_the_syn_queue_remedy_not_accept_faster() {
    let samples = pair(listener("0.0.0.0", 6379, 7, 0, 16), |s| {
        if let Some(l) = s.tcp_listeners.as_mut() {
            l[0].drops = Some(40);
        }
        set_counter(s, "TcpExt", "TCPReqQFullDrop", 40);
        set_counter(s, "TcpExt", "ListenDrops", 40);
    });
    let outcome = run_check(&LISTENER_DROPS, &samples);
    assert_eq!(ids(&outcome), vec![("listener-drops", Severity::Warning)]);
    let finding = &outcome.findings[0];
    assert!(finding.explanation.contains("TCPReqQFullDrop rose by 40"), "{}", finding.explanation);
    assert!(!finding.remedy.contains("accept faster"), "{}", finding.remedy);
    assert!(finding.remedy.contains("tcp_syncookies=1"), "{}", finding.remedy);
    let unexplained = pair(listener("0.0.0.0", 6379, 7, 0, 16), |s| {
        if let Some(l) = s.tcp_listeners.as_mut() {
            l[0].drops = Some(3);
        }
    });
    let outcome = run_check(&LISTENER_DROPS, &unexplained);
    assert!(!outcome.findings[0].remedy.contains("accept faster"), "{}", outcome.findings[0].remedy);
}

#[test]
fn overflows_with_no_inbound_connection_completed_do_not_say_zero_percent() {
    let samples = pair(listener("0.0.0.0", 8080, 7, 0, 128), |s| {
        set_counter(s, "TcpExt", "ListenOverflows", 84);
        set_counter(s, "TcpExt", "ListenDrops", 84);
    });
    let outcome = run_check(&LISTEN_OVERFLOW_RATE, &samples);
    let explanation = &outcome.findings[0].explanation;
    assert!(!explanation.contains("0% of new inbound"), "{explanation}");
    assert!(explanation.contains("no inbound connection completed"), "{explanation}");
}

#[test]
fn defer_accept_drops_are_only_information() {
    let samples = pair(listener("0.0.0.0", 9000, 7, 0, 64), |s| {
        if let Some(l) = s.tcp_listeners.as_mut() {
            l[0].drops = Some(5);
        }
        set_counter(s, "TcpExt", "TCPDeferAcceptDrop", 5);
    });
    assert_eq!(ids(&run_check(&LISTENER_DROPS, &samples)), vec![("listener-drops", Severity::Info)]);
}

#[test]
fn listener_drops_need_two_samples_and_quiet_listeners_do_not_fire() {
    let quiet = pair(listener("0.0.0.0", 8080, 7, 0, 128), |_| {});
    assert!(run_check(&LISTENER_DROPS, &quiet).findings.is_empty());
    let single = run_check(&LISTENER_DROPS, &quiet[1..]);
    assert!(single.findings.is_empty());
    assert_eq!(single.not_evaluated[0].id, "listener-drops");
}

#[test]
fn overflows_at_more_than_one_per_second_are_critical() {
    let samples = pair(listener("0.0.0.0", 8080, 7, 0, 128), |s| {
        set_counter(s, "TcpExt", "ListenOverflows", 5);
        set_counter(s, "TcpExt", "ListenDrops", 5);
        set_counter(s, "Tcp", "PassiveOpens", 10_000);
    });
    assert_eq!(ids(&run_check(&LISTEN_OVERFLOW_RATE, &samples)), vec![("listen-overflow-rate", Severity::Critical)]);
}

#[test]
fn a_rare_overflow_warns_and_none_is_silent() {
    let mut samples = pair(listener("0.0.0.0", 8080, 7, 0, 128), |s| {
        set_counter(s, "TcpExt", "ListenOverflows", 1);
        set_counter(s, "TcpExt", "ListenDrops", 1);
        set_counter(s, "Tcp", "PassiveOpens", 1000);
        s.boottime_ns += 9_000_000_000;
    });
    assert_eq!(ids(&run_check(&LISTEN_OVERFLOW_RATE, &samples)), vec![("listen-overflow-rate", Severity::Warning)]);
    set_counter(&mut samples[1], "TcpExt", "ListenOverflows", 0);
    set_counter(&mut samples[1], "TcpExt", "ListenDrops", 0);
    assert!(run_check(&LISTEN_OVERFLOW_RATE, &samples).findings.is_empty());
}

#[test]
fn listen_drops_without_overflow_are_decomposed() {
    let samples = pair(listener("0.0.0.0", 8080, 7, 0, 128), |s| set_counter(s, "TcpExt", "ListenDrops", 3));
    let outcome = run_check(&LISTEN_OVERFLOW_RATE, &samples);
    assert_eq!(ids(&outcome), vec![("listen-overflow-rate", Severity::Warning)]);
    assert!(outcome.findings[0].summary.contains("not explained"));
}

#[test]
fn one_sample_reports_overflows_since_boot_as_information() {
    let mut single = sample(86_400);
    set_counter(&mut single, "TcpExt", "ListenOverflows", 700);
    assert_eq!(ids(&run_check(&LISTEN_OVERFLOW_RATE, &[single])), vec![("listen-overflow-rate", Severity::Info)]);
    assert!(run_check(&LISTEN_OVERFLOW_RATE, &[sample(5)]).findings.is_empty());
}

fn with_somaxconn(mut samples: Vec<Sample>, value: i64) -> Vec<Sample> {
    for s in &mut samples {
        set_sysctl(s, "net.core.somaxconn", SysctlValue::Integer(value));
    }
    samples
}

#[test]
fn a_clamped_backlog_on_an_overflowing_listener_warns() {
    let samples = with_somaxconn(pair(listener("0.0.0.0", 8080, 7, 129, 128), |_| {}), 128);
    let outcome = run_check(&BACKLOG_CLAMPED_BY_SOMAXCONN, &samples);
    assert_eq!(ids(&outcome), vec![("backlog-clamped-by-somaxconn", Severity::Warning)]);
    assert!(outcome.findings[0].remedy.contains("net.core.somaxconn=4096"), "{}", outcome.findings[0].remedy);
}

#[test]
fn a_backlog_above_somaxconn_means_it_was_lowered_later() {
    let samples = with_somaxconn(pair(listener("0.0.0.0", 8080, 7, 0, 4096), |_| {}), 128);
    assert_eq!(
        ids(&run_check(&BACKLOG_CLAMPED_BY_SOMAXCONN, &samples)),
        vec![("backlog-clamped-by-somaxconn", Severity::Info)]
    );
    let idle_equal = pair(listener("0.0.0.0", 8080, 7, 0, 4096), |_| {});
    assert!(run_check(&BACKLOG_CLAMPED_BY_SOMAXCONN, &idle_equal).findings.is_empty(), "idle listeners stay quiet");
}

#[test]
fn a_busy_listener_with_nginx_backlog_is_named() {
    let samples = pair(listener("0.0.0.0", 80, 7, 512, 511), |_| {});
    let outcome = run_check(&BACKLOG_BELOW_SOMAXCONN, &samples);
    assert_eq!(ids(&outcome), vec![("backlog-below-somaxconn", Severity::Warning)]);
    assert!(outcome.findings[0].evidence.iter().any(|e| e.value.contains("nginx")));
    let idle = pair(listener("0.0.0.0", 22, 8, 0, 128), |_| {});
    assert!(run_check(&BACKLOG_BELOW_SOMAXCONN, &idle).findings.is_empty());
}

#[test]
fn somaxconn_128_with_a_full_clamped_listener_is_critical() {
    let samples = with_somaxconn(pair(listener("0.0.0.0", 8080, 7, 129, 128), |_| {}), 128);
    let outcome = run_check(&SOMAXCONN_LOW, &samples);
    assert_eq!(ids(&outcome), vec![("somaxconn-low", Severity::Critical)]);
    assert!(outcome.findings[0].explanation.contains("somebody lowered it"));
    let calm = with_somaxconn(pair(listener("0.0.0.0", 8080, 7, 0, 128), |_| {}), 128);
    assert_eq!(ids(&run_check(&SOMAXCONN_LOW, &calm)), vec![("somaxconn-low", Severity::Warning)]);
    let fine = pair(listener("0.0.0.0", 8080, 7, 0, 4096), |_| {});
    assert!(run_check(&SOMAXCONN_LOW, &fine).findings.is_empty());
}

#[test]
fn a_syn_queue_at_its_limit_warns() {
    let samples = pair(listener("0.0.0.0", 443, 7, 0, 16), |s| {
        if let Some(summary) = s.tcp_summary.as_mut() {
            summary.syn_recv.push(SynRecvGroup {
                family: crate::sample::Family::Ipv4,
                local_address: "10.0.0.5".parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                local_port: 443,
                requests: 16,
                retransmitted: 12,
            });
        }
    });
    let outcome = run_check(&SYN_QUEUE_PRESSURE, &samples);
    assert_eq!(ids(&outcome), vec![("syn-queue-pressure", Severity::Warning)]);
    assert!(outcome.findings[0].summary.contains("at its limit"));
    let quiet = pair(listener("0.0.0.0", 443, 7, 0, 16), |_| {});
    assert!(run_check(&SYN_QUEUE_PRESSURE, &quiet).findings.is_empty());
}

#[test]
fn cookies_with_failed_validation_suggest_spoofing() {
    let samples = pair(listener("0.0.0.0", 443, 7, 0, 16), |s| {
        set_counter(s, "TcpExt", "TCPReqQFullDoCookies", 100);
        set_counter(s, "TcpExt", "SyncookiesSent", 100);
        set_counter(s, "TcpExt", "SyncookiesFailed", 90);
    });
    let outcome = run_check(&SYN_QUEUE_PRESSURE, &samples);
    assert_eq!(ids(&outcome), vec![("syn-queue-pressure", Severity::Warning)]);
    assert!(outcome.findings[0].explanation.contains("spoofed"));
    assert!(outcome.findings[0].remedy.contains("SYNPROXY"));
}

#[test]
fn a_logged_syn_flood_is_attributed_to_its_listener() {
    assert_eq!(
        flood_port("TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:8080. Sending cookies."),
        Some(8080)
    );
    assert_eq!(
        flood_port("TCP: Possible SYN flooding on port 443. Dropping request.  Check SNMP counters."),
        Some(443)
    );
    assert_eq!(flood_port("TCP: Possible SYN flooding on port [::]:9000. Sending cookies."), Some(9000));
    let samples = pair(listener("0.0.0.0", 8080, 7, 0, 128), |s| {
        s.kernel_events = Some(vec![crate::sample::KernelEvent {
            kind: crate::sample::KernelEventKind::SynFlood,
            boot_micros: 90_000_000,
            message: "TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:8080. Sending cookies.".into(),
        }]);
    });
    let outcome = run_check(&SYN_QUEUE_PRESSURE, &samples);
    assert_eq!(ids(&outcome), vec![("syn-queue-pressure", Severity::Info)]);
    assert_eq!(outcome.findings[0].subject.label(), "tcp 0.0.0.0:8080 (nginx[812])");
    assert!(outcome.findings[0].summary.contains("11s ago"), "{}", outcome.findings[0].summary);
    // The kernel log is the host's: a flood on a port no listener here has is another namespace's.
    let elsewhere = pair(listener("0.0.0.0", 8080, 7, 0, 128), |s| {
        s.kernel_events = Some(vec![crate::sample::KernelEvent {
            kind: crate::sample::KernelEventKind::SynFlood,
            boot_micros: 90_000_000,
            message: "TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:6379. Sending cookies.".into(),
        }]);
    });
    assert!(run_check(&SYN_QUEUE_PRESSURE, &elsewhere).findings.is_empty());
}

#[test]
fn syn_drops_with_cookies_off_are_critical() {
    let samples = pair(listener("0.0.0.0", 443, 7, 0, 16), |s| {
        set_sysctl(s, "net.ipv4.tcp_syncookies", SysctlValue::Integer(0));
        set_counter(s, "TcpExt", "TCPReqQFullDrop", 9);
    });
    assert_eq!(ids(&run_check(&SYNCOOKIES_DISABLED, &samples)), vec![("syncookies-disabled", Severity::Critical)]);
}

#[test]
fn cookies_off_warns_only_with_listeners_on_the_network() {
    let exposed =
        pair(listener("0.0.0.0", 443, 7, 0, 16), |s| set_sysctl(s, "net.ipv4.tcp_syncookies", SysctlValue::Integer(0)));
    assert_eq!(ids(&run_check(&SYNCOOKIES_DISABLED, &exposed)), vec![("syncookies-disabled", Severity::Warning)]);
    let local = pair(listener("127.0.0.1", 443, 7, 0, 16), |s| {
        set_sysctl(s, "net.ipv4.tcp_syncookies", SysctlValue::Integer(0))
    });
    assert!(run_check(&SYNCOOKIES_DISABLED, &local).findings.is_empty());
    let default = pair(listener("0.0.0.0", 443, 7, 0, 16), |_| {});
    assert!(run_check(&SYNCOOKIES_DISABLED, &default).findings.is_empty());
}

#[test]
fn abort_on_overflow_and_timestamps_off_warn() {
    let samples = pair(listener("0.0.0.0", 80, 7, 0, 511), |s| {
        set_sysctl(s, "net.ipv4.tcp_abort_on_overflow", SysctlValue::Integer(1));
        set_sysctl(s, "net.ipv4.tcp_timestamps", SysctlValue::Integer(0));
        set_sysctl(s, "net.ipv4.tcp_max_syn_backlog", SysctlValue::Integer(65_536));
        set_sysctl(s, "net.ipv4.tcp_synack_retries", SysctlValue::Integer(1));
    });
    let outcome = run_check(&HANDSHAKE_SYSCTLS, &samples);
    let subjects: Vec<String> = outcome.findings.iter().map(|f| f.subject.label()).collect();
    assert_eq!(subjects.len(), 4, "{subjects:?}");
    assert!(subjects.contains(&"net.ipv4.tcp_abort_on_overflow".to_string()));
    assert!(outcome.findings.iter().any(|f| f.summary.contains("no effect while syncookies are on")));
    let defaults = pair(listener("0.0.0.0", 80, 7, 0, 511), |_| {});
    assert!(
        run_check(&HANDSHAKE_SYSCTLS, &defaults).findings.is_empty(),
        "{:?}",
        run_check(&HANDSHAKE_SYSCTLS, &defaults)
    );
}

#[test]
fn tcp_max_syn_backlog_at_the_default_of_the_namespaces_hash_is_not_called_changed() {
    // tcp_max_tw_buckets and tcp_max_orphans raised by the user: the hash size they used to
    // stand for is read from tcp_ehash_entries instead (262144 buckets: default 2048).
    let raised = |backlog: i64| {
        pair(listener("0.0.0.0", 80, 7, 0, 511), move |s| {
            set_sysctl(s, "net.ipv4.tcp_max_tw_buckets", SysctlValue::Integer(2_000_000));
            set_sysctl(s, "net.ipv4.tcp_max_orphans", SysctlValue::Integer(400_000));
            set_sysctl(s, "net.ipv4.tcp_ehash_entries", SysctlValue::Integer(-262_144));
            set_sysctl(s, "net.ipv4.tcp_max_syn_backlog", SysctlValue::Integer(backlog));
        })
    };
    assert!(run_check(&HANDSHAKE_SYSCTLS, &raised(2048)).findings.is_empty());
    let changed = run_check(&HANDSHAKE_SYSCTLS, &raised(8192));
    assert!(changed.findings.iter().any(|f| f.summary.contains("no effect while syncookies are on")), "{changed:?}");
}

#[test]
fn a_silenced_check_reports_nothing() {
    let samples = pair(listener("0.0.0.0", 8080, 7, 129, 128), |_| {});
    let rules = Rules { silence: vec!["accept-queue-full".into()], ..Rules::default() };
    let mut pipeline = crate::engine::Pipeline::new(rules.clone());
    let outcome = samples.iter().map(|sample| pipeline.push(sample.clone()).findings.clone()).last();
    assert!(outcome.is_some_and(|outcome| outcome.findings.iter().all(|f| f.id != "accept-queue-full")));
    assert!(run_check_with(&ACCEPT_QUEUE_FULL, &samples, &rules).findings.is_empty());
    assert_eq!(run_check(&ACCEPT_QUEUE_FULL, &samples).findings.len(), 1, "it fires when not silenced");
}
