//! Signals while the dashboard owns the terminal. A thread turns each one into an event for the
//! main thread, which restores the terminal before the process ends or stops (no `exit()` inside
//! a handler): every signal whose default action ends the process ends the dashboard with
//! 128 + its number; SIGTSTP hands the terminal back and stops like any job; SIGCONT takes it
//! back. A signal ignored when sockscope started (`nohup`, `trap '' USR1`) stays ignored.

use std::sync::mpsc::Sender;
use std::thread;

use libc::{
    SIGALRM, SIGCONT, SIGHUP, SIGINT, SIGIO, SIGPROF, SIGPWR, SIGQUIT, SIGSTKFLT, SIGTERM, SIGTSTP, SIGUSR1, SIGUSR2,
    SIGVTALRM, SIGXCPU, SIGXFSZ,
};

use super::app::Event;

/// The signals whose default action ends the process and that a handler can catch. Left at
/// their default on purpose: the faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, which cannot be
/// handled safely) and the three a process raises on itself to die on the spot — SIGABRT
/// (`abort()`), SIGTRAP (a debugger's breakpoint) and SIGSYS (a seccomp filter). SIGPIPE is
/// ignored by the Rust runtime: a closed pipe is an error on the write, not an ending.
const TERMINATING: [i32; 14] = [
    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
    SIGIO, SIGPWR,
];

/// Starts the signal thread; closing the returned handle ends it.
pub fn spawn(events: Sender<Event>) -> std::io::Result<signal_hook::iterator::Handle> {
    let realtime = libc::SIGRTMIN()..=libc::SIGRTMAX();
    let watched = TERMINATING.into_iter().chain(realtime).chain([SIGTSTP, SIGCONT]);
    let mut signals = signal_hook::iterator::Signals::new(watched.filter(|&signal| !ignored(signal)))?;
    let handle = signals.handle();
    thread::Builder::new().name("sockscope-signals".to_string()).spawn(move || {
        for signal in signals.forever() {
            let event = match signal {
                SIGTSTP => Event::Stop,
                SIGCONT => Event::Continue,
                other => Event::Terminate(other),
            };
            if events.send(event).is_err() {
                return;
            }
        }
    })?;
    Ok(handle)
}

/// Stops the process as SIGTSTP's default action would, although a handler is installed: the
/// default action is put back for the moment of a `raise`. So the kernel's rules hold — in a
/// process group no shell controls (an orphaned one, e.g. under `sh -c` without job control) the
/// stop is discarded, since nothing could continue it. Returns once the process runs again.
pub fn stop_as_a_job() {
    // SAFETY: sigaction with valid pointers to zero-initialised (valid) sigaction structs;
    // the handler saved is put back exactly as it was.
    unsafe {
        let mut installed: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(SIGTSTP, std::ptr::null(), &mut installed) != 0 || installed.sa_sigaction == libc::SIG_IGN {
            return;
        }
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        if libc::sigaction(SIGTSTP, &default, std::ptr::null_mut()) != 0 {
            return;
        }
        libc::raise(SIGTSTP);
        libc::sigaction(SIGTSTP, &installed, std::ptr::null_mut());
    }
}

/// Whether `signal` is ignored now (before sockscope installs any handler for it).
fn ignored(signal: i32) -> bool {
    // SAFETY: sigaction only reads the current action into a valid, zero-initialised struct.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0 && current.sa_sigaction == libc::SIG_IGN
    }
}
