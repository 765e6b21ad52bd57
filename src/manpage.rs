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
configuration errors also exit with 2, so a broken check alerts rather than passes.
.SH CONFIGURATION
The advisor reads \fI$XDG_CONFIG_HOME/sockscope/config.toml\fR (else
\fI~/.config/sockscope/config.toml\fR; under sudo, the invoking user's) when it exists, or the file
given with \fB\-\-config\fR. \fBsilence\fR lists check ids to leave out; \fB[thresholds]\fR changes
any threshold, e.g. \fBaccept_queue_fill = 0.9\fR. Unknown keys and check ids are errors.
.SH "HOW FILL IS COMPUTED"
A listener's accept queue holds \fIbacklog\fR + 1 connections: the kernel drops SYNs and final
ACKs only when the queue length is greater than the backlog (\fBsk_acceptq_is_full\fR). sockscope
therefore shows fill = accept queue / (backlog + 1), which is 100% exactly when the kernel drops,
and marks such a listener FULL. The backlog is min(backlog passed to \fBlisten\fR(2),
\fBnet.core.somaxconn\fR at the time of the call); raising somaxconn later changes nothing until
the service calls listen() again.
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
Everything works without privileges except naming the processes that hold other users'
sockets, which needs root or CAP_SYS_PTRACE. sockscope never writes to /proc/sys or changes the
system.
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
for Nagios or Icinga: a status line with performance data, the findings, exit 0 to 3
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
    let command = Cli::command();
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
