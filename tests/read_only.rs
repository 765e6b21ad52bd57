//! sockscope is read-only: every mode runs under `strace -f`, and the log shows what it did to
//! the file system and the kernel. Allowed: writes to stdout and stderr (pipes), to the
//! terminal, to sockets (serve's scrapes, the signal self-pipe), and to files inside the one
//! directory given as the `-o` target's or the recording's (the target, its temporary file, the
//! rename, its mode). Not allowed: any open for writing (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC,
//! O_APPEND, O_TMPFILE) outside it, any write under /proc/sys or /sys, any rename, unlink,
//! mkdir, link, chmod, chown, truncate, xattr change or mount outside it, and any netlink
//! request other than a dump or get (SOCK_DIAG_BY_FAMILY, RTM_GET*). A file-system call the
//! test does not know fails it, so a new kind is looked at rather than let through.
//!
//! Needs root (another namespace for `--all-netns`) and strace; the dashboard and replay also
//! tmux. Run with `--nocapture` to see the calls seen per mode.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{SOCKSCOPE, Tmux, wait_until};

/// The calls traced: every call that takes a file name (strace's `%file` class), every one that
/// writes to, truncates or changes a descriptor's file or sends a message, and `socket` (to
/// know a netlink socket's protocol where strace cannot name it: in another namespace).
const TRACED: &str = "trace=%file,write,pwrite64,writev,pwritev,pwritev2,ftruncate,fchmod,fchown,fallocate,\
                      fsetxattr,fremovexattr,sendfile,copy_file_range,splice,sendto,sendmsg,sendmmsg,mount,umount2,socket";

/// `%file` calls that only read.
const READING: [&str; 15] = [
    "execve",
    "access",
    "faccessat",
    "faccessat2",
    "stat",
    "lstat",
    "newfstatat",
    "statx",
    "readlink",
    "readlinkat",
    "statfs",
    "getxattr",
    "lgetxattr",
    "listxattr",
    "llistxattr",
];

/// Calls that change the file they name (each path must be in the output directory).
const CHANGING_PATHS: [&str; 27] = [
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "truncate",
    "chmod",
    "fchmodat",
    "chown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "setxattr",
    "lsetxattr",
    "removexattr",
];

/// Calls that change the file behind their first descriptor (it must be in the output directory).
const CHANGING_FDS: [&str; 6] = ["ftruncate", "fchmod", "fchown", "fallocate", "fsetxattr", "fremovexattr"];

/// Calls that write data to a descriptor: the first, or for `splice` and `copy_file_range` the
/// third (the first is what they read).
const WRITING: [&str; 11] = [
    "write",
    "pwrite64",
    "writev",
    "pwritev",
    "pwritev2",
    "sendto",
    "sendmsg",
    "sendmmsg",
    "sendfile",
    "splice",
    "copy_file_range",
];

/// One traced call: the process or thread, the call's name, and its text from the `(` on.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    args: String,
}

/// The calls in a log written by `strace -f -o`: lines `PID name(args) = result`, a call cut in
/// two by another thread (`<unfinished ...>`, then `<... name resumed>`) joined again; signals
/// (`--- SIG... ---`), exits (`+++ ... +++`) and a call strace never decoded before the
/// process ended (`???( <detached ...>`, or `???( <unfinished ...>` never resumed) skipped.
fn parse(log: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut unfinished: BTreeMap<String, String> = BTreeMap::new();
    for line in log.lines() {
        let (pid, rest) = match line.trim_start().split_once(' ') {
            Some((pid, rest)) if pid.chars().all(|c| c.is_ascii_digit()) => (pid.to_string(), rest.trim_start()),
            _ => (String::new(), line.trim_start()),
        };
        if rest.starts_with("+++") || rest.starts_with("---") || rest.is_empty() {
            continue;
        }
        // A thread caught by the process's exit before strace had read which call it entered:
        // strace knows neither its name nor its arguments, and nothing ran past that moment.
        if rest.starts_with("???(") && rest.ends_with("<detached ...>") {
            continue;
        }
        let text = if let Some(resumed) = rest.strip_prefix("<... ") {
            let tail = resumed.split_once("resumed>").map(|(_, tail)| tail).unwrap_or_default();
            format!("{}{tail}", unfinished.remove(&pid).unwrap_or_default())
        } else {
            rest.to_string()
        };
        if let Some(head) = text.strip_suffix("<unfinished ...>") {
            unfinished.insert(pid, head.to_string());
            continue;
        }
        if let Some((name, args)) = text.split_once('(') {
            calls.push(Call { name: name.trim().to_string(), args: args.to_string() });
        }
    }
    // A call left unfinished when the process ended; `???` when strace never read which call
    // it was (a thread caught by the exit, as above).
    calls.extend(unfinished.into_values().filter_map(|text| {
        let (name, args) = text.split_once('(')?;
        (name.trim() != "???").then(|| Call { name: name.trim().to_string(), args: args.to_string() })
    }));
    calls
}

