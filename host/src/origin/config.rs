//! `[[origins]]`: what the operator lets a definition reach. A plugin can
//! reach only the origin named here for its definition, only the
//! statements declared here (by name), only paths under `http`'s base.

use std::collections::BTreeMap;

use serde::Deserialize;

/// How a definition's writes reach its origin.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// `CACHE.SET` writes the cache only (the origin is read-through only).
    #[default]
    None,
    /// `CACHE.SET` writes the origin first, then the cache; an origin that
    /// refuses or is down makes the reply an error and leaves the cache as it was.
    Through,
    /// `CACHE.SET` appends the write to the node's durable queue (fsynced
    /// before the reply), updates the cache, and the flusher writes it to
    /// the origin later: batched, coalesced per key, retried, dead-lettered.
    Behind,
}

/// One origin and the definitions that may use it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginConfig {
    /// A name for logs, `INFO` and errors.
    pub name: String,
    /// A PostgreSQL connection string (`host=127.0.0.1 port=5432 user=app
    /// dbname=app`, or a `postgres://` URL). Exactly one of `postgres` and `http`.
    #[serde(default)]
    pub postgres: Option<String>,
    /// An HTTP base URL (`http://127.0.0.1:8080/api/`); mappings give paths under it.
    #[serde(default)]
    pub http: Option<String>,
    /// Short names of the definitions that load from (and write to) it.
    pub definitions: Vec<String>,
    /// The SQL a mapping may run, by name. A plugin names one of these and
    /// supplies parameters; it never sends SQL text.
    #[serde(default)]
    pub statements: BTreeMap<String, String>,
    /// Write-behind on PostgreSQL: a statement's batch form, by name. When
    /// a batch holds several writes of statement `put_kv`, the host runs
    /// the declared statement named here once instead, each parameter `$n`
    /// an array of the writes' `$n` (`INSERT … SELECT * FROM
    /// unnest($1::text[], $2::bytea[], $3::bigint[]) …`): one statement for
    /// the batch, as a client's multi-row `INSERT` is. The plugin is
    /// unchanged. If the batch form fails, the writes run one by one.
    #[serde(default)]
    pub batch_statements: BTreeMap<String, String>,
    /// Connections to a PostgreSQL origin (each pipelines concurrent queries).
    #[serde(default = "default_connections")]
    pub connections: usize,
    /// Hard timeout of one origin call: beyond it the request fails
    /// (or is answered stale, where a stale value is allowed).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Soft timeout: when a stale value exists, a load that takes longer
    /// answers the stale value and finishes in the background. 0: off.
    #[serde(default)]
    pub soft_timeout_ms: u64,
    /// How long past its TTL an entry is kept to be served stale, when the
    /// origin fails, is slow (soft timeout) or a lease holder is loading
    /// (fail-safe). 0: never stale.
    #[serde(default)]
    pub stale_ms: u64,
    /// Eager refresh: after this fraction of an entry's TTL (0.0–1.0, 0:
    /// off), the first read reloads it in the background while every read,
    /// including that one, keeps getting the current value.
    #[serde(default)]
    pub refresh_after: f64,
    /// How long a lease (`CACHE.LEASE`) stays valid if its holder never fills.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
    /// How long a loaded value stays fresh; default: the definition's
    /// default TTL (clamped to its max TTL either way).
    #[serde(default)]
    pub load_ttl_ms: Option<u64>,
    /// How writes reach it.
    #[serde(default)]
    pub write: WriteMode,
    /// Largest response accepted (rows and HTTP bodies), in bytes.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: usize,
}

fn default_connections() -> usize {
    4
}
fn default_timeout_ms() -> u64 {
    2_000
}
fn default_lease_ms() -> u64 {
    10_000
}
fn default_max_response_bytes() -> usize {
    1 << 20
}

impl OriginConfig {
    /// Checks what serde cannot: one kind, sane numbers.
    pub fn check(&self) -> Result<(), String> {
        match (&self.postgres, &self.http) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(format!(
                    "origin `{}`: give exactly one of `postgres` and `http`",
                    self.name
                ));
            }
            (None, Some(base)) => {
                super::http::Base::parse(base)
                    .map_err(|e| format!("origin `{}`: {e}", self.name))?;
            }
            (Some(_), None) => {}
        }
        if !(0.0..=1.0).contains(&self.refresh_after) {
            return Err(format!(
                "origin `{}`: refresh_after must be between 0.0 and 1.0",
                self.name
            ));
        }
        for (single, batch) in &self.batch_statements {
            for name in [single, batch] {
                if !self.statements.contains_key(name) {
                    return Err(format!(
                        "origin `{}`: batch_statements names `{name}`, which is not in [origins.statements]",
                        self.name
                    ));
                }
            }
        }
        if self.timeout_ms == 0 {
            return Err(format!("origin `{}`: timeout_ms must be > 0", self.name));
        }
        if self.soft_timeout_ms >= self.timeout_ms {
            return Err(format!(
                "origin `{}`: soft_timeout_ms must be below timeout_ms",
                self.name
            ));
        }
        Ok(())
    }
}
