//! What a benchmark must undo if it is interrupted: the namespaces it made, the processes it
//! started and the tmux servers it runs. Guards register here when they create something and
//! release it when they drop; on SIGINT, SIGTERM or SIGHUP a thread undoes whatever is still
//! registered and exits with status 130, since `process::exit` from a signal runs no `Drop`.

use std::process::Command;
use std::sync::{Mutex, Once};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Something made by the benchmark that outlives it unless undone.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Made {
    /// A network namespace under /run/netns.
    Netns(String),
    /// A child process (killed and reaped).
    Process(i32),
    /// A private tmux server, by its `-L` socket name.
    Tmux(String),
}

static MADE: Mutex<Vec<Made>> = Mutex::new(Vec::new());
static HANDLER: Once = Once::new();

/// Remembers `made` until [`release`]; installs the signal handler on first use.
pub fn register(made: Made) {
    HANDLER.call_once(install_handler);
    MADE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(made);
}

/// Forgets `made` (its guard has undone it).
pub fn release(made: &Made) {
    MADE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).retain(|entry| entry != made);
}

/// Undoes `made`: kills and reaps a process, kills a tmux server, deletes a namespace.
pub fn undo(made: &Made) {
    match made {
        Made::Process(pid) => {
            // SAFETY: signalling and reaping a pid this process started; a pid already reaped
            // makes both calls fail harmlessly.
            unsafe {
                libc::kill(*pid, libc::SIGKILL);
                libc::waitpid(*pid, std::ptr::null_mut(), 0);
            }
        }
        Made::Tmux(socket) => {
            let _ = Command::new("tmux").args(["-L", socket, "kill-server"]).output();
            // A server that exited with its last pane leaves its socket file behind.
            let directory = std::env::var("TMUX_TMPDIR").unwrap_or_else(|_| "/tmp".into());
            let uid = rustix::process::geteuid().as_raw();
            let _ = std::fs::remove_file(format!("{directory}/tmux-{uid}/{socket}"));
        }
        Made::Netns(name) => {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn install_handler() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        eprintln!("benchmark: cannot watch SIGINT; an interrupted run may leave its namespace behind");
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let made: Vec<Made> = std::mem::take(&mut *MADE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            eprintln!("benchmark: interrupted (signal {signal}); cleaning up {} things it made", made.len());
            // Processes first (they hold sockets in the namespaces), namespaces last.
            for entry in made.iter().rev() {
                undo(entry);
            }
            std::process::exit(130);
        }
    });
}
