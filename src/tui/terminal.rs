//! Owning the terminal: enter raw mode and the alternate screen, put everything back on every
//! way out — normal exit, error, panic, signal, suspend — and take it back after a stop.
//! [`restore`] is idempotent and ignores errors (after SIGHUP the terminal is gone).

use std::io::{Stdout, Write, stdout};
use std::sync::Once;

use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode,
    enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

/// The terminal type the dashboard draws on.
pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// The name of the collector thread: a panic there must not restore the terminal or print over
/// the screen (the dashboard reports it and keeps running).
pub const COLLECTOR_THREAD: &str = "sockscope-collector";

/// Puts the terminal back as the shell expects it: raw mode off, main screen, mouse capture and
/// bracketed paste off, cursor visible.
pub fn restore() {
    let _ = disable_raw_mode();
    let mut out = stdout();
    let _ = execute!(out, DisableMouseCapture, DisableBracketedPaste, LeaveAlternateScreen, cursor::Show);
    let _ = out.flush();
}

/// Takes the terminal over; dropping the guard restores it.
pub struct Guard {
    /// The ratatui terminal.
    pub terminal: Term,
}

impl Guard {
    /// Raw mode, alternate screen, hidden cursor, and mouse capture when asked.
    pub fn enter(mouse: bool) -> std::io::Result<Guard> {
        install_panic_hook();
        // crossterm's own NO_COLOR handling drops bold and reverse along with colours; the
        // themes decide about colour instead (`mono` sets none).
        ratatui::crossterm::style::force_color_output(true);
        enter_screen(mouse)?;
        let terminal = Terminal::new(CrosstermBackend::new(stdout())).inspect_err(|_| restore())?;
        Ok(Guard { terminal })
    }

    /// Draws one frame inside a synchronized update, so terminals that support it never show
    /// a half-drawn screen.
    pub fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame)) -> std::io::Result<()> {
        let _ = execute!(self.terminal.backend_mut(), BeginSynchronizedUpdate);
        let result = self.terminal.draw(render).map(|_| ());
        let _ = execute!(self.terminal.backend_mut(), EndSynchronizedUpdate);
        result
    }

    /// Turns mouse capture on or off.
    pub fn set_mouse(&mut self, on: bool) {
        let backend = self.terminal.backend_mut();
        let _ = if on { execute!(backend, EnableMouseCapture) } else { execute!(backend, DisableMouseCapture) };
    }

    /// Ctrl-Z or SIGTSTP: restore the terminal, stop like any job, and take the screen back
    /// when the process runs again (at once when the kernel discards the stop).
    pub fn suspend(&mut self, mouse: bool) -> std::io::Result<()> {
        restore();
        super::signals::stop_as_a_job();
        self.resume(mouse)
    }

    /// After a stop (SIGCONT): raw mode, the alternate screen, the cursor and mouse capture as
    /// the dashboard needs them, whatever the shell or a SIGSTOP left, and a full repaint on the
    /// next draw.
    pub fn resume(&mut self, mouse: bool) -> std::io::Result<()> {
        // crossterm skips enabling raw mode it believes on: forget it, for the shell may have
        // reset the terminal while the process was stopped.
        let _ = disable_raw_mode();
        enter_screen(mouse)?;
        // Clear the screen and forget what was drawn (ratatui's own `clear()` asks the terminal
        // for the cursor position, a round trip over SSH).
        self.terminal.backend_mut().clear_region(ratatui::backend::ClearType::All)?;
        self.terminal.current_buffer_mut().reset();
        self.terminal.swap_buffers();
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

fn enter_screen(mouse: bool) -> std::io::Result<()> {
    enable_raw_mode()?;
    let mut out = stdout();
    let entered = execute!(out, EnterAlternateScreen, cursor::Hide);
    let entered = if mouse { entered.and_then(|()| execute!(out, EnableMouseCapture)) } else { entered };
    entered.inspect_err(|_| restore())
}

/// Restores the terminal before the default panic message is printed, so the message lands on a
/// usable screen; panics on the collector thread are reported by the dashboard instead.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(COLLECTOR_THREAD) {
                return;
            }
            restore();
            previous(info);
        }));
    });
}
