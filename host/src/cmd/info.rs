//! `INFO [section]`: server facts in Redis's `key:value` text form, plus a
//! `# Caches` section with each definition's counters.

use std::fmt::Write;

use std::sync::atomic::Ordering::Relaxed;

use super::keyspace::Keyspace;
use super::{Counters, ServerFacts};
use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(
    parse: &mut Parse,
    cache: &Cache,
    facts: &ServerFacts,
    counters: &Counters,
    keyspace: &Keyspace,
) -> Result<Frame, ParseError> {
    let section = if parse.remaining() > 0 {
        Some(parse.next_string()?.to_ascii_lowercase())
    } else {
        None
    };
    let wants = |name: &str| {
        section
            .as_deref()
            .is_none_or(|s| s == name || s == "all" || s == "everything" || s == "default")
    };
    let mut text = String::new();
    if wants("server") {
        let _ = write!(
            text,
            "# Server\r\nredis_version:{REDIS_VERSION}\r\nhoard_version:{}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\nhoard_async_workers:{}\r\n\r\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::process::id(),
            facts.port,
            facts.started.elapsed().as_secs(),
            tokio::runtime::Handle::try_current().map_or(0, |h| h.metrics().num_workers()),
        );
    }
    // The caller's tenant only: its connections and its tracking table.
    let tracking = keyspace.tracking.stats();
    if wants("clients") {
        let _ = write!(
            text,
            "# Clients\r\nconnected_clients:{}\r\ntracking_clients:{}\r\n\r\n",
            keyspace.clients.len(),
            tracking.clients,
        );
    }
    if wants("memory") {
        let rss = resident_bytes();
        let _ = write!(
            text,
            "# Memory\r\nused_memory_rss:{rss}\r\nmaxmemory:0\r\n\r\n"
        );
    }
    let plain = cache.plain().stats();
    if wants("cpu") {
        let (user, sys) = cpu_seconds();
        let _ = write!(
            text,
            "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\n\r\n"
        );
    }
    let invalidation = cache.catalog().invalidation_budget().counters();
    if wants("stats") {
        let _ = write!(
            text,
            "# Stats\r\ntotal_commands_processed:{}\r\nrejected_calls:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\ninvalidation_steps:{}\r\ninvalidation_fallbacks:{}\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\n\r\n",
            counters.commands.load(Relaxed),
            counters.rejected.load(Relaxed),
            plain.hits,
            plain.misses,
            plain.expirations,
            plain.evictions,
            invalidation.steps,
            invalidation.fallbacks,
            tracking.keys,
            tracking.items,
            tracking.prefixes,
        );
    }
    if wants("keyspace") {
        let _ = write!(text, "# Keyspace\r\n");
        if plain.items > 0 {
            let _ = write!(text, "db0:keys={},expires=0,avg_ttl=0\r\n", plain.items);
        }
        let _ = write!(text, "\r\n");
    }
    if wants("l2")
        && let Some(tier) = cache.tier()
    {
        let n = tier.node_stats();
        let _ = write!(
            text,
            "# L2\r\nl2_node_id:{:016x}\r\nl2_breaker:{}\r\nl2_breaker_opens:{}\r\nl2_calls:{}\r\nl2_failures:{}\r\nl2_latency_mean_us:{}\r\nl2_latency_last_us:{}\r\nl2_replay_depth:{}\r\nl2_replayed:{}\r\nl2_replay_dropped:{}\r\nl2_read_pipe:{}\r\nl2_piped_reads:{}\r\nl2_read_pipe_opens:{}\r\nbus_link:{}\r\nbus_lag_us:{}\r\nbus_confirmed_age_ms:{}\r\nbus_gaps:{}\r\nbus_flushes:{}\r\nbus_received:{}\r\ntracking_link:{}\r\ntracking_prefixes:{}\r\ntracking_invalidations:{}\r\ntracking_flushes:{}\r\ntracking_connects:{}\r\ntracking_links:{}\r\n\r\n",
            n.node,
            n.breaker.name(),
            n.breaker_opens,
            n.calls,
            n.failures,
            n.mean_us,
            n.last_us,
            n.replay_depth,
            n.replayed,
            n.replay_dropped,
            n.pipe.link.name(),
            n.pipe.reads,
            n.pipe.opens,
            if n.bus.link_ok { "up" } else { "down" },
            n.bus.lag_us,
            n.bus.confirmed_age_ms,
            n.bus.gaps,
            n.bus.flushes,
            n.bus.received,
            match (n.tracking.wanted, n.tracking.link_ok) {
                (false, _) => "off",
                (true, true) => "up",
                (true, false) => "down",
            },
            n.tracking.prefixes,
            n.tracking.invalidations,
            n.tracking.flushes,
            n.tracking.connects,
            n.tracking.links,
        );
    }
    if wants("writebehind")
        && let Some(lines) = cache.write_behind_info()
    {
        let _ = write!(text, "# WriteBehind\r\n");
        for (name, value) in lines {
            let _ = write!(text, "{name}:{value}\r\n");
        }
        let _ = write!(text, "\r\n");
    }
    if wants("caches") {
        let _ = write!(text, "# Caches\r\n");
        for (name, id) in cache.list() {
            if let Ok(info) = cache.info(&name) {
                let s = info.stats;
                let _ = write!(
                    text,
                    "{name}:id={id},items={},bytes={},hits={},misses={},sets={},rejects={},evictions={},expirations={},plugin_calls={},plugin_faults={}\r\n",
                    s.items,
                    s.bytes,
                    s.hits,
                    s.misses,
                    s.sets,
                    info.rejects,
                    s.evictions,
                    s.expirations,
                    info.plugin_calls,
                    info.plugin_faults,
                );
                if let Some(origin) = cache.origin_of(&name) {
                    let counters: Vec<String> = origin
                        .counters
                        .snapshot()
                        .into_iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    let _ = write!(
                        text,
                        "{name}_origin:origin={},{}\r\n",
                        origin.config().name,
                        counters.join(",")
                    );
                }
                if let Some(c) = cache.level_snapshot(&name) {
                    let _ = write!(
                        text,
                        "{name}_tiers:l1_hits={},l2_hits={},misses={},stale_hits={},partial_writes={},tracked_invalidations={}\r\n",
                        c.l1_hits,
                        c.l2_hits,
                        c.misses,
                        c.stale_hits,
                        c.partial_writes,
                        c.tracked_invalidations,
                    );
                }
            }
        }
    }
    Ok(Frame::Verbatim(text))
}

/// The Redis version whose commands and replies hoard follows (the subset in README), reported
/// by `INFO` and `HELLO` so clients enable what they gate on it.
pub(super) const REDIS_VERSION: &str = "7.4.0";

/// User and system CPU seconds of this process, from `/proc/self/stat` (0 where
/// unavailable). Fields 14 and 15 are in clock ticks, 100 per second on Linux.
fn cpu_seconds() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // The command name (field 2) may hold spaces; fields after it start past the last ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

/// Resident set size of this process, from `/proc/self/statm` (0 where unavailable).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}
