//! The data path in-process, on the controllable clock: expiry, sliding
//! TTL, clamping, the invalidation cascade of the bundled examples, the
//! per-definition call budget and the entry rules of a reload. No sleeps:
//! time moves only when a test advances the `ManualClock`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use super::Cache;
use super::catalog;
use super::encryption::Sealer;
use super::error::CacheError;
use super::outcome::{Lookup, Outcome, Stored, Verdict};
use super::transcode::{self, ValueFormat};
use crate::definition::DefinitionCaps;
use crate::plugin::{PluginLimits, PluginRuntime};
use crate::reload::lifecycle::{EntriesKept, Lifecycle};
use crate::test_dir::TestDir;
use hoard_l1::{Clock, ManualClock, Ttl};

/// A cache over the bundled examples (UserCache, UserPermissions) whose
/// tables read `clock`, plus a lifecycle to load fixtures into it.
struct Setup {
    cache: Cache,
    lifecycle: Lifecycle,
    clock: Arc<ManualClock>,
    _artifacts: TestDir,
}

fn setup(limits: PluginLimits) -> Setup {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let shared: Arc<dyn Clock> = clock.clone();
    let artifacts = TestDir::new();
    let runtime = Arc::new(PluginRuntime::new(limits).unwrap());
    let caps = DefinitionCaps::default();
    let (catalog, refused) = catalog::load_all(
        &runtime,
        &crate::bundled::examples(),
        Some(artifacts.path()),
        &caps,
        &shared,
    );
    assert!(refused.is_empty(), "{:?}", refused.first().map(|r| &r.0));
    let cache = Cache::builder(Arc::clone(&shared), Sealer::random().unwrap())
        .catalog(catalog)
        .plugin_threads(2, 0)
        .build()
        .unwrap();
    let lifecycle = Lifecycle::new(
        cache.clone(),
        runtime,
        Some(artifacts.path().to_owned()),
        caps,
        shared,
    );
    Setup {
        cache,
        lifecycle,
        clock,
        _artifacts: artifacts,
    }
}

/// A plugin built by `host/build.rs` (the `plugins/` workspace's artifacts).
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"))
}

fn msgpack(json: &str) -> Vec<u8> {
    transcode::to_msgpack(ValueFormat::Json, json.as_bytes()).unwrap()
}

