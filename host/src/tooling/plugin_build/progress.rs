//! Status lines for `hoard plugin build`, the way cargo prints them: a
//! right-aligned verb (green and bold) and what it applies to, on stderr, so
//! the first Python or JavaScript build (seconds; `npm ci` longer) does not
//! look hung. Only on a terminal: piped or captured, the build stays quiet
//! and stdout carries just the component's path.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Where status lines go, if anywhere.
pub(super) struct Progress {
    out: Option<Box<dyn Write + Send>>,
    color: bool,
    started: Instant,
}

impl Progress {
    /// Status lines on stderr when it is a terminal; nothing otherwise.
    /// `HOARD_PROGRESS=always|never` overrides the guess.
    pub(super) fn stderr() -> Self {
        let terminal = std::io::stderr().is_terminal();
        let on = match std::env::var("HOARD_PROGRESS").as_deref() {
            Ok("always") => true,
            Ok("never") => false,
            _ => terminal,
        };
        Self::to(
            on.then(|| Box::new(std::io::stderr()) as Box<dyn Write + Send>),
            terminal,
        )
    }

    /// Status lines to `out` (none when `None`), colored or not.
    pub(super) fn to(out: Option<Box<dyn Write + Send>>, color: bool) -> Self {
        Self {
            out,
            color,
            started: Instant::now(),
        }
    }

    /// One status line: `   Compiling user-cache (python)`.
    pub(super) fn status(&mut self, verb: &str, what: &str) {
        let color = self.color;
        if let Some(out) = &mut self.out {
            let line = if color {
                format!("\x1b[1;32m{verb:>12}\x1b[0m {what}\n")
            } else {
                format!("{verb:>12} {what}\n")
            };
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }

    /// The closing line, with the time since the build started.
    pub(super) fn finished(&mut self, what: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        self.status("Finished", &format!("{what} in {secs:.2}s"));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_aligned_like_cargo_and_absent_when_quiet() {
        let sink = Sink::default();
        let mut progress = Progress::to(Some(Box::new(sink.clone())), false);
        progress.status("Compiling", "user-cache (python)");
        progress.finished("target/user-cache.wasm");
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("   Compiling user-cache (python)"));
        let last = lines.next().unwrap();
        assert!(
            last.starts_with("    Finished target/user-cache.wasm in "),
            "{last}"
        );
        assert!(last.ends_with('s'));

        let mut quiet = Progress::to(None, false);
        quiet.status("Compiling", "anything");
        quiet.finished("anything");
    }

    #[test]
    fn color_wraps_only_the_verb() {
        let sink = Sink::default();
        let mut progress = Progress::to(Some(Box::new(sink.clone())), true);
        progress.status("Running", "npm ci");
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "\x1b[1;32m     Running\x1b[0m npm ci\n");
    }
}
