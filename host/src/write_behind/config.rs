//! `[write_behind]`: where the node's durable write queue lives and how its
//! flusher batches, retries and gives up. Which definitions write behind is
//! the origin's `write = "behind"` (see `origin/config.rs`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The node's write-behind settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriteBehindConfig {
    /// The directory of the queue file (`write-behind-<port>.redb`). Default:
    /// `hoard-data` under the working directory, created on first use; only
    /// a server with a write-behind origin creates it.
    pub dir: Option<PathBuf>,
    /// The queue file itself, when a fixed name is wanted (tests, several
    /// nodes in one directory); overrides `dir`.
    pub file: Option<PathBuf>,
    /// Most writes sent to an origin in one batch (one transaction on PostgreSQL).
    pub batch_size: usize,
    /// How long a write may wait for its batch to fill before it is sent anyway.
    pub batch_delay_ms: u64,
    /// Batches at the origins at once (each on a connection of its own on
    /// PostgreSQL). A key is never in two of them.
    pub flush_concurrency: usize,
    /// Attempts of one write (after failures of that write, not of the whole
    /// origin) before it moves to the dead-letter queue.
    pub max_attempts: u32,
    /// The first retry's delay; each further one doubles it, with jitter.
    pub backoff_ms: u64,
    /// The longest delay between two attempts (and between two probes of an
    /// origin that cannot be reached).
    pub backoff_max_ms: u64,
    /// On a graceful shutdown, how long the flusher keeps draining into the
    /// origin; what is left stays on disk for the next start.
    pub shutdown_grace_ms: u64,
}

impl Default for WriteBehindConfig {
    fn default() -> Self {
        WriteBehindConfig {
            dir: None,
            file: None,
            batch_size: 256,
            batch_delay_ms: 10,
            flush_concurrency: 2,
            max_attempts: 8,
            backoff_ms: 100,
            backoff_max_ms: 30_000,
            shutdown_grace_ms: 5_000,
        }
    }
}

impl WriteBehindConfig {
    /// Refuses a default file name that would not find the queue again:
    /// with `--port 0` each start listens on another port, so the
    /// acknowledged writes of the last run would sit unread in a file named
    /// after its port.
    pub fn check_port(&self, port: u16) -> Result<(), String> {
        if port == 0 && self.file.is_none() {
            return Err(
                "[write_behind] with --port 0 needs `file`: the default name \
                        write-behind-<port>.redb would change with every start and the \
                        queue's unconfirmed writes would not be replayed"
                    .into(),
            );
        }
        Ok(())
    }

    /// The queue file of the node listening on `port`.
    pub fn path(&self, port: u16) -> PathBuf {
        if let Some(file) = &self.file {
            return file.clone();
        }
        self.dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("hoard-data"))
            .join(format!("write-behind-{port}.redb"))
    }

    /// Checks what serde cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.batch_size == 0 {
            return Err("[write_behind] batch_size must be > 0".into());
        }
        if self.flush_concurrency == 0 {
            return Err("[write_behind] flush_concurrency must be > 0".into());
        }
        if self.max_attempts == 0 {
            return Err("[write_behind] max_attempts must be > 0".into());
        }
        if self.backoff_ms == 0 || self.backoff_max_ms < self.backoff_ms {
            return Err("[write_behind] backoff_ms must be > 0 and <= backoff_max_ms".into());
        }
        Ok(())
    }

    /// The batch delay.
    pub fn batch_delay(&self) -> Duration {
        Duration::from_millis(self.batch_delay_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_needs_an_explicit_queue_file() {
        let default = WriteBehindConfig::default();
        assert!(default.check_port(6380).is_ok());
        assert!(default.check_port(0).unwrap_err().contains("`file`"));
        let named = WriteBehindConfig {
            file: Some(PathBuf::from("/tmp/q.redb")),
            ..WriteBehindConfig::default()
        };
        assert!(named.check_port(0).is_ok());
    }
}
