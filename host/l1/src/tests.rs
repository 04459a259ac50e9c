//! Behavioural tests of the public `Table` API, driven by a `ManualClock` (no sleeps).
//!
//! This file only tests; unit tests of internals live beside each file's code.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

fn table(max_items: u64, policy: Policy, expiry: ExpiryMode) -> (Table, ManualClock) {
    let clock = ManualClock::new(1_000);
    let config = TableConfig {
        max_items,
        policy,
        expiry,
        shards: 0,
        index_keys: false,
    };
    (Table::new(config, Arc::new(clock.clone())), clock)
}

fn key(i: u64) -> Vec<u8> {
    format!("key:{i}").into_bytes()
}

#[test]
fn table_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Table>();
}

#[test]
fn insert_get_replace_remove() {
    let (t, _) = table(0, Policy::Lfu, ExpiryMode::Absolute);
    assert!(t.is_empty());
    assert_eq!(
        t.insert(b"a", b"1", None, SetCondition::Always),
        InsertResult::Inserted
    );
    assert_eq!(t.get(b"a"), Some(b"1".to_vec()));
    assert_eq!(
        t.insert(b"a", b"22", None, SetCondition::Always),
        InsertResult::Replaced
    );
    assert_eq!(t.get_with(b"a", <[u8]>::len), Some(2));
    assert!(t.contains(b"a"));
    assert_eq!(t.len(), 1);
    assert!(t.remove(b"a"));
    assert!(!t.remove(b"a"));
    assert_eq!(t.get(b"a"), None);
    assert_eq!(
        t.insert(b"", b"", None, SetCondition::Always),
        InsertResult::Inserted
    );
    assert_eq!(t.get(b""), Some(Vec::new()));
}

#[test]
fn set_conditions_nx_xx() {
    let (t, _) = table(0, Policy::Lru, ExpiryMode::Absolute);
    assert_eq!(
        t.insert(b"k", b"v", None, SetCondition::IfPresent),
        InsertResult::ConditionNotMet
    );
    assert_eq!(t.get(b"k"), None);
    assert_eq!(
        t.insert(b"k", b"v", None, SetCondition::IfAbsent),
        InsertResult::Inserted
    );
    assert_eq!(
        t.insert(b"k", b"w", None, SetCondition::IfAbsent),
        InsertResult::ConditionNotMet
    );
    assert_eq!(t.get(b"k"), Some(b"v".to_vec()));
    assert_eq!(
        t.insert(b"k", b"x", None, SetCondition::IfPresent),
        InsertResult::Replaced
    );
    assert_eq!(t.get(b"k"), Some(b"x".to_vec()));
}

#[test]
fn nx_succeeds_over_an_expired_entry() {
    let (t, clock) = table(0, Policy::Lru, ExpiryMode::Absolute);
    t.insert(b"k", b"v", Some(10), SetCondition::Always);
    clock.advance(10);
    assert_eq!(
        t.insert(b"k", b"w", None, SetCondition::IfAbsent),
        InsertResult::Inserted
    );
    assert_eq!(t.stats().expirations, 1);
}

#[test]
fn absolute_expiry_ignores_reads() {
    let (t, clock) = table(0, Policy::Lfu, ExpiryMode::Absolute);
    t.insert(b"k", b"v", Some(100), SetCondition::Always);
    clock.advance(60);
    assert!(t.get(b"k").is_some());
    clock.advance(39);
    assert!(t.get(b"k").is_some());
    clock.advance(1);
    assert_eq!(t.get(b"k"), None);
    let s = t.stats();
    assert_eq!((s.hits, s.misses, s.expirations, s.items), (2, 1, 1, 0));
}

#[test]
fn sliding_expiry_is_kept_alive_by_reads() {
    let (t, clock) = table(0, Policy::Lfu, ExpiryMode::Sliding);
    t.insert(b"k", b"v", Some(100), SetCondition::Always);
    for _ in 0..10 {
        clock.advance(90);
        assert!(t.get(b"k").is_some(), "reads keep a sliding entry alive");
    }
    assert_eq!(t.ttl(b"k"), Ttl::RemainingMs(100));
    clock.advance(99);
    assert!(
        t.contains(b"k"),
        "contains does not refresh but sees it alive"
    );
    clock.advance(1);
    assert!(!t.contains(b"k"), "no reads: it expires");
    assert_eq!(t.stats().expirations, 1);
}

