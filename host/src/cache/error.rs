//! Errors of the cache's library API. Each variant maps to one RESP error
//! prefix ([`CacheError::prefix`]) and one metric, so callers branch on the
//! variant, never on text.

use crate::cache::envelope::EnvelopeError;
use crate::cache::transcode::TranscodeError;
use crate::definition::{EventError, KeyError};
use crate::plugin::PluginError;

/// Why a cache operation could not run.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CacheError {
    /// No definition has this name.
    #[error("no cache named {0:?}")]
    NoCache(String),
    /// The plugin refused the key parts.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// The plugin refused the event (unknown event, bad payload).
    #[error("{0}")]
    Event(#[from] EventError),
    /// The plugin failed (trap, timeout, limit).
    #[error("{cache}: {error}")]
    Plugin {
        /// Which cache's plugin.
        cache: String,
        /// What went wrong.
        error: PluginError,
    },
    /// The definition already has as many calls running and waiting as it
    /// may; the request was refused at once instead of queueing.
    #[error("{cache}: {waiting} plugin calls are already waiting; retry later")]
    Busy {
        /// Which cache.
        cache: String,
        /// Calls waiting for a plugin thread (the definition's queue limit).
        waiting: usize,
    },
    /// The value is not valid in the connection's format.
    #[error(transparent)]
    Transcode(#[from] TranscodeError),
    /// The value is over the configured size limit.
    #[error("value of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The value's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A stored value could not be restored (never expected; reported, entry dropped).
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The definition's origin failed, refused, timed out, or its mapping failed.
    #[error("{0}")]
    Origin(#[from] crate::origin::OriginError),
    /// The write-behind queue could not take the write (disk full, I/O
    /// error, shutdown): nothing was acknowledged, nothing changed.
    #[error("{0}")]
    Queue(String),
    /// The plugin thread running the call was lost (a host bug, or shutdown).
    #[error("internal error while running the plugin call")]
    Internal,
}

impl CacheError {
    /// The RESP error prefix clients branch on.
    pub fn prefix(&self) -> &'static str {
        match self {
            CacheError::NoCache(_) => "NOCACHE",
            CacheError::Key(_) => "BADKEY",
            CacheError::Event(_) => "BADEVENT",
            CacheError::Plugin { .. } => "PLUGIN",
            CacheError::Busy { .. } => "BUSY",
            CacheError::TooLarge { .. } => "QUOTA",
            CacheError::Origin(_) => "ORIGIN",
            CacheError::Queue(_) => "QUEUE",
            CacheError::Transcode(_) | CacheError::Envelope(_) | CacheError::Internal => "ERR",
        }
    }
}