/// The top-level arguments of a call's text (after its `(`), up to the closing `)`: quoted
/// strings (with strace's escapes), brackets and `N</path>` descriptor decorations kept whole.
fn arguments(args: &str) -> Vec<String> {
    let chars: Vec<char> = args.chars().collect();
    let (mut out, mut current, mut depth, mut i) = (Vec::new(), String::new(), 0usize, 0);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                let end = string_end(&chars, i);
                current.extend(&chars[i..end]);
                i = end;
                continue;
            }
            '<' if current.chars().last().is_some_and(|p| p.is_ascii_alphanumeric()) => {
                let end = decoration_end(&chars, i);
                current.extend(&chars[i..end]);
                i = end;
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => break,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(current.trim().to_string());
                current.clear();
                i += 1;
                continue;
            }
            _ => {}
        }
        current.push(c);
        i += 1;
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// The index after the closing quote of the string starting at `start`.
fn string_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The index after a `<...>` decoration starting at `start`: its `>` is the one followed by
/// the end of the argument (`<TCP:[a->b]>` and `</dev/null<char 1:3>>` hold others).
fn decoration_end(chars: &[char], start: usize) -> usize {
    (start + 1..chars.len())
        .find(|&i| chars[i] == '>' && chars.get(i + 1).is_none_or(|next| matches!(next, ',' | ')' | ' ')))
        .map_or(chars.len(), |i| i + 1)
}

/// What a descriptor argument (`3</tmp/x>`, `AT_FDCWD</root>`, `1<pipe:[42]>`) names, without
/// the device suffix (`/dev/pts/3<char 136:3>`).
fn decorated(argument: &str) -> Option<String> {
    let (_, inner) = argument.split_once('<')?;
    let inner = inner.strip_suffix('>')?;
    let inner = match inner.rfind('<') {
        Some(at)
            if inner.ends_with('>') && (inner[at..].starts_with("<char ") || inner[at..].starts_with("<block ")) =>
        {
            &inner[..at]
        }
        _ => inner,
    };
    Some(inner.to_string())
}

/// A quoted strace string argument, unescaped; `None` when the argument is not a string.
fn unquoted(argument: &str) -> Option<String> {
    let body = argument.strip_prefix('"')?;
    let body = body.strip_suffix("...").unwrap_or(body).strip_suffix('"')?;
    let (mut out, mut chars) = (Vec::new(), body.chars().peekable());
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.extend(c.to_string().bytes());
            continue;
        }
        match chars.next() {
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).ok()?);
            }
            Some(digit @ '0'..='7') => {
                let mut value = digit.to_digit(8)?;
                while let Some(next) = chars.peek().and_then(|c| c.to_digit(8)).filter(|_| value < 32) {
                    value = value * 8 + next;
                    chars.next();
                }
                out.push(u8::try_from(value).ok()?);
            }
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('r') => out.push(b'\r'),
            Some(other) => out.extend(other.to_string().bytes()),
            None => return None,
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Every path a call names, made absolute: against the directory descriptor before it
/// (`AT_FDCWD</cwd>`, `3</dir>`) or, for the calls without one, against `cwd`.
fn paths(call: &Call, cwd: &Path) -> Vec<PathBuf> {
    let arguments = arguments(&call.args);
    let mut found = Vec::new();
    for (index, argument) in arguments.iter().enumerate() {
        let Some(path) = unquoted(argument) else { continue };
        let base = index.checked_sub(1).and_then(|before| decorated(&arguments[before]));
        let base = base.map_or_else(|| cwd.to_path_buf(), PathBuf::from);
        found.push(if path.starts_with('/') { PathBuf::from(path) } else { base.join(path) });
    }
    found
}