#[test]
fn sliding_set_ttl_uses_new_ttl() {
    let (t, clock) = table(0, Policy::Lru, ExpiryMode::Sliding);
    t.insert(b"k", b"v", None, SetCondition::Always);
    assert!(t.set_ttl(b"k", Some(50)));
    clock.advance(40);
    assert!(t.get(b"k").is_some());
    clock.advance(49);
    assert!(t.get(b"k").is_some());
    clock.advance(50);
    assert!(t.get(b"k").is_none());
}

#[test]
fn lazy_expiry_counts_expirations() {
    let (t, clock) = table(0, Policy::Lru, ExpiryMode::Absolute);
    for i in 0..10 {
        t.insert(&key(i), b"v", Some(5), SetCondition::Always);
    }
    clock.advance(5);
    assert_eq!(t.len(), 10, "expired entries stay until touched");
    for i in 0..4 {
        assert_eq!(t.get(&key(i)), None);
    }
    assert!(!t.remove(&key(4)));
    assert!(!t.contains(&key(5)));
    assert_eq!(t.ttl(&key(6)), Ttl::Missing);
    let s = t.stats();
    assert_eq!((s.expirations, s.misses, s.items), (7, 4, 3));
}

#[test]
fn sweep_reclaims_without_reads_and_respects_budget() {
    let clock = ManualClock::new(0);
    let config = TableConfig {
        shards: 1,
        ..TableConfig::default()
    };
    let t = Table::new(config, Arc::new(clock.clone()));
    for i in 0..100 {
        let ttl = if i % 2 == 0 { Some(10) } else { None };
        t.insert(&key(i), b"v", ttl, SetCondition::Always);
    }
    assert_eq!(t.sweep_expired(1000), 0, "nothing expired yet");
    clock.advance(10);
    let first = t.sweep_expired(10);
    assert!(first > 0 && first <= 10, "budget bounds the work: {first}");
    let mut total = first;
    for _ in 0..100 {
        total += t.sweep_expired(10);
    }
    assert_eq!(total, 50);
    assert_eq!(t.len(), 50);
    let s = t.stats();
    assert_eq!((s.expirations, s.hits, s.misses), (50, 0, 0));
    assert_eq!(t.sweep_expired(0), 0);
}

#[test]
fn ttl_and_set_ttl_states() {
    let (t, clock) = table(0, Policy::Lfu, ExpiryMode::Absolute);
    assert_eq!(t.ttl(b"k"), Ttl::Missing);
    assert!(!t.set_ttl(b"k", Some(10)));
    t.insert(b"k", b"v", None, SetCondition::Always);
    assert_eq!(t.ttl(b"k"), Ttl::Persistent);
    assert!(t.set_ttl(b"k", Some(1_000)));
    clock.advance(250);
    assert_eq!(t.ttl(b"k"), Ttl::RemainingMs(750));
    assert!(t.set_ttl(b"k", None));
    assert_eq!(t.ttl(b"k"), Ttl::Persistent);
    t.insert(b"k", b"v", Some(30), SetCondition::Always);
    assert_eq!(t.ttl(b"k"), Ttl::RemainingMs(30));
    t.insert(b"k", b"v", None, SetCondition::Always);
    assert_eq!(t.ttl(b"k"), Ttl::Persistent, "a plain SET clears the TTL");
    assert!(t.set_ttl(b"k", Some(0)), "EXPIRE 0 deletes");
    assert_eq!(t.ttl(b"k"), Ttl::Missing);
    t.insert(b"z", b"v", Some(0), SetCondition::Always);
    assert_eq!(
        t.get(b"z"),
        Some(b"v".to_vec()),
        "a zero TTL still reads back once"
    );
}

fn check_bounded(policy: Policy, max: u64) {
    let (t, _) = table(max, policy, ExpiryMode::Absolute);
    for i in 0..(max * 5) {
        t.insert(&key(i), b"value", None, SetCondition::Always);
        assert!(t.contains(&key(i)), "just-inserted entry must be present");
        assert!(t.len() <= max);
        if i % 3 == 0 {
            t.get(&key(i / 2));
        }
    }
    let s = t.stats();
    assert_eq!(t.len(), max);
    assert_eq!(s.items, max);
    assert_eq!(s.evictions, max * 4);
    assert_eq!(s.sets, max * 5);
}

#[test]
fn eviction_respects_max_items_for_both_policies() {
    for policy in [Policy::Lru, Policy::Lfu] {
        for max in [1, 2, 3, 10, 257, 5_000] {
            check_bounded(policy, max);
        }
    }
}

