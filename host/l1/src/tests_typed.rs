//! Tests of the typed additions to `Table`: read-modify-write, typed reads, `SCAN` pages and
//! the change observer, driven by a `ManualClock` (no sleeps).

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::Mutex;

fn table(max_items: u64, policy: Policy) -> (Table, ManualClock) {
    let clock = ManualClock::new(1_000);
    let config = TableConfig {
        max_items,
        policy,
        expiry: ExpiryMode::Absolute,
        shards: 4,
        index_keys: false,
    };
    (Table::new(config, Arc::new(clock.clone())), clock)
}

fn incr(t: &Table, key: &[u8]) -> Option<i64> {
    t.update(key, |found| {
        let current = match found {
            None => 0,
            Some(f) if f.kind == Kind::String => {
                match std::str::from_utf8(f.value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                {
                    Some(n) => n,
                    None => return (Write::Keep, None),
                }
            }
            Some(_) => return (Write::Keep, None),
        };
        let next: i64 = current + 1;
        let write = Write::Value {
            kind: Kind::String,
            value: next.to_string().into_bytes(),
            ttl: TtlChange::Keep,
        };
        (write, Some(next))
    })
}

#[test]
#[allow(clippy::unwrap_used)]
fn update_keeps_the_deadline_and_the_kind() {
    let (t, clock) = table(0, Policy::Lfu);
    assert_eq!(incr(&t, b"n"), Some(1));
    t.set_ttl(b"n", Some(100));
    assert_eq!(incr(&t, b"n"), Some(2));
    assert_eq!(t.ttl(b"n"), Ttl::RemainingMs(100));
    t.update(b"h", |_| {
        let write = Write::Value {
            kind: Kind::Hash,
            value: b"x".to_vec(),
            ttl: TtlChange::In(50),
        };
        (write, ())
    });
    assert_eq!(incr(&t, b"h"), None, "a hash is not a counter");
    assert_eq!(
        t.get_typed_with(b"h", |k, v| (k, v.to_vec())),
        Some((Kind::Hash, b"x".to_vec()))
    );
    // A plain SET turns the hash back into a string and clears its TTL.
    t.insert(b"h", b"7", None, SetCondition::Always);
    assert_eq!(t.get_typed_with(b"h", |k, _| k), Some(Kind::String));
    assert_eq!(t.ttl(b"h"), Ttl::Persistent);
    clock.advance(100);
    assert_eq!(t.get(b"n"), None, "the kept deadline still applies");
    assert!(!t.update(b"n", |f| (Write::Keep, f.is_some())));
    let stats = t.stats();
    assert_eq!((stats.items, stats.expirations), (1, 1));
}

#[test]
fn update_remove_and_ttl_only() {
    let (t, _) = table(0, Policy::Lru);
    t.insert(b"k", b"v", None, SetCondition::Always);
    t.update(b"k", |_| (Write::Ttl(TtlChange::In(10)), ()));
    assert_eq!(t.ttl(b"k"), Ttl::RemainingMs(10));
    t.update(b"k", |_| (Write::Ttl(TtlChange::Persist), ()));
    assert_eq!(t.ttl(b"k"), Ttl::Persistent);
    t.update(b"missing", |_| (Write::Ttl(TtlChange::In(10)), ()));
    assert_eq!(t.ttl(b"missing"), Ttl::Missing);
    let removed = t.update(b"k", |f| (Write::Remove, f.map(|f| f.value.to_vec())));
    assert_eq!(removed, Some(b"v".to_vec()));
    assert!(t.is_empty());
    assert_eq!(t.stats().bytes, 0);
}

fn scan_all(t: &Table, count: usize, between: &mut impl FnMut(u32)) -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    let mut cursor = 0;
    let mut page = 0;
    loop {
        cursor = t.scan(cursor, count, |k, _| seen.push(k.to_vec()));
        if cursor == 0 {
            return seen;
        }
        between(page);
        page += 1;
    }
}

#[test]
fn scan_visits_every_key_of_a_quiet_table_once() {
    let (t, _) = table(0, Policy::Lfu);
    for i in 0..1000u32 {
        t.insert(format!("k{i}").as_bytes(), b"v", None, SetCondition::Always);
    }
    let seen = scan_all(&t, 10, &mut |_| {});
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!((seen.len(), unique.len()), (1000, 1000));
}