/// Whether an open call asks to write, create or truncate.
fn opens_for_writing(call: &Call) -> bool {
    if call.name == "creat" {
        return true;
    }
    let arguments = arguments(&call.args);
    let Some(string) = arguments.iter().position(|argument| argument.starts_with('"')) else { return false };
    let flags = arguments.get(string + 1).map(String::as_str).unwrap_or_default();
    ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND", "O_TMPFILE"].iter().any(|flag| flags.contains(flag))
}

/// Where a write went: a kind for the figures, or a violation.
fn write_target(call: &Call, output: &Path, protocols: &Protocols) -> Result<&'static str, String> {
    let written = if matches!(call.name.as_str(), "splice" | "copy_file_range") { 2 } else { 0 };
    let target = arguments(&call.args).get(written).and_then(|fd| decorated(fd)).unwrap_or_default();
    if target.starts_with("pipe:") {
        Ok("stdout/stderr")
    } else if target.starts_with("/dev/pts/") || target == "/dev/tty" {
        Ok("terminal")
    } else if let Some(socket) = target.strip_prefix("NETLINK:") {
        netlink_request(call, socket, protocols).map(|()| "netlink")
    } else if ["TCP", "UDP", "UNIX", "socket:", "anon_inode:"].iter().any(|kind| target.starts_with(kind)) {
        Ok("sockets")
    } else if Path::new(&target).starts_with(output) {
        Ok("output files")
    } else {
        Err(format!("{} to {target:?}: {}", call.name, call.args))
    }
}

/// The protocol of each netlink socket strace could not name (`NETLINK:[INODE]`, a socket of
/// another namespace), from the `socket()` call that made it: `NETLINK_ROUTE`, ...
type Protocols = BTreeMap<String, String>;

fn netlink_protocols(calls: &[Call]) -> Protocols {
    let mut protocols = Protocols::new();
    for call in calls.iter().filter(|call| call.name == "socket" && call.args.starts_with("AF_NETLINK")) {
        let arguments = arguments(&call.args);
        // The result follows the last ` = `, after padding when the call was resumed.
        let made = call.args.rsplit_once(" = ").and_then(|(_, result)| decorated(result.trim()));
        if let (Some(protocol), Some(socket)) =
            (arguments.get(2), made.and_then(|m| m.strip_prefix("NETLINK:").map(String::from)))
        {
            protocols.insert(socket, protocol.clone());
        }
    }
    protocols
}

/// The types of the messages a netlink send carries (`nlmsg_type=NAME` or `=0x14`).
fn netlink_types(call: &Call) -> Vec<String> {
    let types = call.args.split("nlmsg_type=").skip(1);
    types.map(|rest| rest.split([',', '}', ' ']).next().unwrap_or_default().to_string()).collect()
}

/// A netlink request must only read: each message a dump or get. `socket` is the descriptor's
/// decoration after `NETLINK:` (`[SOCK_DIAG:123]`, or `[INODE]` looked up in `protocols`).
fn netlink_request(call: &Call, socket: &str, protocols: &Protocols) -> Result<(), String> {
    let protocol = match socket.trim_matches(['[', ']']).split_once(':') {
        Some((named, _)) => format!("NETLINK_{named}"),
        None => protocols.get(socket).cloned().unwrap_or_default(),
    };
    let reading = |kind: &String| match kind.strip_prefix("0x").map(|hex| u16::from_str_radix(hex, 16)) {
        // Numbers where strace could not name them: SOCK_DIAG_BY_FAMILY (20) and TCPDIAG_GETSOCK
        // (18); RTM_GET* is the third of each group of four from RTM_BASE (16).
        Some(Ok(number)) if protocol == "NETLINK_SOCK_DIAG" => matches!(number, 18 | 20),
        Some(Ok(number)) if protocol == "NETLINK_ROUTE" => number >= 16 && (number - 16) % 4 == 2,
        Some(_) => false,
        None => kind.starts_with("RTM_GET") || matches!(kind.as_str(), "SOCK_DIAG_BY_FAMILY" | "TCPDIAG_GETSOCK"),
    };
    let types = netlink_types(call);
    if types.is_empty() || !types.iter().all(reading) {
        return Err(format!("netlink request not a dump or get ({protocol} {types:?}): {}", call.args));
    }
    Ok(())
}

