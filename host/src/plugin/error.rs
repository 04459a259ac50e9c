//! Typed plugin failures. `wasmtime::Error` is converted here, once, so that
//! the rest of the host branches on what happened (a timeout, a memory bomb,
//! a trap) and never on wasmtime's types.

use std::time::Duration;

use super::limits::{MemoryLimitExceeded, SleepPastDeadline};

/// A call into a plugin that did not produce an answer.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PluginError {
    /// The call ran past its deadline and was interrupted.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The guest asked for more linear memory than its limit.
    #[error("exceeded its memory limit of {0} bytes")]
    MemoryLimit(usize),
    /// The guest exhausted its WebAssembly stack.
    #[error("overflowed its stack")]
    StackOverflow,
    /// The guest tried to hand back more data than allowed.
    #[error("returned more than {0} bytes")]
    OutputTooLarge(usize),
    /// The guest trapped (a panic, `unreachable`, an out-of-bounds access...).
    #[error("trapped: {0}")]
    Trap(String),
    /// A fresh instance could not be created.
    #[error("could not be instantiated: {0}")]
    Instantiate(String),
    /// The plugin faulted repeatedly and is refused calls for a cool-down.
    #[error("quarantined after repeated faults (retry in {}s)", .0.as_secs().max(1))]
    Quarantined(Duration),
    /// The answer broke the contract (e.g. a key longer than allowed).
    #[error("broke the contract: {0}")]
    Contract(String),
    /// A call run inline on an async worker outgrew its small budget; the
    /// host runs it again on a plugin thread (never a client's answer).
    #[error("outgrew the inline call budget")]
    OverInlineBudget,
}

impl PluginError {
    /// Short stable label, for metrics and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::Timeout(_) => "timeout",
            PluginError::MemoryLimit(_) => "memory",
            PluginError::StackOverflow => "stack",
            PluginError::OutputTooLarge(_) => "output",
            PluginError::Trap(_) => "trap",
            PluginError::Instantiate(_) => "instantiate",
            PluginError::Quarantined(_) => "quarantined",
            PluginError::Contract(_) => "contract",
            PluginError::OverInlineBudget => "inline-budget",
        }
    }

    /// Classifies an error returned by a call into the guest.
    pub(crate) fn from_call(
        error: &wasmtime::Error,
        timeout: Duration,
        max_output: usize,
    ) -> PluginError {
        if let Some(limit) = error.downcast_ref::<MemoryLimitExceeded>() {
            return PluginError::MemoryLimit(limit.limit);
        }
        if error.downcast_ref::<SleepPastDeadline>().is_some() {
            return PluginError::Timeout(timeout);
        }
        if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
            return match trap {
                wasmtime::Trap::Interrupt => PluginError::Timeout(timeout),
                wasmtime::Trap::StackOverflow => PluginError::StackOverflow,
                other => PluginError::Trap(other.to_string()),
            };
        }
        let text = format!("{error:#}");
        // wasmtime's hostcall-fuel error type is private; its message is stable.
        if text.contains("fuel allocated for hostcalls") {
            return PluginError::OutputTooLarge(max_output);
        }
        PluginError::Trap(truncate(text, 512))
    }

    /// Classifies an error from instantiation (start functions, initialisers): a deadline or
    /// limit hit there is said plainly, not as a wasm backtrace.
    pub(crate) fn from_instantiate(
        error: &wasmtime::Error,
        timeout: Duration,
        max_output: usize,
    ) -> PluginError {
        match PluginError::from_call(error, timeout, max_output) {
            PluginError::Timeout(after) => PluginError::Instantiate(format!(
                "timed out after {after:?} while initialising (start function or constructors)"
            )),
            PluginError::Trap(_) => PluginError::Instantiate(truncate(format!("{error:#}"), 512)),
            other => PluginError::Instantiate(format!("{other} while initialising")),
        }
    }
}

/// A plugin file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Which file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid WebAssembly component.
    #[error("not a valid WebAssembly component: {0}")]
    NotAComponent(String),
    /// The component imports something outside the allowlist.
    #[error("imports `{imports}`, which plugins may not use (allowed: {allowed})")]
    ForbiddenImport {
        /// The offending imports.
        imports: String,
        /// The allowlist, for the reader.
        allowed: String,
    },
    /// The component does not implement the `hoard:definition/plugin` world.
    #[error("does not implement the hoard:definition@0.1.0 `plugin` world: {0}")]
    WrongWorld(String),
    /// `describe()` failed.
    #[error("describe() failed: {0}")]
    Describe(PluginError),
    /// The descriptor is inconsistent or over the host's caps.
    #[error("invalid descriptor: {0}")]
    Definition(#[from] crate::definition::DefinitionError),
    /// Another loaded plugin already uses this cache name.
    #[error("cache name {0:?} is already taken by another plugin")]
    DuplicateName(String),
    /// At start-up, plugins with different ids declared the same cache name: all of them
    /// are refused, so that no file wins by its name's sort order.
    #[error("cache name {name:?} is declared by different ids ({claims}); none of them is loaded")]
    NameContested {
        /// The contested cache name.
        name: String,
        /// Every claim, `id@version from file`.
        claims: String,
    },
    /// At start-up, another file with the same id and a higher (or equal, earlier-named)
    /// version was loaded for this name instead.
    #[error(
        "cache {name:?} (id {id:?}) is also in {kept}, which is loaded instead (highest version, then first file name)"
    )]
    Superseded {
        /// The cache name.
        name: String,
        /// Their shared id.
        id: String,
        /// The file loaded instead.
        kept: String,
    },
    /// The file may lead outside the plugin directory, or is not a plain bounded file; it was
    /// not read (or not past the check).
    #[error("{path} {reason}")]
    Unsafe {
        /// Which file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The cache name belongs to another definition id; replacing it needs an explicit
    /// administrator request (`PLUGIN.LOAD <path> REPLACE`).
    #[error(
        "cache name {name:?} belongs to {holder}; {claimant} with the same name, refused (PLUGIN.LOAD <path> REPLACE replaces it)"
    )]
    NameTaken {
        /// The contested cache name.
        name: String,
        /// Who holds it: `id "x" (loaded from file)`.
        holder: String,
        /// Who claimed it: `file declares id "y"`.
        claimant: String,
    },
    /// The compiled-artifact cache failed in a way that is not recoverable.
    #[error("compiled artifact cache: {0}")]
    Artifact(String),
}

/// Makes plugin text safe to put in a log line: newlines, carriage returns, tabs, every other
/// control character (C0, DEL, C1, so no ANSI escape sequence), line and paragraph separators
/// and bidirectional overrides are written as escapes, and so is the backslash itself, so an
/// escape in the output always comes from this function. A plugin cannot start a line that
/// looks like a host record, nor repaint the terminal.
pub(crate) fn escape_log_text(text: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_text_cannot_start_a_line_or_send_escapes() {
        let forged = "ok\n2026-01-01T00:00:00Z  INFO hoard: admin logged in\r\x1b[2Jback\\slash\u{85}\u{2028}é";
        let safe = escape_log_text(forged);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert_eq!(
            safe,
            "ok\\n2026-01-01T00:00:00Z  INFO hoard: admin logged in\\r\\u{1b}[2Jback\\\\slash\\u{85}\\u{2028}é"
        );
    }
}
