//! Cost of calling a definition plugin through the host: a pooled instance,
//! epoch deadline, memory limiter and hostcall fuel all in place, as in the
//! server. Target (issue #2): generate-key with one short part <= 500 ns median.
//!
//! Run: `cargo bench -p hoard --bench plugin_call`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use hoard::cache::catalog::DefinedCache;
use hoard::plugin::{LoadedPlugin, PluginLimits};
use hoard_l1::{Clock, SystemClock};

fn load(name: &str) -> LoadedPlugin {
    hoard::bundled::load_example(name, PluginLimits::default()).unwrap()
}

fn user_value() -> Vec<u8> {
    // ~200 bytes of MessagePack, the shape the example validates.
    let json = serde_json::json!({
        "id": "u1",
        "email": "ada.lovelace@example.com",
        "name": "Ada Lovelace, Countess of Lovelace",
        "createdAt": "2026-01-01T00:00:00Z",
        "version": 2,
        "bio": "Mathematician and writer, known for work on the Analytical Engine; first to publish an algorithm.",
    });
    rmp_serde::to_vec_named(&json).unwrap()
}

fn plugin_calls(c: &mut Criterion) {
    let plugin = load("user_cache");
    let parts = vec!["42".to_owned()];
    c.bench_function("generate-key (1 part, raw plugin call)", |b| {
        b.iter(|| plugin.generate_key(black_box(&parts)).unwrap().unwrap())
    });
    let value = user_value();
    println!("validate payload: {} bytes of MessagePack", value.len());
    c.bench_function("validate (~200 B MessagePack)", |b| {
        b.iter(|| plugin.validate(black_box(&value)).unwrap().unwrap())
    });
    // The record bench/languages.sh stores with CACHE.SET.
    let small = rmp_serde::to_vec_named(&serde_json::json!({
        "id": "1", "email": "ada@example.com", "name": "Ada",
    }))
    .unwrap();
    c.bench_function("validate (languages.sh record, 40 B)", |b| {
        b.iter(|| plugin.validate(black_box(&small)).unwrap().unwrap())
    });
    let payload = rmp_serde::to_vec_named(&serde_json::json!({"userId": "u1"})).unwrap();
    c.bench_function("on-event (UserUpdated)", |b| {
        b.iter(|| {
            plugin
                .on_event("UserUpdated", black_box(&payload))
                .unwrap()
                .unwrap()
        })
    });

    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let cache = DefinedCache::new(load("user_cache"), clock);
    cache.key(&parts).unwrap();
    c.bench_function("key via memo (pure keys, as CACHE.GET does)", |b| {
        b.iter(|| cache.key(black_box(&parts)).unwrap())
    });
}

criterion_group!(benches, plugin_calls);
criterion_main!(benches);