/// What one mode did, counted, and what it must not have done.
#[derive(Debug, Default)]
struct Tally {
    calls: usize,
    read_only_opens: usize,
    reads: usize,
    sockets: usize,
    writes: BTreeMap<&'static str, usize>,
    changes_in_output: usize,
    netlink_types: BTreeMap<String, usize>,
    violations: Vec<String>,
}

/// Judges every call of a log: `output` is the directory the mode may write in, `cwd` the one
/// it was started in.
fn judge(calls: &[Call], output: &Path, cwd: &Path) -> Tally {
    let mut tally = Tally { calls: calls.len(), ..Tally::default() };
    let protocols = netlink_protocols(calls);
    let inside = |path: &PathBuf| path.starts_with(output);
    for call in calls {
        let name = call.name.as_str();
        if matches!(name, "open" | "openat" | "openat2" | "creat") {
            let path = paths(call, cwd).into_iter().next().unwrap_or_default();
            let terminal = path == Path::new("/dev/tty") || path.starts_with("/dev/pts");
            match opens_for_writing(call) {
                false => tally.read_only_opens += 1,
                true if inside(&path) || terminal => {}
                true => tally.violations.push(format!("opens {} for writing: {name}({}", path.display(), call.args)),
            }
        } else if READING.contains(&name) {
            tally.reads += 1;
        } else if name == "socket" {
            tally.sockets += 1;
        } else if CHANGING_PATHS.contains(&name) || matches!(name, "mount" | "umount2") {
            match paths(call, cwd) {
                named if !named.is_empty() && named.iter().all(inside) => tally.changes_in_output += 1,
                _ => tally.violations.push(format!("{name}({}", call.args)),
            }
        } else if CHANGING_FDS.contains(&name) {
            let target = arguments(&call.args).first().and_then(|fd| decorated(fd)).unwrap_or_default();
            match Path::new(&target).starts_with(output) {
                true => tally.changes_in_output += 1,
                false => tally.violations.push(format!("{name} on {target:?}: {}", call.args)),
            }
        } else if WRITING.contains(&name) {
            count_write(&mut tally, call, output, &protocols);
        } else {
            tally.violations.push(format!("a call this test does not classify: {name}({}", call.args));
        }
    }
    tally
}

fn count_write(tally: &mut Tally, call: &Call, output: &Path, protocols: &Protocols) {
    match write_target(call, output, protocols) {
        Ok(kind) => {
            *tally.writes.entry(kind).or_default() += 1;
            if kind == "netlink" {
                for kind in netlink_types(call) {
                    *tally.netlink_types.entry(kind).or_default() += 1;
                }
            }
        }
        Err(violation) => tally.violations.push(violation),
    }
}

/// The strace command line before sockscope's: follow threads, name descriptors, decode
/// netlink, log to `log`.
fn strace(log: &Path) -> Vec<String> {
    let log = log.to_str().expect("utf-8 log path").to_string();
    ["-f", "-yy", "-s", "64", "-qq", "-e", TRACED, "-o", &log].iter().map(|arg| arg.to_string()).collect()
}

/// Fails unless strace runs here (CI installs it).
fn require_strace() {
    let runs = Command::new("strace").arg("-V").output().is_ok_and(|output| output.status.success());
    assert!(runs, "this test needs strace (`apt-get install strace`); `strace -V` cannot run");
}

/// A directory for the logs, one for the outputs, and the figures of each mode.
struct Proof {
    _directories: [tempfile::TempDir; 2],
    /// Where strace writes its logs and the modes start (their working directory).
    logs: PathBuf,
    /// The one directory the modes may write in.
    output: PathBuf,
    figures: Vec<(String, Tally)>,
}

