//! The hit path of a read-through `CACHE.GET` against a plain one, in one
//! process (no network, no other load's scheduling noise): the work
//! `Cache::get` does for a hit of the `UserDb` example when the definition
//! has an origin (its entries carry a freshness head) and when it has none.
//! `bench/origins.sh` measures the same end to end; this isolates what the
//! code adds. The origin is never reached (a hit does not connect).
//!
//! Run: `cargo bench -p hoard --bench origin_hit` (ROUNDS, N to change the
//! defaults of 15 rounds of 200,000 gets each). Prints nanoseconds per get
//! (medians) and read-through's throughput as a fraction of plain's (the
//! median of the rounds' ratios, each round timing both, in turns).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hoard::cache::Cache;
use hoard::cache::catalog::{Catalog, DefinedCache};
use hoard::cache::encryption::Sealer;
use hoard::cache::outcome::Lookup;
use hoard::definition::DefinitionCaps;
use hoard::origin::{OriginConfig, Origins};
use hoard::plugin::{LoadedPlugin, PluginLimits, PluginRuntime};
use hoard_l1::{Clock, SystemClock};

fn cache(origin: bool) -> Cache {
    let wasm = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins/target/wasm32-wasip2/release/user_db.wasm"),
    )
    .expect("plugins/target has user_db.wasm (built by host/build.rs)");
    let runtime = Arc::new(PluginRuntime::new(PluginLimits::default()).unwrap());
    let plugin = LoadedPlugin::load(
        &runtime,
        &wasm,
        "user_db.wasm",
        None,
        &DefinitionCaps::default(),
    )
    .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let mut catalog = Catalog::default();
    catalog
        .insert(DefinedCache::new(plugin, Arc::clone(&clock)))
        .unwrap();
    let mut builder = Cache::builder(clock, Sealer::random().unwrap()).catalog(catalog);
    if origin {
        let config: OriginConfig = toml::from_str(
            r#"
            name = "users-db"
            postgres = "host=127.0.0.1 port=1 user=nobody dbname=none"
            definitions = ["UserDb"]
            load_ttl_ms = 3600000
            [statements]
            user_by_id = "SELECT id::text AS id, email, name FROM users WHERE id = $1"
            "#,
        )
        .unwrap();
        builder = builder.origins(Arc::new(Origins::new(&[config]).unwrap()));
    }
    builder.build().unwrap()
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn time_gets(cache: &Cache, parts: &[String], n: usize) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        let got = cache
            .get("UserDb", black_box(parts.to_vec()))
            .await
            .unwrap();
        assert!(matches!(got, Lookup::Hit(_)));
    }
    #[allow(clippy::cast_precision_loss)]
    let ns = started.elapsed().as_nanos() as f64 / n as f64;
    ns
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; run any other way (a test run of every
    // target), it does nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds = env("ROUNDS", 15);
    let n = env("N", 200_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let through = cache(true);
        let plain = cache(false);
        let parts = vec!["1".to_owned()];
        let value = hoard::cache::transcode::to_msgpack(
            hoard::cache::transcode::ValueFormat::Json,
            br#"{"id":"1","email":"user1@example.com","name":"User 1"}"#,
        )
        .unwrap();
        for cache in [&through, &plain] {
            cache
                .set("UserDb", value.clone(), parts.clone(), Some(3_600_000))
                .await
                .unwrap();
            time_gets(cache, &parts, n / 10).await; // warm up
        }
        let (mut t, mut p, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (a, b) = if round % 2 == 0 {
                let a = time_gets(&through, &parts, n).await;
                (a, time_gets(&plain, &parts, n).await)
            } else {
                let b = time_gets(&plain, &parts, n).await;
                (time_gets(&through, &parts, n).await, b)
            };
            t.push(a);
            p.push(b);
            ratio.push(b / a);
        }
        println!(
            "origin_hit rounds={rounds} n={n} readthrough_ns={:.0} plain_ns={:.0} readthrough_vs_plain={:.3}x",
            median(t),
            median(p),
            median(ratio)
        );
    });
}
