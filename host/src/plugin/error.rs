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
    /// The compiled-artifact cache failed in a way that is not recoverable.
    #[error("compiled artifact cache: {0}")]
    Artifact(String),
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