impl Proof {
    fn new() -> Proof {
        common::require_root();
        require_strace();
        let directories = [(); 2].map(|()| tempfile::tempdir().expect("a temporary directory"));
        // As strace names them: through any symbolic link in the temporary directory's path.
        let [logs, output] = [0, 1].map(|i| directories[i].path().canonicalize().expect("a canonical path"));
        Proof { _directories: directories, logs, output, figures: Vec::new() }
    }

    fn log(&self, mode: &str) -> PathBuf {
        self.logs.join(format!("{}.log", mode.replace([' ', '/'], "_")))
    }

    fn out(&self, name: &str) -> String {
        self.output.join(name).to_str().expect("utf-8 path").to_string()
    }

    /// `strace ... sockscope ARGS`, started in the logs' directory, stdout and stderr piped.
    fn command(&self, mode: &str, args: &[&str]) -> Command {
        let mut command = Command::new("strace");
        command.args(strace(&self.log(mode))).arg(SOCKSCOPE).args(args).current_dir(&self.logs);
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    }

    /// Runs a mode to its end; `statuses` are the exit statuses it may have.
    fn run(&mut self, mode: &str, args: &[&str], statuses: &[i32]) -> String {
        let output = self.command(mode, args).output().expect("strace runs");
        let status = output.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(statuses.contains(&status), "{mode}: exit {status}, stderr: {stderr}");
        self.judge(mode);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Judges the log of `mode` and keeps its figures.
    fn judge(&mut self, mode: &str) {
        let log = std::fs::read_to_string(self.log(mode)).expect("the strace log");
        let tally = judge(&parse(&log), &self.output, &self.logs);
        assert!(tally.calls > 0, "{mode}: the log has no calls:\n{log}");
        self.figures.push((mode.to_string(), tally));
    }

    /// Prints the figures and fails on any violation.
    fn verdict(self) {
        let mut violations = Vec::new();
        for (mode, tally) in &self.figures {
            let netlink: Vec<String> = tally.netlink_types.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
            println!(
                "read-only: {mode:<24} {:>6} calls: {:>5} read-only opens, {:>5} stats/readlinks, {} sockets, writes {:?}, \
                 {} changes in the output directory, netlink [{}]",
                tally.calls,
                tally.read_only_opens,
                tally.reads,
                tally.sockets,
                tally.writes,
                tally.changes_in_output,
                netlink.join(", ")
            );
            violations.extend(tally.violations.iter().map(|violation| format!("{mode}: {violation}")));
        }
        assert!(violations.is_empty(), "{} calls that change something:\n{}", violations.len(), violations.join("\n"));
    }
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: strace of every mode, --all-netns enters namespaces")]
fn every_mode_writes_nothing_but_its_output() {
    let mut proof = Proof::new();
    let netns = common::TestNetns::new();
    let _listener = netns.enter(|| common::listener("127.0.0.1:7600", 8));
    for format in ["text", "json", "openmetrics", "prometheus"] {
        let stdout = proof.run(&format!("report {format}"), &["report", "--format", format], &[0]);
        assert!(!stdout.is_empty(), "report --format {format} printed nothing");
    }
    let report = proof.out("report.txt");
    proof.run("report -o", &["report", "-o", &report], &[0]);
    assert!(std::fs::metadata(&report).is_ok_and(|meta| meta.len() > 0), "report -o wrote {report}");
    proof.run("check", &["check", "--interval", "200ms"], &[0, 1, 2]);
    let recording = proof.out("two.rec");
    proof.run("record", &["record", "-o", &recording, "--count", "2", "--interval", "100ms"], &[0]);
    proof.run("report --from", &["report", "--from", &recording], &[0]);
    let all = proof.run("--all-netns report", &["--all-netns", "report", "--format", "json"], &[0]);
    assert!(all.contains(&netns.name), "--all-netns saw the test's namespace");
    serve_one_scrape(&mut proof);
    proof.verdict();
}

/// `serve` answers one scrape, then SIGTERM ends it.
fn serve_one_scrape(proof: &mut Proof) {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|free| free.local_addr()).expect("a free port").port();
    let listen = format!("127.0.0.1:{port}");
    let mut strace =
        proof.command("serve", &["serve", "--listen", &listen, "--interval", "1s"]).spawn().expect("strace");
    let mut scrape = String::new();
    let answered = wait_until(Duration::from_secs(20), || {
        let Ok(mut stream) = std::net::TcpStream::connect(&listen) else { return false };
        scrape.clear();
        let asked = stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
        asked.is_ok() && stream.read_to_string(&mut scrape).is_ok() && scrape.contains("sockscope_")
    });
    let pgrep = Command::new("pgrep").args(["-P", &strace.id().to_string()]).output().expect("pgrep runs");
    let pid = String::from_utf8_lossy(&pgrep.stdout).trim().to_string();
    assert!(!pid.is_empty(), "serve runs under strace");
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
    let status = strace.wait().expect("strace ends");
    assert!(answered, "serve answered no scrape: {scrape}");
    assert_eq!(status.code(), Some(0), "serve exits with 0 after SIGTERM");
    proof.judge("serve");
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: strace of the dashboard")]
fn the_dashboard_and_replay_write_only_to_the_terminal() {
    let mut proof = Proof::new();
    let recording = proof.out("three.rec");
    common::run_ok(Command::new(SOCKSCOPE).args(["record", "-o", &recording, "--count", "3", "--interval", "100ms"]));
    in_tmux(&mut proof, "dashboard", "", &["somaxconn"], &["2", "3", "4", "8", "?", "Escape", "1"]);
    in_tmux(&mut proof, "replay", &format!("replay {recording}"), &["REPLAY"], &["Left", "2", "Right", "p", "p"]);
    proof.verdict();
}

/// Runs `sockscope ARGS` under strace in tmux, waits for `shown`, types `keys`, then `q`.
fn in_tmux(proof: &mut Proof, mode: &str, args: &str, shown: &[&str], keys: &[&str]) {
    let strace: Vec<String> = strace(&proof.log(mode)).into_iter().map(|arg| format!("'{arg}'")).collect();
    let script = format!(
        "cd '{}' && strace {} {SOCKSCOPE} {args}; echo EXIT=$?; exec sleep 600",
        proof.logs.display(),
        strace.join(" ")
    );
    let tmux = Tmux::start_command(&format!("ro-{mode}"), &["sh", "-c", &script], 100, 30);
    tmux.wait_until(Duration::from_secs(30), &format!("{mode} under strace never showed {shown:?}"), |screen| {
        shown.iter().all(|text| screen.contains(text))
    });
    for key in keys {
        tmux.keys(&[key]);
        std::thread::sleep(Duration::from_millis(300));
    }
    tmux.keys(&["q"]);
    tmux.wait_until(Duration::from_secs(30), &format!("{mode} did not quit"), |screen| screen.contains("EXIT=0"));
    proof.judge(mode);
}

#[test]
fn the_log_parser_joins_interrupted_calls_and_reads_decorations() {
    let log = "\
101   openat(AT_FDCWD</root>, \"out/a\\\"b\", O_WRONLY|O_CREAT|O_TRUNC, 0666 <unfinished ...>
102   write(1<pipe:[77]>, \"x) = 1\", 6) = 6
101   <... openat resumed>)      = 3</root/out/a\"b>
102   statx(0</dev/null<char 1:3>>, NULL, AT_STATX_SYNC_AS_STAT, STATX_ALL, NULL) = -1 EFAULT (Bad address)
102   --- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=1} ---
103   sendto(4<TCP:[127.0.0.1:9437->127.0.0.1:5000]>, \"HTTP/1.1 200\", 12, 0, NULL, 0) = 12
104   ???( <detached ...>
105   ???( <unfinished ...>
101   +++ exited with 0 +++
";
    let calls = parse(log);
    let names: Vec<&str> = calls.iter().map(|call| call.name.as_str()).collect();
    assert_eq!(names, ["write", "openat", "statx", "sendto"]);
    assert_eq!(paths(&calls[1], Path::new("/elsewhere")), [PathBuf::from("/root/out/a\"b")]);
    assert!(opens_for_writing(&calls[1]));
    assert_eq!(decorated(&arguments(&calls[2].args)[0]).as_deref(), Some("/dev/null"));
    let tally = judge(&calls, Path::new("/root/out"), Path::new("/elsewhere"));
    assert!(tally.violations.is_empty(), "{:?}", tally.violations);
    assert_eq!(tally.writes.get("stdout/stderr"), Some(&1));
    assert_eq!(tally.writes.get("sockets"), Some(&1));
    let outside = judge(&calls, Path::new("/root/elsewhere"), Path::new("/elsewhere"));
    assert_eq!(
        outside.violations.len(),
        1,
        "an open for writing outside the output directory: {:?}",
        outside.violations
    );
}

#[test]
fn a_netlink_request_that_changes_something_is_a_violation() {
    let new_link = "sendto(3<NETLINK:[ROUTE:30736]>, [{nlmsg_len=32, nlmsg_type=RTM_NEWLINK, \
                    nlmsg_flags=NLM_F_REQUEST|NLM_F_ACK, nlmsg_seq=0, nlmsg_pid=0}, {ifi_family=AF_UNSPEC}], 32, 0, NULL, 0) = 32";
    let dump = "sendmsg(3<NETLINK:[SOCK_DIAG:1]>, {msg_iov=[{iov_base=[{nlmsg_len=72, nlmsg_type=SOCK_DIAG_BY_FAMILY, \
                nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP}, {sdiag_family=AF_INET}], iov_len=72}]}, 0) = 72";
    let sysctl = "write(3</proc/sys/net/core/somaxconn>, \"4096\\n\", 5) = 5";
    // In another namespace strace names neither the socket's protocol nor the message types.
    let route = "socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE <unfinished ...>\n7 <... socket resumed>)   = 8<NETLINK:[827996]>";
    let get_link = "sendto(8<NETLINK:[827996]>, [{nlmsg_len=32, nlmsg_type=0x12 /* NLMSG_??? */, \
                    nlmsg_flags=NLM_F_REQUEST|0x300, nlmsg_seq=1, nlmsg_pid=0}, \"\\x00\"], 32, 0, NULL, 0) = 32";
    let new_addr = get_link.replace("0x12", "0x14");
    let lines = [new_link, dump, sysctl, route, get_link, &new_addr];
    let calls = parse(&lines.map(|line| format!("7 {line}")).join("\n"));
    let tally = judge(&calls, Path::new("/tmp/out"), Path::new("/"));
    assert_eq!(tally.netlink_types.get("SOCK_DIAG_BY_FAMILY"), Some(&1));
    assert_eq!(tally.netlink_types.get("0x12"), Some(&1), "RTM_GETLINK by number on a NETLINK_ROUTE socket");
    assert_eq!(tally.violations.len(), 3, "{:?}", tally.violations);
    assert!(tally.violations[0].contains("RTM_NEWLINK") && tally.violations[1].contains("/proc/sys"));
    assert!(tally.violations[2].contains("NETLINK_ROUTE [\"0x14\"]"), "RTM_NEWADDR by number: {:?}", tally.violations);
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root, as the proof it controls")]
fn a_real_write_outside_the_output_directory_is_caught() {
    // The control: the same strace and judge over a shell that writes and removes a file
    // beside the output directory must find both.
    let proof = Proof::new();
    let stray = proof.logs.join("stray");
    let script = format!("echo x > '{0}'; rm '{0}'", stray.display());
    let mut command = Command::new("strace");
    command.args(strace(&proof.log("control"))).args(["sh", "-c", &script]).current_dir(&proof.logs);
    common::run_ok(&mut command);
    let log = std::fs::read_to_string(proof.log("control")).expect("the strace log");
    let tally = judge(&parse(&log), &proof.output, &proof.logs);
    let stray = stray.display().to_string();
    let found =
        |what: &str| tally.violations.iter().any(|violation| violation.contains(what) && violation.contains(&stray));
    assert!(found("for writing"), "the open of {stray} for writing: {:?}", tally.violations);
    assert!(found("write to"), "the write to {stray}: {:?}", tally.violations);
    assert!(found("unlink"), "the unlink of {stray}: {:?}", tally.violations);
}