#[test]
fn eviction_prefers_expired_entries() {
    let (t, clock) = table(100, Policy::Lru, ExpiryMode::Absolute);
    for i in 0..100 {
        t.insert(&key(i), b"v", Some(10), SetCondition::Always);
    }
    clock.advance(10);
    t.insert(b"new", b"v", None, SetCondition::Always);
    let s = t.stats();
    assert_eq!((s.evictions, s.expirations), (0, 1));
}

#[test]
fn lru_keeps_recently_read_key() {
    let (t, _) = table(100, Policy::Lru, ExpiryMode::Absolute);
    t.insert(b"hot", b"v", None, SetCondition::Always);
    for i in 0..2_000 {
        assert!(t.get(b"hot").is_some(), "hot key evicted at step {i}");
        t.insert(&key(i), b"v", None, SetCondition::Always);
    }
}

#[test]
fn lfu_keeps_hot_key_through_a_scan() {
    let (t, _) = table(1_000, Policy::Lfu, ExpiryMode::Absolute);
    t.insert(b"hot", b"v", None, SetCondition::Always);
    for _ in 0..30 {
        assert!(t.get(b"hot").is_some());
    }
    for i in 0..20_000 {
        t.insert(&key(i), b"v", None, SetCondition::Always);
    }
    assert!(
        t.contains(b"hot"),
        "a one-pass scan must not flush the hot key"
    );
}

fn matching_sets(index_keys: bool) -> (Vec<Vec<Vec<u8>>>, Vec<u64>) {
    let clock = ManualClock::new(0);
    let config = TableConfig {
        index_keys,
        ..TableConfig::default()
    };
    let t = Table::new(config, Arc::new(clock.clone()));
    for i in 0..300u64 {
        let k = format!("user:{}:{}", i % 7, i);
        let ttl = (i % 10 == 0).then_some(5);
        t.insert(k.as_bytes(), b"v", ttl, SetCondition::Always);
        t.insert(
            format!("other{i}").as_bytes(),
            b"v",
            None,
            SetCondition::Always,
        );
    }
    t.insert(b"us*er", b"v", None, SetCondition::Always);
    clock.advance(5);
    let patterns = [
        "user:3:*",
        "user:?:1*",
        "*:2:*",
        "user:[1-2]:*0",
        "us\\*er",
        "user:",
        "*",
    ];
    let mut found = Vec::new();
    for p in patterns {
        let mut keys = t.keys_matching(&Glob::new(p.as_bytes()));
        keys.sort();
        found.push(keys);
    }
    let removed = vec![
        t.remove_matching(&Glob::new(b"user:3:*")),
        t.remove_matching(&Glob::new(b"*other1*")),
        t.remove_matching(&Glob::new(b"us\\*er")),
        t.len(),
    ];
    (found, removed)
}

#[test]
fn key_index_gives_same_answers_as_full_scan() {
    let (with, removed_with) = matching_sets(true);
    let (without, removed_without) = matching_sets(false);
    assert_eq!(with, without);
    assert_eq!(removed_with, removed_without);
    assert_eq!(with[0].len(), 43 - 5, "43 user:3:* keys, 5 of them expired");
    assert_eq!(with[4], vec![b"us*er".to_vec()]);
    assert!(with[5].is_empty());
}

#[test]
fn stats_counters() {
    let (t, _) = table(0, Policy::Lfu, ExpiryMode::Absolute);
    t.insert(b"ab", b"cde", None, SetCondition::Always);
    t.insert(b"x", b"", None, SetCondition::Always);
    t.insert(b"x", b"yz", None, SetCondition::IfAbsent);
    t.insert(b"x", b"yz", None, SetCondition::IfPresent);
    t.get(b"ab");
    t.get(b"nope");
    t.contains(b"ab");
    let s = t.stats();
    assert_eq!(
        s,
        TableStats {
            hits: 1,
            misses: 1,
            sets: 3,
            evictions: 0,
            expirations: 0,
            items: 2,
            bytes: 8
        }
    );
    assert_eq!(t.clear(), 2);
    assert_eq!(t.stats().bytes, 0);
    assert!(t.is_empty());
}

#[test]
fn config_resolves_shards() {
    let (t, _) = table(0, Policy::Lfu, ExpiryMode::Absolute);
    let n = t.config().shards;
    assert!(n >= 16 && n.is_power_of_two());
    let (t, _) = table(10, Policy::Lfu, ExpiryMode::Absolute);
    assert_eq!(t.config().shards, 1);
}

