//! `INFO [section]`: server facts in Redis's `key:value` text form, plus a
//! `# Caches` section with each definition's counters.

use std::fmt::Write;

use super::ServerFacts;
use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(
    parse: &mut Parse,
    cache: &Cache,
    facts: &ServerFacts,
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
            "# Server\r\nredis_version:7.0.0\r\nhoard_version:{}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n\r\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::process::id(),
            facts.port,
            facts.started.elapsed().as_secs(),
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
    let invalidation = cache.catalog().invalidation_budget().counters();
    if wants("stats") {
        let _ = write!(
            text,
            "# Stats\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\ninvalidation_steps:{}\r\ninvalidation_fallbacks:{}\r\n\r\n",
            plain.hits,
            plain.misses,
            plain.expirations,
            plain.evictions,
            invalidation.steps,
            invalidation.fallbacks,
        );
    }
    if wants("keyspace") {
        let _ = write!(text, "# Keyspace\r\n");
        if plain.items > 0 {
            let _ = write!(text, "db0:keys={},expires=0,avg_ttl=0\r\n", plain.items);
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
            }
        }
    }
    Ok(Frame::Verbatim(text))
}

/// Resident set size of this process, from `/proc/self/statm` (0 where unavailable).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}
