//! `[l2]`: where the shared level lives (a Redis URL or Cluster seeds), how
//! long L2 calls may take, when to stop trusting L1, and which definitions
//! use the level. Absent, hoard is a single node and nothing here runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The shared second level and its invalidation bus.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct L2Config {
    /// A standalone Redis (`redis://127.0.0.1:6379/`). Exactly one of `url`
    /// and `cluster` is set.
    pub url: Option<String>,
    /// Seed nodes of a Redis Cluster (`redis://127.0.0.1:7000/` ...).
    pub cluster: Vec<String>,
    /// Where the bus subscription connects; default: `url` (or the first
    /// seed). A separate address lets the bus run through its own route.
    pub bus_url: Option<String>,
    /// With a fallback value in hand (a stale L1 entry), a read waits this
    /// long for L2 before answering with the fallback.
    pub soft_timeout_ms: u64,
    /// An L2 call never takes longer than this; it then counts as failed.
    pub hard_timeout_ms: u64,
    /// Consecutive failures that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before one trial call.
    pub breaker_open_ms: u64,
    /// The staleness bound: a node that cannot confirm its bus link within
    /// this many milliseconds stops serving L1 for L2-backed definitions.
    pub max_stale_ms: u64,
    /// How long past its freshness an L1 entry may still be served (marked
    /// stale) while L2 cannot answer. 0 disables fail-safe serving.
    pub fail_safe_ms: u64,
    /// Longest L1 TTL for promoted and written entries; each entry's L1 TTL
    /// is also never longer than its remaining L2 TTL.
    pub l1_ttl_ms: u64,
    /// How often queued writes are retried while L2 is away.
    pub replay_interval_ms: u64,
    /// The durable replay queue (a redb file). Default:
    /// `$XDG_STATE_HOME/hoard/replay-<port>.redb` (or `~/.local/state/...`).
    pub replay_file: Option<PathBuf>,
    /// How long a deletion's tombstone stays in L2, so a write queued on a
    /// node that was cut off cannot bring the value back when it replays.
    pub tombstone_ms: u64,
    /// Per-definition settings by cache name; definitions not listed use L2.
    pub definitions: BTreeMap<String, TierSettings>,
}

/// One definition's use of the tiers.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierSettings {
    /// Whether this definition's entries go to L2 (and over the bus).
    pub l2: bool,
    /// Its L1 TTL cap; default: `[l2] l1_ttl_ms`.
    pub l1_ttl_ms: Option<u64>,
    /// Whether its entries may be served stale while L2 is away.
    pub fail_safe: bool,
    /// Whether this node's L1 also drops entries that other applications
    /// change in Redis directly (not through hoard): Redis tells the node
    /// through server-assisted client tracking (`CLIENT TRACKING ... BCAST
    /// PREFIX <namespace>`) on one dedicated connection (on a Cluster, one
    /// per primary). Ignored for definitions with `l2 = false`.
    pub track_direct_writes: bool,
}

impl Default for TierSettings {
    fn default() -> Self {
        Self {
            l2: true,
            l1_ttl_ms: None,
            fail_safe: true,
            track_direct_writes: false,
        }
    }
}

impl Default for L2Config {
    fn default() -> Self {
        Self {
            url: None,
            cluster: Vec::new(),
            bus_url: None,
            soft_timeout_ms: 50,
            hard_timeout_ms: 500,
            breaker_failures: 5,
            breaker_open_ms: 1_000,
            max_stale_ms: 1_000,
            fail_safe_ms: 60_000,
            l1_ttl_ms: 30_000,
            replay_interval_ms: 500,
            replay_file: None,
            tombstone_ms: 600_000,
            definitions: BTreeMap::new(),
        }
    }
}

impl L2Config {
    /// Refuses settings that cannot work, with the reason.
    pub fn validate(&self) -> anyhow::Result<()> {
        match (&self.url, self.cluster.is_empty()) {
            (Some(_), false) => anyhow::bail!("[l2] takes `url` or `cluster`, not both"),
            (None, true) => anyhow::bail!("[l2] needs `url` or `cluster`"),
            _ => {}
        }
        if self.hard_timeout_ms == 0 || self.soft_timeout_ms > self.hard_timeout_ms {
            anyhow::bail!("[l2] needs 0 < soft_timeout_ms <= hard_timeout_ms");
        }
        if self.max_stale_ms < 10 {
            anyhow::bail!("[l2] max_stale_ms must be at least 10");
        }
        Ok(())
    }

