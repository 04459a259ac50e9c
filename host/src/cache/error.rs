//! Errors of the cache's library API. Each variant maps to one RESP error
//! prefix and one metric, so callers branch on the variant, never on text.

use crate::cache::envelope::EnvelopeError;
use crate::cache::transcode::TranscodeError;
use crate::definition::KeyError;
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
    /// The plugin failed (trap, timeout, limit).
    #[error("{cache}: {error}")]
    Plugin {
        /// Which cache's plugin.
        cache: String,
        /// What went wrong.
        error: PluginError,
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
}
