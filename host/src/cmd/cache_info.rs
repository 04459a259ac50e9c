//! `CACHE.INFO <cache>`: the definition as declared (versioned id, TTLs,
//! policy...), its counters, and where its plugin came from.

use crate::cache::Cache;
use hoard_l1::{ExpiryMode, Policy};
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    parse.finish()?;
    let info = match cache.info(&name) {
        Ok(info) => info,
        Err(e) => return Ok(super::error_frame(&e)),
    };
    let d = &info.definition;
    let s = &info.stats;
    let int = |n: u64| Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let list = |items: &[String]| Frame::Array(items.iter().cloned().map(Frame::bulk).collect());
    let fields = vec![
        ("name", Frame::bulk(d.name.clone())),
        ("id", Frame::bulk(d.versioned_id())),
        ("description", Frame::bulk(d.description.clone())),
        ("version", Frame::bulk(d.version.to_string())),
        ("default-ttl-ms", int(d.default_ttl_ms)),
        ("max-ttl-ms", int(d.max_ttl_ms)),
        (
            "expiration",
            Frame::bulk(match d.expiry {
                ExpiryMode::Absolute => "absolute",
                ExpiryMode::Sliding => "sliding",
            }),
        ),
        (
            "eviction",
            Frame::bulk(match d.eviction {
                Policy::Lru => "lru",
                Policy::Lfu => "lfu",
            }),
        ),
        ("max-items", int(d.max_items)),
        ("allow-null", Frame::Boolean(d.allow_null)),
        (
            "compress-threshold",
            d.compress_threshold
                .map_or(Frame::Null, |t| int(u64::from(t))),
        ),
        ("encrypt", Frame::Boolean(d.encrypt)),
        ("pure-keys", Frame::Boolean(d.pure_keys)),
        ("invalidation-events", list(&d.invalidation_events)),
        ("dependent-caches", list(&d.dependent_caches)),
        (
            "metadata",
            Frame::Map(
                d.metadata
                    .iter()
                    .map(|(k, v)| (Frame::bulk(k.clone()), Frame::bulk(v.clone())))
                    .collect(),
            ),
        ),
        ("items", int(s.items)),
        ("bytes", int(s.bytes)),
        ("hits", int(s.hits)),
        ("misses", int(s.misses)),
        ("sets", int(s.sets)),
        ("rejects", int(info.rejects)),
        ("evictions", int(s.evictions)),
        ("expirations", int(s.expirations)),
        ("plugin-calls", int(info.plugin_calls)),
        ("plugin-faults", int(info.plugin_faults)),
        ("plugin-instantiations", int(info.instantiations)),
        ("plugin-retired-instances", int(info.retired_instances)),
        ("plugin-idle-instances", int(info.idle_instances as u64)),
        (
            "plugin-state",
            Frame::bulk(if info.quarantined {
                "quarantined"
            } else {
                "serving"
            }),
        ),
        ("plugin-quarantines", int(info.quarantines)),
        ("plugin-waiting-calls", int(info.waiting_calls as u64)),
        ("plugin-source", Frame::bulk(info.origin.source.clone())),
        ("plugin-sha256", Frame::bulk(info.origin.sha256.clone())),
        ("plugin-bytes", int(info.origin.size as u64)),
        (
            "plugin-artifact",
            Frame::bulk(match info.origin.artifact {
                crate::plugin::ArtifactSource::Compiled => "compiled",
                crate::plugin::ArtifactSource::Cached => "cached",
            }),
        ),
        ("plugin-imports", list(&info.origin.imports)),
    ];
    let mut fields = fields;
    // Named after the counters (`stale_served` is `origin-stale-served`).
    let mut origin_fields: Vec<(String, Frame)> = Vec::new();
    if let Some(origin) = cache.origin_of(&name) {
        fields.push(("origin", Frame::bulk(origin.config().name.clone())));
        fields.push(("origin-kind", Frame::bulk(origin.kind())));
        for (counter, value) in origin.counters.snapshot() {
            origin_fields.push((format!("origin-{}", counter.replace('_', "-")), int(value)));
        }
        fields.push((
            "origin-write",
            Frame::bulk(format!("{:?}", origin.config().write).to_lowercase()),
        ));
        if origin.config().write == crate::origin::WriteMode::Behind
            && let Some(depth) = cache.write_behind_depth(Some(&name))
        {
            fields.extend([
                ("write-behind-pending", int(depth.pending)),
                ("write-behind-oldest-pending-ms", int(depth.oldest_ms)),
                ("write-behind-dead-letters", int(depth.dead)),
            ]);
        }
    }
    if cache.uses_l2(&name)
        && let Some(tier) = cache.tier()
    {
        let c = tier.counters(&name).snapshot();
        let n = tier.node_stats();
        fields.extend([
            ("l2", Frame::Boolean(true)),
            ("l1-hits", int(c.l1_hits)),
            ("l2-hits", int(c.l2_hits)),
            ("level-misses", int(c.misses)),
            ("stale-hits", int(c.stale_hits)),
            ("partial-writes", int(c.partial_writes)),
            ("l1-ttl-ms", int(tier.l1_ttl_ms(&name))),
            ("l2-breaker", Frame::bulk(n.breaker.name())),
            ("l2-latency-mean-us", int(n.mean_us)),
            (
                "bus-link",
                Frame::bulk(if n.bus.link_ok { "up" } else { "down" }),
            ),
            ("bus-lag-us", int(n.bus.lag_us)),
            ("replay-depth", int(n.replay_depth)),
        ]);
        if tier.settings(&name).track_direct_writes {
            fields.extend([
                ("track-direct-writes", Frame::Boolean(true)),
                ("tracked-invalidations", int(c.tracked_invalidations)),
                (
                    "tracking-link",
                    Frame::bulk(if n.tracking.link_ok { "up" } else { "down" }),
                ),
            ]);
        }
    }
    Ok(Frame::Map(
        fields
            .into_iter()
            .map(|(k, v)| (Frame::bulk(k), v))
            .chain(origin_fields.into_iter().map(|(k, v)| (Frame::bulk(k), v)))
            .collect(),
    ))
}