#[test]
fn scan_of_an_empty_table_ends_at_once_and_bad_cursors_end() {
    let (t, _) = table(0, Policy::Lfu);
    assert_eq!(t.scan(0, 10, |_, _| {}), 0);
    assert_eq!(t.scan(u64::MAX, 10, |_, _| {}), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Keys present for the whole iteration are returned, whatever is deleted, inserted or
    /// evicted between pages (bounded LFU table, so window promotion and eviction both happen).
    #[test]
    fn scan_returns_every_key_that_stays(
        ops in proptest::collection::vec((0u32..3, 0u32..3000), 0..400),
        count in 1usize..50,
    ) {
        let (t, _) = table(2048, Policy::Lfu);
        // Keys below 500 are never touched by the churn, so they stay unless evicted.
        for i in 0..2000u32 {
            t.insert(format!("k{i}").as_bytes(), b"v", None, SetCondition::Always);
        }
        let mut ops = ops.into_iter();
        let mut between = |_page: u32| {
            for (op, n) in ops.by_ref().take(5) {
                let n = n + 500;
                let key = format!("k{n}");
                match op {
                    0 => { t.remove(key.as_bytes()); }
                    1 => { t.insert(key.as_bytes(), b"w", None, SetCondition::Always); }
                    _ => { let _ = t.get(key.as_bytes()); }
                }
            }
        };
        let seen: BTreeSet<Vec<u8>> = scan_all(&t, count, &mut between).into_iter().collect();
        for i in 0..500u32 {
            let key = format!("k{i}").into_bytes();
            if t.contains(&key) {
                prop_assert!(seen.contains(&key), "k{} was present throughout but not returned", i);
            }
        }
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl KeyObserver for Recorder {
    fn changed(&self, key: &[u8]) {
        if let Ok(mut v) = self.0.lock() {
            v.push(String::from_utf8_lossy(key).into_owned());
        }
    }
    fn flushed(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.push("*flush*".into());
        }
    }
}

#[test]
#[allow(clippy::unwrap_used)]
fn observer_hears_writes_removals_expiries_evictions_and_flushes() {
    let (t, clock) = table(0, Policy::Lru);
    let recorder = Arc::new(Recorder::default());
    t.observe(recorder.clone());
    t.insert(b"a", b"1", Some(10), SetCondition::Always);
    t.insert(b"b", b"1", None, SetCondition::IfPresent);
    let _ = t.get(b"a");
    incr(&t, b"c");
    t.remove(b"c");
    clock.advance(10);
    let _ = t.get(b"a");
    t.insert(b"d", b"1", None, SetCondition::Always);
    t.clear();
    let heard = recorder.0.lock().unwrap().clone();
    assert_eq!(heard, ["a", "c", "c", "a", "d", "*flush*"]);

    let (small, _) = table(1, Policy::Lru);
    let recorder = Arc::new(Recorder::default());
    small.observe(recorder.clone());
    small.insert(b"x", b"1", None, SetCondition::Always);
    small.insert(b"y", b"1", None, SetCondition::Always);
    let heard = recorder.0.lock().unwrap().clone();
    assert_eq!(heard, ["x", "x", "y"], "the eviction of x is heard");
}

#[test]
fn a_scan_started_at_any_shard_sees_that_shard_and_the_rest() {
    let (t, _) = table(0, Policy::Lfu);
    for i in 0..200u32 {
        t.insert(format!("k{i}").as_bytes(), b"v", None, SetCondition::Always);
    }
    let mut from_one = BTreeSet::new();
    let mut cursor = t.scan_cursor_at_shard(1);
    loop {
        cursor = t.scan(cursor, 7, |k, _| {
            from_one.insert(k.to_vec());
        });
        if cursor == 0 {
            break;
        }
    }
    let mut first_shard = BTreeSet::new();
    let mut cursor = 0;
    while cursor != t.scan_cursor_at_shard(1) {
        cursor = t.scan(cursor, 1, |k, _| {
            first_shard.insert(k.to_vec());
        });
    }
    assert_eq!(t.scan_cursor_at_shard(4), 0, "wraps modulo the 4 shards");
    assert_eq!(from_one.len() + first_shard.len(), 200);
}