#[test]
fn concurrent_smoke() {
    let (t, _) = table(1_000, Policy::Lfu, ExpiryMode::Absolute);
    let t = Arc::new(t);
    let handles: Vec<_> = (0..4u64)
        .map(|n| {
            let t = Arc::clone(&t);
            std::thread::spawn(move || {
                for i in 0..5_000 {
                    let k = key((i * 7 + n) % 3_000);
                    if t.get(&k).is_none() {
                        t.insert(&k, b"v", None, SetCondition::Always);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(t.len() <= 1_000);
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u8, Vec<u8>, u8),
    Get(u8),
    Remove(u8),
    Contains(u8),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..8), 0u8..3)
            .prop_map(|(k, v, c)| Op::Insert(k % 32, v, c)),
        4 => any::<u8>().prop_map(|k| Op::Get(k % 32)),
        2 => any::<u8>().prop_map(|k| Op::Remove(k % 32)),
        1 => any::<u8>().prop_map(|k| Op::Contains(k % 32)),
        1 => Just(Op::Clear),
    ]
}

proptest! {
    #[test]
    fn matches_btreemap_model(ops in proptest::collection::vec(op(), 1..200), shards in 1usize..4) {
        let config = TableConfig { shards, ..TableConfig::default() };
        let t = Table::new(config, Arc::new(ManualClock::new(0)));
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert(k, v, c) => {
                    let k = vec![k; usize::from(k % 5)];
                    let cond = [SetCondition::Always, SetCondition::IfAbsent, SetCondition::IfPresent][usize::from(c)];
                    let present = model.contains_key(&k);
                    let expected = match (cond, present) {
                        (SetCondition::IfAbsent, true) | (SetCondition::IfPresent, false) => InsertResult::ConditionNotMet,
                        (_, true) => InsertResult::Replaced,
                        (_, false) => InsertResult::Inserted,
                    };
                    if expected != InsertResult::ConditionNotMet {
                        model.insert(k.clone(), v.clone());
                    }
                    prop_assert_eq!(t.insert(&k, &v, None, cond), expected);
                }
                Op::Get(k) => {
                    let k = vec![k; usize::from(k % 5)];
                    prop_assert_eq!(t.get(&k), model.get(&k).cloned());
                }
                Op::Remove(k) => {
                    let k = vec![k; usize::from(k % 5)];
                    prop_assert_eq!(t.remove(&k), model.remove(&k).is_some());
                }
                Op::Contains(k) => {
                    let k = vec![k; usize::from(k % 5)];
                    prop_assert_eq!(t.contains(&k), model.contains_key(&k));
                }
                Op::Clear => {
                    prop_assert_eq!(t.clear(), model.len() as u64);
                    model.clear();
                }
            }
            prop_assert_eq!(t.len(), model.len() as u64);
        }
        let bytes: usize = model.iter().map(|(k, v)| k.len() + v.len()).sum();
        prop_assert_eq!(t.stats().bytes, bytes as u64);
        let mut keys = t.keys_matching(&Glob::new(b"*"));
        keys.sort();
        prop_assert_eq!(keys, model.keys().cloned().collect::<Vec<_>>());
    }
}

#[test]
fn evict_sheds_entries_beyond_capacity_rules() {
    let clock = Arc::new(ManualClock::new(0));
    for policy in [Policy::Lru, Policy::Lfu] {
        let table = Table::new(
            TableConfig {
                max_items: 0,
                policy,
                ..TableConfig::default()
            },
            clock.clone(),
        );
        for i in 0..100u32 {
            table.insert(&i.to_le_bytes(), b"v", None, SetCondition::Always);
        }
        assert_eq!(table.evict(30), 30, "{policy:?}");
        assert_eq!(table.len(), 70);
        assert_eq!(table.stats().evictions, 30);
        assert_eq!(table.evict(1000), 70, "stops when empty");
        assert!(table.is_empty());
        assert_eq!(table.evict(5), 0);
    }
}

fn filled(index_keys: bool, n: u64) -> (Table, ManualClock) {
    let clock = ManualClock::new(0);
    let config = TableConfig {
        index_keys,
        ..TableConfig::default()
    };
    let t = Table::new(config, Arc::new(clock.clone()));
    for i in 0..n {
        let k = format!("user:{}:{}", i % 7, i);
        let ttl = (i % 10 == 0).then_some(5);
        t.insert(k.as_bytes(), b"v", ttl, SetCondition::Always);
        t.insert(
            format!("other{i}").as_bytes(),
            b"v",
            None,
            SetCondition::Always,
        );
    }
    (t, clock)
}

