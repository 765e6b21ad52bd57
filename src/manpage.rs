//! The man page, generated from the clap definition so it cannot drift from `--help`.
//! `man/sockscope.1` is this output; a test fails when the file is stale.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;

/// Sections written by hand: what clap cannot know.
const TRAILER: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
success
.TP
\fB1\fR
runtime failure, for example the output file could not be written
.TP
\fB2\fR
usage error (bad arguments or an unusable configuration file); the reason is printed on one line on
standard error
.PP
\fBsockscope check\fR exits like a monitoring plugin: \fB0\fR OK (nothing above info), \fB1\fR
WARNING, \fB2\fR CRITICAL, \fB3\fR UNKNOWN (the listen-queue checks could not run). Usage and
configuration errors, and any failure, exit with 3 and print one \fBSOCKSCOPE UNKNOWN \- \fR line
on standard output, as monitoring plugins do. Its performance data carries warn and crit levels
(\fIlabel\fR=\fIvalue\fR;\fIwarn\fR;\fIcrit\fR;\fImin\fR;\fImax\fR) for the overflow rates, the fullest
listeners' fill, port use and the CLOSE_WAIT, TIME_WAIT and SYN_RECV counts.
\fBsockscope check \-\-list\fR prints every check with its thresholds and their defaults.
.SH CONFIGURATION
The advisor reads \fI$XDG_CONFIG_HOME/sockscope/config.toml\fR (else
\fI~/.config/sockscope/config.toml\fR; under sudo, the invoking user's) when it exists, or the file
given with \fB\-\-config\fR. \fBsilence\fR lists check ids to leave out; \fB[thresholds]\fR changes
any threshold, e.g. \fBaccept_queue_fill = 0.9\fR. \fB[findings]\fR sets how long a finding outlives
the sample that saw it: it stays active (held, "last seen N s ago") until \fBclear_after_samples\fR
(3) samples in a row and \fBclear_after_seconds\fR (30) seconds have passed without it; cleared
findings stay listed for \fBkeep_cleared_seconds\fR (600), at most \fBkeep_cleared\fR (100). Unknown
keys and check ids are errors.
.SH "HOW FILL IS COMPUTED"
A listener's accept queue holds \fIbacklog\fR + 1 connections: the kernel drops SYNs and final
ACKs only when the queue length is greater than the backlog (\fBsk_acceptq_is_full\fR). sockscope
therefore shows fill = accept queue / (backlog + 1), which is 100% exactly when the kernel drops,
and marks such a listener FULL. The backlog is min(backlog passed to \fBlisten\fR(2),
\fBnet.core.somaxconn\fR at the time of the call); raising somaxconn later changes nothing until
the service calls listen() again.
.SH "THE OWNER'S SIDE"
A full accept queue is an application that does not call \fBaccept\fR(2) fast enough. For each
listener sockscope names the processes that take its connections \(em those holding it that have
it in an epoll set (\fI/proc/<pid>/fdinfo\fR), so with SO_REUSEPORT each socket shows its own
worker \(em with their state (\fBT\fR stopped, \fBt\fR stopped by a tracer, \fBD\fR
uninterruptible, \fBZ\fR zombie), CPU over the interval (100% is one CPU), threads, and their
cgroup v2: CPU throttled as a share of the interval (\fBcpu.stat\fR throttled_usec), the
\fBcpu.max\fR limit and \fBmemory.pressure\fR. \fBaccept\-queue\-full\fR and an overflowing
\fBlistener\-drops\fR name the cause, e.g. "its only owner nginx[27439] is stopped (SIGSTOP)".
Run it with \fB\-\-netns\fR rather than under \fBip netns exec\fR, which remounts /sys and hides
the cgroup files.
.SH "LISTEN EVENTS (eBPF)"
The modes that observe over time (the dashboard, \fBrecord\fR, \fBserve\fR, \fBcheck\fR,
\fBreport \-\-interval\fR, \fBevents\fR) load eBPF programs once per process; a one\-shot
\fBreport\fR does not. They see every namespace and route each event to its namespace and
listener (network namespace inode, socket cookie): a SYN dropped at a full accept queue or SYN
queue, or answered with a SYN cookie (\fIpredicted\fR at cgroup ingress with the kernel's own
tests, which leave no trace; cross\-check with ListenOverflows, ListenDrops, TCPReqQFullDrop); a
final ACK dropped at a full accept queue (\fIobserved\fR: drop reason TCP_LISTEN_OVERFLOW, Linux
6.15+); SYN\-ACK retransmits; and for every accepted connection its wait in the accept queue
(from the final ACK at the listener to fexit on inet_csk_accept where allowed, else to the
client address accept() hands back, cgroup getpeername4/6; an accept that asks for no address
is not measured). \fBsockscope events\fR [\fB\-\-format text\fR|\fBjson\fR] prints them as they happen,
one line each, for the namespace of \fB\-\-netns\fR/\fB\-\-pid\fR (default its own) or
\fB\-\-all\-netns\fR, until SIGINT, SIGTERM or a closed pipe (exit 0); when the programs cannot
run it prints the reason and exits 1. Needs root, or CAP_BPF and CAP_PERFMON (and CAP_NET_ADMIN),
and a kernel with BTF (\fI/sys/kernel/btf/vmlinux\fR).
.PP
With the eBPF listen-event source running, each listener also shows what the kernel did to its
clients in the interval: connections dropped by reason (\fBsyn_accept_queue_full\fR and
\fBsyn_queue_full\fR are \fIpredicted\fR with the kernel's own test at ingress, since the kernel
leaves no trace of them; \fBack_accept_queue_full\fR is \fIobserved\fR, Linux 6.15+), SYN cookies,
SYN\-ACK retransmits, the clients dropped most, and how long accepted connections waited in the
accept queue (p50, p90, p99 and max; percentiles are bucket midpoints, within 3%). When the source
cannot start, one line says why and everything else works. A one\-shot report has no interval and
says "no interval observed". \fBlisten\-flood\-or\-slow\fR uses them to tell a slow application
(accept\-wait p99 of \fBaccept_wait_slow_seconds\fR or more, naming the owners and their state) from
a SYN flood (\fBflood_clients\fR distinct clients dropped at the SYN with accepts at most
\fBflood_accept_share\fR of those drops, naming the top sources and whether SYN cookies were sent).
.SH DASHBOARD
Views: \fB1\fR overview, \fB2\fR listeners, \fB3\fR connections, \fB4\fR TCP states,
\fB5\fR ephemeral ports, \fB6\fR interfaces, \fB7\fR kernel settings, \fB8\fR findings,
\fB9\fR counters: every counter of /proc/net/netstat, snmp and snmp6 as \fBnstat \-az\fR names
it, with its rate, its history and, for those that matter to queues, drops and
retransmissions, what it means; fastest first (\fBs\fR sorts by another column), counters that
are zero hidden until \fBz\fR shows them, \fB/\fR filters. Press \fB?\fR for every key.
Nothing on screen is cut in a way that changes its meaning: numbers, PIDs, addresses and
setting names are shown whole or their column is left out; only names and free text shorten,
with \(lq\[u2026]\(rq.
.SH PRIVILEGES
Everything works without privileges except what needs root or these capabilities:
.TP
\fBCAP_SYS_PTRACE\fR and \fBCAP_DAC_READ_SEARCH\fR
naming the processes that hold other users' sockets (reading their \fI/proc/PID/fd\fR)
.TP
\fBCAP_SYS_ADMIN\fR
entering other network namespaces (\fB\-\-netns\fR, \fB\-\-pid\fR, \fB\-\-all\-netns\fR)
.TP
\fBCAP_BPF\fR and \fBCAP_PERFMON\fR
listen events (eBPF), with \fBCAP_NET_ADMIN\fR for the cgroup hooks; without them the source is
unavailable with the reason and everything else works
.PP
Reading everything else needs none. Instead of root, grant only these: as file capabilities on a
copy that one group may run (\fBinstall \-o root \-g sockscope \-m 0750 /usr/bin/sockscope
/usr/local/bin/sockscope\fR, then \fBsetcap cap_sys_ptrace,cap_dac_read_search+ep\fR on it), or
with a systemd unit's \fBAmbientCapabilities=\fR and \fBNoNewPrivileges=yes\fR
(\fBsockscope\-serve.service\fR runs the exporter so, as a dynamic user). With capabilities
raised over its user, sockscope opens every file the user names (\fB\-\-config\fR, \fB\-o\fR,
recordings) with the user's own rights, so a file the user cannot read is refused with the user's
own error and never shown; the dashboard's header names the raised capabilities. It refuses to
run set\-user\-ID or set\-group\-ID (exit status 1). sockscope never writes to /proc/sys or
changes the system.
.SH EXAMPLES
.TP
\fBsockscope report\fR
one sample; counters are totals since boot
.TP
\fBsockscope report \-\-interval 5s\fR
two samples five seconds apart, with per\-second rates
.TP
\fBsockscope report \-\-format json | jq '.listeners[] | select(.full)'\fR
listeners whose accept queue is full right now
.TP
\fBsockscope report \-o /tmp/report.txt\fR
write the report atomically to a file
.TP
\fBsockscope check \-\-interval 10s\fR
for Nagios or Icinga: samples about every second for 10 s, then a status line with performance
data and every finding active at any moment of the interval (with how many samples saw it), exit
0 to 3
.SH "SEE ALSO"
\fBss\fR(8), \fBnstat\fR(8), \fBip\fR(8), \fBsysctl\fR(8), \fBlisten\fR(2)
"#;

/// The SUBCOMMANDS section, written here because clap_mangen would point at one page per
/// subcommand (`sockscope-report(1)`), and sockscope ships a single page.
fn subcommands_section(command: &clap::Command) -> String {
    use clap_mangen::roff::{Roff, bold, roman};
    let mut roff = Roff::new();
    roff.control("SH", ["SUBCOMMANDS"]);
    for subcommand in command.get_subcommands() {
        let own: Vec<&clap::Arg> = subcommand.get_arguments().filter(|arg| !arg.is_global_set()).collect();
        let mut usage = String::new();
        if own.iter().any(|arg| !arg.is_positional()) {
            usage.push_str(" [OPTIONS]");
        }
        for arg in own.iter().filter(|arg| arg.is_positional()) {
            usage.push_str(&format!(" <{}>", arg.get_id().as_str().to_uppercase()));
        }
        roff.control("TP", []);
        roff.text([bold(format!("sockscope {}", subcommand.get_name())), roman(usage)]);
        roff.text([roman(subcommand.get_about().map(ToString::to_string).unwrap_or_default())]);
    }
    roff.control("TP", []);
    roff.text([bold("sockscope help"), roman(" [SUBCOMMAND]")]);
    roff.text([roman("Print the help of sockscope or of a subcommand")]);
    roff.to_roff()
}

/// Renders the complete man page.
pub fn render() -> std::io::Result<Vec<u8>> {
    // The man page names the version only: the commit would make it differ in every build.
    let command = Cli::command().long_version(None::<&str>);
    let man = clap_mangen::Man::new(command.clone()).source(format!("sockscope {}", env!("CARGO_PKG_VERSION")));
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    page.extend(subcommands_section(&command).into_bytes());
    for subcommand in command.get_subcommands().filter(|sub| sub.get_arguments().any(|arg| !arg.is_global_set())) {
        let heading = format!("Options of sockscope {}", subcommand.get_name());
        let titled = subcommand
            .clone()
            .mut_args(|arg| if arg.is_global_set() { arg.hide(true) } else { arg.help_heading(heading.clone()) })
            .disable_help_flag(true);
        clap_mangen::Man::new(titled).render_options_section(&mut page)?;
    }
    page.write_all(TRAILER.as_bytes())?;
    man.render_version_section(&mut page)?;
    Ok(page)
}