    /// The settings of definition `name`.
    pub fn settings(&self, name: &str) -> TierSettings {
        self.definitions.get(name).cloned().unwrap_or_default()
    }

    /// The L1 TTL cap of definition `name`.
    pub fn l1_ttl_for(&self, name: &str) -> u64 {
        self.settings(name)
            .l1_ttl_ms
            .unwrap_or(self.l1_ttl_ms)
            .max(1)
    }

    /// Whether any definition asks for direct writes to be tracked.
    pub fn tracks_direct_writes(&self) -> bool {
        self.definitions
            .values()
            .any(|s| s.l2 && s.track_direct_writes)
    }

    /// The address the bus subscribes through.
    pub fn bus_address(&self) -> Option<&str> {
        self.bus_url
            .as_deref()
            .or(self.url.as_deref())
            .or(self.cluster.first().map(String::as_str))
    }

    /// Refuses a default replay file that would not be found again: with
    /// `--port 0` each start listens on another port, so the writes queued
    /// for replay (answered `PARTIAL`) would sit unread in a file named
    /// after the last run's port.
    pub fn check_port(&self, port: u16) -> anyhow::Result<()> {
        if port == 0 && self.replay_file.is_none() {
            anyhow::bail!(
                "[l2] with --port 0 needs `replay_file`: the default name replay-<port>.redb \
                 would change with every start and queued writes would not be replayed"
            );
        }
        Ok(())
    }

    /// The replay file for a server on `port`.
    pub fn replay_path(&self, port: u16) -> PathBuf {
        if let Some(path) = &self.replay_file {
            return path.clone();
        }
        let base = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("hoard").join(format!("replay-{port}.redb"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_needs_an_explicit_replay_file() {
        let default: L2Config = toml::from_str("url = \"redis://a/\"\n").unwrap();
        assert!(default.check_port(6380).is_ok());
        let refused = default.check_port(0).unwrap_err().to_string();
        assert!(refused.contains("replay_file"), "{refused}");
        let named: L2Config =
            toml::from_str("url = \"redis://a/\"\nreplay_file = \"/tmp/r.redb\"\n").unwrap();
        assert!(named.check_port(0).is_ok());
    }

    #[test]
    fn one_address_kind_and_sane_timeouts_are_required() {
        let ok: L2Config = toml::from_str("url = \"redis://127.0.0.1:1/\"\n").unwrap();
        assert!(ok.validate().is_ok());
        let both: L2Config =
            toml::from_str("url = \"redis://a/\"\ncluster = [\"redis://b/\"]\n").unwrap();
        assert!(both.validate().is_err());
        assert!(L2Config::default().validate().is_err());
        let inverted: L2Config =
            toml::from_str("url = \"redis://a/\"\nsoft_timeout_ms = 900\nhard_timeout_ms = 100\n")
                .unwrap();
        assert!(inverted.validate().is_err());
    }

    #[test]
    fn direct_write_tracking_is_opt_in_and_standalone_only() {
        let config: L2Config = toml::from_str(
            "url = \"redis://a/\"\n[definitions.Tracked]\ntrack_direct_writes = true\n",
        )
        .unwrap();
        assert!(config.validate().is_ok());
        assert!(config.settings("Tracked").track_direct_writes);
        assert!(!config.settings("Other").track_direct_writes);
        assert!(config.tracks_direct_writes());
        let cluster: L2Config = toml::from_str(
            "cluster = [\"redis://a/\"]\n[definitions.Tracked]\ntrack_direct_writes = true\n",
        )
        .unwrap();
        assert!(cluster.validate().is_ok(), "a Cluster tracks per primary");
        assert!(cluster.tracks_direct_writes());
    }

    #[test]
    fn definitions_default_to_l2_and_take_their_own_l1_ttl() {
        let config: L2Config = toml::from_str(
            "url = \"redis://a/\"\nl1_ttl_ms = 500\n[definitions.Local]\nl2 = false\n[definitions.Short]\nl1_ttl_ms = 20\n",
        )
        .unwrap();
        assert!(config.settings("Other").l2);
        assert!(!config.settings("Local").l2);
        assert_eq!(config.l1_ttl_for("Short"), 20);
        assert_eq!(config.l1_ttl_for("Other"), 500);
    }
}