#[test]
fn pattern_set_removes_what_one_pass_per_pattern_removes() {
    let patterns: [&[u8]; 6] = [
        b"user:3:*",
        b"*other1*",
        b"us\\*er",
        b"user:[1-2]:*0",
        b"other7",
        b"*:5:1?",
    ];
    let keys: [&[u8]; 2] = [b"other200", b"missing"];
    for index_keys in [true, false] {
        let (one_by_one, clock) = filled(index_keys, 1_000);
        clock.advance(5);
        let mut expected = 0;
        for k in keys {
            expected += u64::from(one_by_one.remove(k));
        }
        for p in patterns {
            expected += one_by_one.remove_matching(&Glob::new(p));
        }
        let (at_once, clock) = filled(index_keys, 1_000);
        clock.advance(5);
        let set = PatternSet::new(keys, patterns);
        let mut budget = WorkBudget::new(u64::MAX);
        assert_eq!(at_once.remove_matching_set(&set, &mut budget), Ok(expected));
        let mut left_a = one_by_one.keys_matching(&Glob::new(b"*"));
        let mut left_b = at_once.keys_matching(&Glob::new(b"*"));
        left_a.sort();
        left_b.sort();
        assert_eq!(left_a, left_b, "index_keys = {index_keys}");
        assert!(expected > 100);
    }
}

#[test]
fn pattern_set_visits_each_key_once_for_all_patterns() {
    // 50 prefixless patterns that match nothing: a pass per pattern would look at every key 50
    // times; one pass looks at each key once and runs the 50 automatons on it.
    let (t, _clock) = filled(true, 500);
    let patterns: Vec<Vec<u8>> = (0..50)
        .map(|i| format!("*nomatch{i}*").into_bytes())
        .collect();
    let set = PatternSet::new([], patterns.iter().map(Vec::as_slice));
    let globs: Vec<Glob> = patterns.iter().map(|p| Glob::new(p)).collect();
    let all = t.keys_matching(&Glob::new(b"*"));
    let expected: u64 = all
        .iter()
        .map(|k| 1 + globs.iter().map(|g| g.matches_counted(k).1).sum::<u64>())
        .sum();
    let mut budget = WorkBudget::new(u64::MAX);
    assert_eq!(t.remove_matching_set(&set, &mut budget), Ok(0));
    assert_eq!(
        budget.spent(),
        expected,
        "one visit per key, not one per key and pattern"
    );
}

#[test]
fn pattern_set_with_prefixes_only_walks_their_ranges() {
    let (t, _clock) = filled(true, 1_000);
    let in_ranges = t.keys_matching(&Glob::new(b"user:[34]:*")).len() as u64;
    assert!(in_ranges * 4 < t.len());
    let set = PatternSet::new([], [&b"user:3:*"[..], b"user:3:1*", b"user:4:?9"]);
    let mut budget = WorkBudget::new(u64::MAX);
    let removed = t.remove_matching_set(&set, &mut budget);
    assert!(removed.is_ok_and(|n| n > 100));
    // Only keys under user:3: and user:4: are looked at (each key at most 1 + 3 globs × 12
    // bytes), not the other five sevenths of the table.
    assert!(
        budget.spent() <= in_ranges * (1 + 3 * 12),
        "spent {}",
        budget.spent()
    );
    assert!(t.contains(b"user:5:5"));
}

#[test]
fn pattern_set_stops_when_the_budget_runs_out() {
    let (t, _clock) = filled(true, 1_000);
    let before = t.len();
    let set = PatternSet::new([], [&b"*:1:*"[..], b"*nothing*"]);
    let mut budget = WorkBudget::new(500);
    let result = t.remove_matching_set(&set, &mut budget);
    assert!(result.is_err(), "500 steps cannot cover 2,000 keys");
    let over = result.err().unwrap_or(OverBudget { removed: u64::MAX });
    assert_eq!(budget.left(), 0);
    assert!(over.removed < 143, "stopped early: {over:?}");
    assert_eq!(t.len(), before - over.removed);
    // What the caller must do then: invalidate more, never less.
    t.clear();
    assert!(t.is_empty());
}
