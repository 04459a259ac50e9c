//! Benchmarks hoard's L1 `Table` against moka and quick_cache: throughput, hit ratio and
//! memory per entry, all measured in one run. Plain binary (no criterion).
//!
//! `L1_BENCH_KEYS` sets the key-space size (default 1_000_000), `L1_BENCH_OPS` the operations
//! per thread for throughput runs (default 4_000_000). `L1_BENCH_ONLY=hit` runs only the hoard
//! hit ratios (add `L1_BENCH_OTHERS=1` for moka and quick_cache), for quick policy tuning.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use hoard_l1::{ManualClock, Policy, SetCondition, Table, TableConfig};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Zipf};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

/// Counts live heap bytes (requested sizes) so that bytes per entry can be measured.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// The allocator interface is unsafe by definition; this impl only forwards to `System`.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

type Maker<'a> = Box<dyn Fn() -> Box<dyn Cache> + 'a>;
type Moka = moka::sync::Cache<Box<[u8]>, Arc<[u8]>>;
type Quick = quick_cache::sync::Cache<Box<[u8]>, Arc<[u8]>>;

trait Cache: Sync {
    fn get(&self, k: &[u8]) -> bool;
    fn put(&self, k: &[u8], v: &[u8]);
    /// Lets caches with deferred bookkeeping (moka) finish it before memory is measured.
    fn settle(&self) {}
}

struct Hoard(Table);
impl Cache for Hoard {
    fn get(&self, k: &[u8]) -> bool {
        black_box(self.0.get(k)).is_some()
    }
    fn put(&self, k: &[u8], v: &[u8]) {
        self.0.insert(k, v, None, SetCondition::Always);
    }
}
/// hoard reading through `get_with` (no copy), the way a RESP writer would use it.
struct HoardBorrow(Table);
impl Cache for HoardBorrow {
    fn get(&self, k: &[u8]) -> bool {
        black_box(self.0.get_with(k, |v| v.len())).is_some()
    }
    fn put(&self, k: &[u8], v: &[u8]) {
        self.0.insert(k, v, None, SetCondition::Always);
    }
}
impl Cache for Moka {
    fn settle(&self) {
        self.run_pending_tasks();
    }
    fn get(&self, k: &[u8]) -> bool {
        black_box(moka::sync::Cache::get(self, k)).is_some()
    }
    fn put(&self, k: &[u8], v: &[u8]) {
        self.insert(k.into(), v.into());
    }
}
impl Cache for Quick {
    fn get(&self, k: &[u8]) -> bool {
        black_box(quick_cache::sync::Cache::get(self, k)).is_some()
    }
    fn put(&self, k: &[u8], v: &[u8]) {
        self.insert(k.into(), v.into());
    }
}