fn parts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn user(id: &str) -> Vec<u8> {
    msgpack(&format!(r#"{{"id":"{id}","email":"u{id}@example.com"}}"#))
}

fn permissions(id: &str) -> Vec<u8> {
    msgpack(&format!(r#"{{"userId":"{id}","roles":["reader"]}}"#))
}

async fn get(cache: &Cache, name: &str, key: &[&str]) -> Lookup {
    cache.get(name, parts(key)).await.unwrap()
}

#[tokio::test]
async fn absolute_ttl_ends_exactly_when_the_clock_says() {
    let s = setup(PluginLimits::default());
    let stored = s
        .cache
        .set("UserCache", user("42"), parts(&["42"]), Some(1_000))
        .await
        .unwrap();
    assert_eq!(stored, Stored::Stored);
    assert_eq!(
        get(&s.cache, "UserCache", &["42"]).await,
        Lookup::Hit(user("42"))
    );
    assert_eq!(
        s.cache.ttl("UserCache", parts(&["42"])).await.unwrap(),
        Ttl::RemainingMs(1_000)
    );
    s.clock.advance(999);
    assert_eq!(
        get(&s.cache, "UserCache", &["42"]).await,
        Lookup::Hit(user("42"))
    );
    // Reading an absolute entry does not renew it.
    s.clock.advance(1);
    assert_eq!(get(&s.cache, "UserCache", &["42"]).await, Lookup::Miss);
    assert_eq!(
        s.cache.ttl("UserCache", parts(&["42"])).await.unwrap(),
        Ttl::Missing
    );
}

#[tokio::test]
async fn sliding_ttl_is_renewed_by_every_read() {
    let s = setup(PluginLimits::default());
    s.cache
        .set(
            "UserPermissions",
            permissions("7"),
            parts(&["7"]),
            Some(1_000),
        )
        .await
        .unwrap();
    // Read every 600 ms: 3 s in all, three times the TTL, and still there.
    for _ in 0..5 {
        s.clock.advance(600);
        assert_eq!(
            get(&s.cache, "UserPermissions", &["7"]).await,
            Lookup::Hit(permissions("7"))
        );
    }
    // Left alone for one full TTL, it expires.
    s.clock.advance(1_000);
    assert_eq!(get(&s.cache, "UserPermissions", &["7"]).await, Lookup::Miss);
}

#[tokio::test]
async fn a_ttl_beyond_the_definition_maximum_is_clamped() {
    let s = setup(PluginLimits::default());
    // UserPermissions allows at most one hour.
    s.cache
        .set(
            "UserPermissions",
            permissions("7"),
            parts(&["7"]),
            Some(5 * 3_600_000),
        )
        .await
        .unwrap();
    assert_eq!(
        s.cache.ttl("UserPermissions", parts(&["7"])).await.unwrap(),
        Ttl::RemainingMs(3_600_000)
    );
    // Without a TTL the default applies (UserCache: 30 minutes).
    s.cache
        .set("UserCache", user("1"), parts(&["1"]), None)
        .await
        .unwrap();
    assert_eq!(
        s.cache.ttl("UserCache", parts(&["1"])).await.unwrap(),
        Ttl::RemainingMs(30 * 60_000)
    );
}

#[tokio::test]
async fn a_refused_value_is_not_stored_and_is_counted() {
    let s = setup(PluginLimits::default());
    let bad = msgpack(r#"{"id":"42","email":"not-an-email"}"#);
    let Stored::Rejected { errors } = s
        .cache
        .set("UserCache", bad.clone(), parts(&["42"]), None)
        .await
        .unwrap()
    else {
        panic!("the value should be refused");
    };
    assert!(errors[0].contains("email"), "{errors:?}");
    assert_eq!(get(&s.cache, "UserCache", &["42"]).await, Lookup::Miss);
    assert_eq!(s.cache.info("UserCache").unwrap().rejects, 1);
    // VALIDATE gives the same verdict without storing anything.
    assert_eq!(
        s.cache.validate("UserCache", bad).await.unwrap(),
        Verdict::Refused(errors)
    );
    assert_eq!(
        s.cache.validate("UserCache", user("42")).await.unwrap(),
        Verdict::Accepted
    );
    // A host rule: UserCache does not allow null.
    let Verdict::Refused(null) = s
        .cache
        .validate("UserCache", msgpack("null"))
        .await
        .unwrap()
    else {
        panic!("null should be refused");
    };
    assert!(null[0].contains("does not allow null"), "{null:?}");
}

#[tokio::test]
async fn errors_carry_the_prefix_clients_branch_on() {
    let s = setup(PluginLimits::default());
    let missing = s.cache.get("Nope", parts(&["1"])).await.unwrap_err();
    assert_eq!(missing, CacheError::NoCache("Nope".into()));
    assert_eq!(missing.prefix(), "NOCACHE");
    let bad_key = s
        .cache
        .get("UserCache", parts(&["1", "2", "3"]))
        .await
        .unwrap_err();
    assert_eq!(bad_key.prefix(), "BADKEY", "{bad_key}");
    let bad_event = s
        .cache
        .plan("UserPermissions", "Nonsense".into(), msgpack("{}"))
        .await
        .unwrap_err();
    assert_eq!(bad_event.prefix(), "BADEVENT", "{bad_event}");
    let too_large = s
        .cache
        .set("UserCache", vec![0; (1 << 20) + 1], parts(&["1"]), None)
        .await
        .unwrap_err();
    assert_eq!(too_large.prefix(), "QUOTA");
}

#[tokio::test]
async fn an_event_cascades_to_the_dependent_cache() {
    let s = setup(PluginLimits::default());
    for id in ["u1", "u2"] {
        s.cache
            .set("UserCache", user(id), parts(&[id]), None)
            .await
            .unwrap();
        s.cache
            .set("UserPermissions", permissions(id), parts(&[id]), None)
            .await
            .unwrap();
    }
    let plan = s
        .cache
        .plan(
            "UserCache",
            "UserUpdated".into(),
            msgpack(r#"{"userId":"u1"}"#),
        )
        .await
        .unwrap();
    assert_eq!(plan.keys, vec!["User:u1".to_owned()]);
    assert!(plan.cascade);
    // PLAN removed nothing.
    assert!(matches!(
        get(&s.cache, "UserCache", &["u1"]).await,
        Lookup::Hit(_)
    ));

    let outcome = s
        .cache
        .publish_event("UserUpdated".into(), msgpack(r#"{"userId":"u1"}"#))
        .await
        .unwrap();
    let Outcome::Invalidated { count, per_cache } = outcome else {
        panic!("every cache should answer: {outcome:?}");
    };
    assert_eq!(count, 2);
    assert_eq!(per_cache.get("UserCache"), Some(&1));
    assert_eq!(per_cache.get("UserPermissions"), Some(&1));
    assert_eq!(get(&s.cache, "UserCache", &["u1"]).await, Lookup::Miss);
    assert_eq!(
        get(&s.cache, "UserPermissions", &["u1"]).await,
        Lookup::Miss
    );
    // The other user is untouched.
    assert!(matches!(
        get(&s.cache, "UserCache", &["u2"]).await,
        Lookup::Hit(_)
    ));
    assert!(matches!(
        get(&s.cache, "UserPermissions", &["u2"]).await,
        Lookup::Hit(_)
    ));
}

#[tokio::test]
async fn a_definition_whose_calls_are_all_taken_answers_busy() {
    let s = setup(PluginLimits {
        call_timeout_ms: 2_000,
        definition_workers: 1,
        definition_queue: 0,
        quarantine_after_faults: 0,
        ..PluginLimits::default()
    });
    s.lifecycle.load_file(&fixture("fixture_spin")).unwrap();
    let calls = || s.cache.info("SpinCache").unwrap().plugin_calls;
    let before = calls();
    let spinning = tokio::spawn({
        let cache = s.cache.clone();
        async move { cache.key("SpinCache", parts(&["spin"])).await }
    });
    // The counter moves when the call has started on a plugin thread.
    while calls() == before {
        tokio::task::yield_now().await;
    }
    let refused = s.cache.key("SpinCache", parts(&["x"])).await.unwrap_err();
    assert_eq!(refused.prefix(), "BUSY", "{refused}");
    // Another definition is not affected by SpinCache's budget.
    assert_eq!(
        s.cache.key("UserCache", parts(&["1"])).await.unwrap(),
        "User:1"
    );
    let timed_out = spinning.await.unwrap().unwrap_err();
    assert_eq!(timed_out.prefix(), "PLUGIN", "{timed_out}");
    // The budget is free again once the call has ended.
    assert_eq!(
        s.cache.key("SpinCache", parts(&["x"])).await.unwrap(),
        "SpinCache:x"
    );
}

#[tokio::test]
async fn a_minor_reload_that_shrinks_the_table_copies_entries_with_their_remaining_ttl() {
    let s = setup(PluginLimits::default());
    let installed = s
        .lifecycle
        .load_file(&fixture("fixture_reload_v1"))
        .unwrap();
    assert_eq!(installed.entries, EntriesKept::New);
    for id in ["a", "b"] {
        s.cache
            .set("ReloadCache", msgpack("1"), parts(&[id]), Some(10_000))
            .await
            .unwrap();
    }
    s.clock.advance(4_000);
    // 1.2.0: same id and major version, max-items 2 instead of 1000.
    let installed = s
        .lifecycle
        .load_file(&fixture("fixture_reload_v1_2"))
        .unwrap();
    assert_eq!(installed.entries, EntriesKept::Copied(2));
    assert_eq!(
        s.cache.ttl("ReloadCache", parts(&["a"])).await.unwrap(),
        Ttl::RemainingMs(6_000)
    );
    s.clock.advance(6_000);
    assert_eq!(get(&s.cache, "ReloadCache", &["a"]).await, Lookup::Miss);
    assert_eq!(get(&s.cache, "ReloadCache", &["b"]).await, Lookup::Miss);
}

#[tokio::test]
async fn a_new_major_version_starts_empty() {
    let s = setup(PluginLimits::default());
    s.lifecycle
        .load_file(&fixture("fixture_reload_v1"))
        .unwrap();
    s.cache
        .set("ReloadCache", msgpack("1"), parts(&["a"]), None)
        .await
        .unwrap();
    let installed = s
        .lifecycle
        .load_file(&fixture("fixture_reload_v2"))
        .unwrap();
    assert_eq!(installed.entries, EntriesKept::Dropped(1));
    assert_eq!(get(&s.cache, "ReloadCache", &["a"]).await, Lookup::Miss);
}

#[tokio::test]
async fn a_fast_plugin_runs_inline_and_a_slow_one_moves_to_a_thread_without_a_fault() {
    let s = setup(PluginLimits::default());
    s.lifecycle
        .load_file(&fixture("fixture_slow_but_legal"))
        .unwrap();
    let inline = |name: &str| s.cache.catalog().get(name).unwrap().inline_budget();
    assert_eq!(
        s.cache.key("UserCache", parts(&["1"])).await.unwrap(),
        "User:1"
    );
    assert!(inline("UserCache").is_some(), "a 1 µs call stays inline");
    assert!(
        inline("SlowCache").is_some(),
        "every definition starts inline"
    );
    // 80 ms of work outgrows the inline budget (2 ms): interrupted, run
    // again on a plugin thread, answered; not a fault.
    assert_eq!(
        s.cache.key("SlowCache", parts(&["a"])).await.unwrap(),
        "SlowCache:a"
    );
    assert_eq!(inline("SlowCache"), None);
    assert_eq!(s.cache.info("SlowCache").unwrap().plugin_faults, 0);
    assert_eq!(
        s.cache.key("SlowCache", parts(&["b"])).await.unwrap(),
        "SlowCache:b"
    );
}

#[tokio::test]
async fn a_call_that_writes_to_stderr_is_answered_from_a_plugin_thread() {
    let s = setup(PluginLimits::default());
    s.lifecycle.load_file(&fixture("fixture_trap")).unwrap();
    assert_eq!(
        s.cache.key("TrapCache", parts(&["ok"])).await.unwrap(),
        "TrapCache:ok"
    );
    // The panic message goes to wasi:cli/stderr, whose shim blocks on tokio:
    // not allowed on an async worker, so the call is run on a plugin thread,
    // where it traps as it should: one fault, a PLUGIN error, no host crash.
    let trapped = s
        .cache
        .key("TrapCache", parts(&["trap"]))
        .await
        .unwrap_err();
    assert_eq!(trapped.prefix(), "PLUGIN", "{trapped}");
    assert!(matches!(
        trapped,
        CacheError::Plugin {
            error: crate::plugin::PluginError::Trap(_),
            ..
        }
    ));
    assert_eq!(s.cache.info("TrapCache").unwrap().plugin_faults, 1);
    assert_eq!(
        s.cache.key("TrapCache", parts(&["ok"])).await.unwrap(),
        "TrapCache:ok"
    );
}