fn hoard(cap: u64, policy: Policy) -> Table {
    let config = TableConfig {
        max_items: cap,
        policy,
        ..TableConfig::default()
    };
    Table::new(config, Arc::new(ManualClock::new(0)))
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn key(i: usize) -> [u8; 10] {
    let mut k = [b'0'; 10];
    let mut x = i;
    for b in k.iter_mut().rev() {
        *b = b'0' + (x % 10) as u8;
        x /= 10;
    }
    k
}

fn trace(n: usize, s: f64, len: usize, seed: u64) -> Vec<u32> {
    let z = Zipf::new(n as f64, s).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    // Scatter ranks over the key space so hot keys are not numerically adjacent.
    (0..len)
        .map(|_| {
            let r = z.sample(&mut rng) as u64 - 1;
            (r.wrapping_mul(2_654_435_761) % n as u64) as u32
        })
        .collect()
}

fn run_threads(cache: &dyn Cache, traces: &[Vec<u32>], keys: &[[u8; 10]], write: bool) -> f64 {
    let value = [7u8; 64];
    let barrier = Barrier::new(traces.len());
    let start = std::thread::scope(|s| {
        let hs: Vec<_> = traces
            .iter()
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let t0 = Instant::now();
                    for &i in t {
                        let k = &keys[i as usize];
                        if write {
                            cache.put(k, &value);
                        } else {
                            cache.get(k);
                        }
                    }
                    t0
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).min().unwrap()
    });
    let ops: usize = traces.iter().map(Vec::len).sum();
    ops as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn hit_ratio(cache: &dyn Cache, trace: &[u32], keys: &[[u8; 10]]) -> f64 {
    let value = [7u8; 64];
    let mut hits = 0usize;
    for &i in trace {
        let k = &keys[i as usize];
        if cache.get(k) {
            hits += 1;
        } else {
            cache.put(k, &value);
        }
    }
    hits as f64 / trace.len() as f64 * 100.0
}

fn measure_bytes(n: usize, keys: &[[u8; 10]], build: impl FnOnce() -> Box<dyn Cache>) -> f64 {
    let value = [7u8; 64];
    let before = LIVE.load(Ordering::SeqCst);
    let c = build();
    for k in &keys[..n] {
        c.put(k, &value);
    }
    c.settle();
    let after = LIVE.load(Ordering::SeqCst);
    drop(c);
    (after - before) as f64 / n as f64
}

fn row(name: &str, vals: &[(&str, f64)]) {
    print!("{name:<34}");
    for (n, v) in vals {
        print!(" {n:>12} {v:>8.2}");
    }
    println!();
}

fn main() {
    let n = env("L1_BENCH_KEYS", 1_000_000);
    let ops = env("L1_BENCH_OPS", 4_000_000);
    let keys: Vec<[u8; 10]> = (0..n).map(key).collect();
    println!(
        "keys = {n}, ops/thread = {ops}, cores = {:?}",
        std::thread::available_parallelism()
    );

    if std::env::var("L1_BENCH_ONLY").is_ok_and(|v| v == "hit") {
        let cap = n / 10;
        let ht = trace(n, 0.9, (n * 10).max(1_000_000), 7);
        let t0 = Instant::now();
        let lfu = hit_ratio(&Hoard(hoard(cap as u64, Policy::Lfu)), &ht, &keys);
        println!("hoard Lfu {lfu:.2} ({:.1}s)", t0.elapsed().as_secs_f64());
        let lru = hit_ratio(&Hoard(hoard(cap as u64, Policy::Lru)), &ht, &keys);
        println!("hoard Lru {lru:.2}");
        if std::env::var("L1_BENCH_OTHERS").is_ok() {
            let m = hit_ratio(&Moka::new(cap as u64), &ht, &keys);
            let q = hit_ratio(&Quick::new(cap), &ht, &keys);
            println!("moka {m:.2} quick_cache {q:.2}");
        }
        return;
    }
    // (4) Memory first, while the heap is quiet. moka needs pending tasks flushed.
    let b_hoard = measure_bytes(n, &keys, || Box::new(Hoard(hoard(n as u64, Policy::Lfu))));
    let b_hoard_lru = measure_bytes(n, &keys, || Box::new(Hoard(hoard(n as u64, Policy::Lru))));
    let b_moka = measure_bytes(n, &keys, || Box::new(Moka::new(n as u64)));
    let b_quick = measure_bytes(n, &keys, || Box::new(Quick::new(n)));

    // (1) Get throughput, Zipf 0.99, prefilled, 1 and 2 threads.
    let traces: Vec<Vec<u32>> = (0..2).map(|t| trace(n, 0.99, ops, 100 + t)).collect();
    let value = [7u8; 64];
    let fill = |c: &dyn Cache| {
        for k in &keys {
            c.put(k, &value);
        }
    };
    let mut get = Vec::new();
    let mut put = Vec::new();
    let caches: Vec<(&str, Maker)> = vec![
        (
            "hoard",
            Box::new(|| Box::new(Hoard(hoard(n as u64, Policy::Lfu)))),
        ),
        (
            "hoard get_with",
            Box::new(|| Box::new(HoardBorrow(hoard(n as u64, Policy::Lfu)))),
        ),
        ("moka", Box::new(|| Box::new(Moka::new(n as u64)))),
        ("quick_cache", Box::new(|| Box::new(Quick::new(n)))),
    ];
    for (name, make) in &caches {
        let c = make();
        fill(&*c);
        let g1 = run_threads(&*c, &traces[..1], &keys, false);
        let g2 = run_threads(&*c, &traces[..2], &keys, false);
        get.push((*name, g1, g2));
        drop(c);
        if *name == "hoard get_with" {
            continue;
        }
        // (2) Insert throughput into an empty cache sized for all keys.
        let c = make();
        let p1 = run_threads(&*c, &traces[..1], &keys, true);
        drop(c);
        let c = make();
        let p2 = run_threads(&*c, &traces[..2], &keys, true);
        put.push((*name, p1, p2));
    }

    // (3) Hit ratio, Zipf 0.9, capacity 10 % of keys, get then insert on miss.
    let cap = n / 10;
    let ht = trace(n, 0.9, (n * 10).max(1_000_000), 7);
    let hr = [
        (
            "hoard Lru",
            hit_ratio(&Hoard(hoard(cap as u64, Policy::Lru)), &ht, &keys),
        ),
        (
            "hoard Lfu",
            hit_ratio(&Hoard(hoard(cap as u64, Policy::Lfu)), &ht, &keys),
        ),
        ("moka", hit_ratio(&Moka::new(cap as u64), &ht, &keys)),
        ("quick_cache", hit_ratio(&Quick::new(cap), &ht, &keys)),
    ];

    println!("\n== get throughput, Zipf 0.99, Mops/s ==");
    for (name, a, b) in &get {
        row(name, &[("1 thread", *a), ("2 threads", *b)]);
    }
    println!("\n== insert throughput, Zipf 0.99, Mops/s ==");
    for (name, a, b) in &put {
        row(name, &[("1 thread", *a), ("2 threads", *b)]);
    }
    println!(
        "\n== hit ratio, Zipf 0.9, capacity {cap} of {n} keys, {} ops ==",
        ht.len()
    );
    for (name, v) in &hr {
        row(name, &[("hit %", *v)]);
    }
    println!("\n== bytes per entry, {n} x (10 B key + 64 B value) ==");
    for (name, v) in [
        ("hoard Lfu", b_hoard),
        ("hoard Lru", b_hoard_lru),
        ("moka", b_moka),
        ("quick_cache", b_quick),
    ] {
        row(name, &[("B/entry", v)]);
    }
    println!("  (redis-server reference: 152 B/entry)");

    let g = |name: &str| {
        get.iter()
            .find(|x| x.0 == name)
            .map(|x| (x.1, x.2))
            .unwrap()
    };
    let p = |name: &str| {
        put.iter()
            .find(|x| x.0 == name)
            .map(|x| (x.1, x.2))
            .unwrap()
    };
    let h = |name: &str| hr.iter().find(|x| x.0 == name).map(|x| x.1).unwrap();
    println!("\n== ratios (hoard / other) ==");
    for other in ["moka", "quick_cache"] {
        println!("vs {other}:");
        let (a, b) = (g("hoard"), g(other));
        row(
            "  get",
            &[("1 thread", a.0 / b.0), ("2 threads", a.1 / b.1)],
        );
        let (a, b) = (p("hoard"), p(other));
        row(
            "  insert",
            &[("1 thread", a.0 / b.0), ("2 threads", a.1 / b.1)],
        );
        row("  hit ratio (Lfu)", &[("ratio", h("hoard Lfu") / h(other))]);
        let bo = if other == "moka" { b_moka } else { b_quick };
        row("  bytes/entry (lower=better)", &[("ratio", b_hoard / bo)]);
    }
}
