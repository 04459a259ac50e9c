//! The cross-node figures of `bench/tiers.sh` (not a timed test: it prints
//! numbers for the script to report). Every node is a real `hoard` with
//! `[l2]` on one real `redis-server`; the script starts them.
//!
//! `staleness PORT_A PORT_B N`: N times, `CACHE.SET UserCache` a new value
//! of one key on node A; from A's acknowledgement, `CACHE.GET` the key on
//! node B in a tight loop until B answers the new value. Prints p50, p99
//! and max of those waits (B held the previous value in its L1 each time,
//! so each wait is the invalidation crossing the bus plus B's read of L2).
//!
//! `outage PORT_A PORT_B PORT_C REDIS_PID BEFORE_S OUTAGE_S AFTER_S MAX_STALE_MS WARM WRITE_KEYS`:
//! WARM keys are written on A and read on A and B (warm in both L1s). Then,
//! for BEFORE_S + OUTAGE_S + AFTER_S seconds, on each of A and B one writer
//! writes its own WRITE_KEYS keys round-robin with an increasing sequence
//! number, and one reader alternates a warm-key read on its node with a read
//! of a key the *other* node writes. After BEFORE_S, redis-server is
//! `SIGSTOP`ped for OUTAGE_S, then `SIGCONT`. Then the client waits until
//! both nodes' replay queues are empty and their bus links are up, waits
//! MAX_STALE_MS more, and reads every written key on A, on B and on C (a
//! third node that never read them: its answers come from Redis).
//!
//! Counted: error replies (and misses) on warm-key reads; acknowledged
//! writes (`OK` or `PARTIAL`) whose value, or a newer one, is not what a
//! node (or Redis, through C) answers at the end; cross-node reads that
//! answered a value older than a write acknowledged more than MAX_STALE_MS
//! before the read was sent, split into before (answered before SIGSTOP),
//! during and after the outage (`stale_after`: sent after SIGCONT; `stale_after_bound`: sent more than
//! MAX_STALE_MS after SIGCONT, so a write acknowledged during the outage
//! has had the same bound to cross as one acknowledged normally).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn connect(port: u16) -> Result<redis::Connection> {
    let con = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?
        .get_connection_with_timeout(Duration::from_secs(5))?;
    con.set_read_timeout(Some(Duration::from_secs(30)))?;
    Ok(con)
}

/// A UserCache value whose email says sequence number `seq`.
fn user(id: &str, seq: u64) -> String {
    format!(r#"{{"id":"{id}","email":"s{seq}@example.com"}}"#)
}

/// The sequence number in a UserCache value (0 for none).
fn seq_of(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.split("\"email\":\"s").nth(1))
        .and_then(|rest| rest.split('@').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn set(con: &mut redis::Connection, id: &str, value: &str) -> redis::RedisResult<String> {
    redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(value)
        .arg(id)
        .query(con)
}

fn get(con: &mut redis::Connection, id: &str) -> redis::RedisResult<Option<String>> {
    redis::cmd("CACHE.GET").arg("UserCache").arg(id).query(con)
}

fn info(con: &mut redis::Connection, field: &str) -> Result<String> {
    let text: String = redis::cmd("INFO").arg("l2").query(con)?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// Waits (up to `limit`) until `field` of `INFO l2` reads `want`.
fn wait_info(con: &mut redis::Connection, field: &str, want: &str, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        // While Redis is away a node still answers INFO; an error here is real.
        if info(con, field)? == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{field} did not reach {want} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn staleness(args: &[String]) -> Result<()> {
    let [a, b, n] = args else {
        bail!("staleness PORT_A PORT_B N");
    };
    let n: u64 = n.parse()?;
    let (mut ca, mut cb) = (connect(a.parse()?)?, connect(b.parse()?)?);
    for con in [&mut ca, &mut cb] {
        wait_info(con, "bus_link", "up", Duration::from_secs(20))?;
    }
    let id = "stale1";
    // B holds the key in L1 before the first timed write.
    set(&mut ca, id, &user(id, 0))?;
    get(&mut cb, id)?;
    get(&mut cb, id)?;
    let (mut waits, mut partial, mut timeouts, mut polls) = (Vec::new(), 0u64, 0u64, 0u64);
    for seq in 1..=n {
        let reply = set(&mut ca, id, &user(id, seq))?;
        let acked = Instant::now();
        if reply != "OK" {
            partial += 1;
        }
        loop {
            polls += 1;
            let got = get(&mut cb, id)?;
            if seq_of(got.as_deref()) >= seq {
                waits.push(micros(acked.elapsed()));
                break;
            }
            if acked.elapsed() > Duration::from_secs(5) {
                timeouts += 1;
                break;
            }
        }
    }
    waits.sort_unstable();
    println!(
        "staleness writes={n} answered={} p50_us={} p99_us={} max_us={} reads_on_b_per_write={:.2} partial={partial} timeouts_5s={timeouts}",
        waits.len(),
        percentile(&waits, 0.5),
        percentile(&waits, 0.99),
        waits.last().copied().unwrap_or(0),
        {
            #[allow(clippy::cast_precision_loss)]
            let r = polls as f64 / n.max(1) as f64;
            r
        }
    );
    Ok(())
}

/// Acknowledged writes per key: (sequence, when acknowledged), in order.
type Acked = Arc<Mutex<HashMap<String, Vec<(u64, Instant)>>>>;

#[derive(Default)]
struct Counts {
    warm_reads: AtomicU64,
    warm_errors: AtomicU64,
    warm_misses: AtomicU64,
    /// Of those, answered after SIGCONT.
    warm_misses_after: AtomicU64,
    /// Microseconds from SIGCONT to the last of those.
    last_warm_miss_after_us: AtomicU64,
    writes_ok: AtomicU64,
    writes_partial: AtomicU64,
    write_errors: AtomicU64,
    cross_reads: AtomicU64,
    cross_errors: AtomicU64,
    stale_before: AtomicU64,
    stale_during: AtomicU64,
    stale_after: AtomicU64,
    /// Of those, the reads sent more than MAX_STALE_MS after SIGCONT.
    stale_after_bound: AtomicU64,
    /// Microseconds from SIGCONT to the start of the last stale read after it.
    last_stale_after_us: AtomicU64,
}

/// The outage's start and end, once they happened.
#[derive(Default)]
struct Phases {
    stopped: Option<Instant>,
    resumed: Option<Instant>,
}

fn signal(pid: &str, sig: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .arg(sig)
        .arg(pid)
        .status()?;
    if !status.success() {
        bail!("kill {sig} {pid} failed");
    }
    Ok(())
}

#[allow(clippy::too_many_lines)]
fn outage(args: &[String]) -> Result<()> {
    let [
        a,
        b,
        c,
        pid,
        before,
        down,
        after,
        max_stale,
        warm,
        write_keys,
    ] = args
    else {
        bail!(
            "outage PORT_A PORT_B PORT_C REDIS_PID BEFORE_S OUTAGE_S AFTER_S MAX_STALE_MS WARM WRITE_KEYS"
        );
    };
    let ports: [u16; 3] = [a.parse()?, b.parse()?, c.parse()?];
    let (before, down, after): (u64, u64, u64) = (before.parse()?, down.parse()?, after.parse()?);
    let max_stale = Duration::from_millis(max_stale.parse()?);
    let (warm, write_keys): (usize, usize) = (warm.parse()?, write_keys.parse()?);
    for port in ports {
        wait_info(
            &mut connect(port)?,
            "bus_link",
            "up",
            Duration::from_secs(20),
        )?;
    }
    let (mut ca, mut cb) = (connect(ports[0])?, connect(ports[1])?);
    let warm_ids: Vec<String> = (0..warm).map(|k| format!("w{k}")).collect();
    for id in &warm_ids {
        let reply = set(&mut ca, id, &user(id, 1))?;
        if reply != "OK" {
            bail!("warm-up write answered {reply}");
        }
        for con in [&mut ca, &mut cb] {
            get(con, id)?;
            get(con, id)?;
        }
    }

    let counts = Arc::new(Counts::default());
    let acked: Acked = Arc::default();
    let phases = Arc::new(Mutex::new(Phases::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let warm_ids = Arc::new(warm_ids);
    let mut threads = Vec::new();
    for (node, port) in [("a", ports[0]), ("b", ports[1])] {
        // The writer of this node's keys.
        let (counts_w, acked_w, stop_w) = (counts.clone(), acked.clone(), stop.clone());
        let mut con = connect(port)?;
        threads.push(std::thread::spawn(move || -> Result<()> {
            let mut seq = 1u64;
            while !stop_w.load(Ordering::Relaxed) {
                let id = format!("{node}{}", seq % write_keys as u64);
                seq += 1;
                match set(&mut con, &id, &user(&id, seq)) {
                    Ok(reply) => {
                        let at = Instant::now();
                        match reply.as_str() {
                            "OK" => counts_w.writes_ok.fetch_add(1, Ordering::Relaxed),
                            "PARTIAL" => counts_w.writes_partial.fetch_add(1, Ordering::Relaxed),
                            other => bail!("CACHE.SET answered {other}"),
                        };
                        acked_w
                            .lock()
                            .map_err(|_| anyhow::anyhow!("poisoned"))?
                            .entry(id)
                            .or_default()
                            .push((seq, at));
                    }
                    Err(error) => {
                        if counts_w.write_errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("first write error (node {node}, key {id}): {error}");
                        }
                    }
                }
            }
            Ok(())
        }));
        // The reader: a warm key here, then a key the other node writes.
        let other = if node == "a" { "b" } else { "a" };
        let (counts_r, acked_r, stop_r, phases_r, warm_r) = (
            counts.clone(),
            acked.clone(),
            stop.clone(),
            phases.clone(),
            warm_ids.clone(),
        );
        let mut con = connect(port)?;
        threads.push(std::thread::spawn(move || -> Result<()> {
            let mut i = 0usize;
            while !stop_r.load(Ordering::Relaxed) {
                i += 1;
                counts_r.warm_reads.fetch_add(1, Ordering::Relaxed);
                match get(&mut con, &warm_r[i % warm_r.len()]) {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        counts_r.warm_misses.fetch_add(1, Ordering::Relaxed);
                        let phases = phases_r.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                        if let Some(resumed) = phases.resumed {
                            counts_r.warm_misses_after.fetch_add(1, Ordering::Relaxed);
                            counts_r.last_warm_miss_after_us.fetch_max(
                                micros(Instant::now().saturating_duration_since(resumed)),
                                Ordering::Relaxed,
                            );
                        }
                    }
                    Err(error) => {
                        if counts_r.warm_errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("first warm-read error (node {node}): {error}");
                        }
                    }
                }
                let id = format!("{other}{}", i % write_keys);
                let sent = Instant::now();
                counts_r.cross_reads.fetch_add(1, Ordering::Relaxed);
                let got = match get(&mut con, &id) {
                    Ok(v) => v,
                    Err(_) => {
                        counts_r.cross_errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                let done = Instant::now();
                let seen = seq_of(got.as_deref());
                // The newest write acknowledged more than max_stale before the read was sent.
                let owed = sent.checked_sub(max_stale).and_then(|limit| {
                    let acked = acked_r.lock().ok()?;
                    acked
                        .get(&id)?
                        .iter()
                        .rev()
                        .find(|(_, at)| *at <= limit)
                        .map(|(seq, _)| *seq)
                });
                if owed.is_some_and(|owed| seen < owed) {
                    let phases = phases_r.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    match (phases.stopped, phases.resumed) {
                        (Some(_), Some(resumed)) if sent >= resumed => {
                            counts_r.stale_after.fetch_add(1, Ordering::Relaxed);
                            if sent >= resumed + max_stale {
                                counts_r.stale_after_bound.fetch_add(1, Ordering::Relaxed);
                            }
                            counts_r
                                .last_stale_after_us
                                .fetch_max(micros(sent - resumed), Ordering::Relaxed);
                        }
                        // A read sent just before SIGSTOP may have run into it.
                        (Some(stopped), _) if done >= stopped => {
                            counts_r.stale_during.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            counts_r.stale_before.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            Ok(())
        }));
    }

    std::thread::sleep(Duration::from_secs(before));
    signal(pid, "-STOP")?;
    phases
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .stopped = Some(Instant::now());
    std::thread::sleep(Duration::from_secs(down));
    signal(pid, "-CONT")?;
    let resumed = Instant::now();
    phases
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .resumed = Some(resumed);
    std::thread::sleep(Duration::from_secs(after));
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
    }

    // Everything queued has reached Redis, every bus link is up again.
    let drain_started = Instant::now();
    for port in &ports[..2] {
        let mut con = connect(*port)?;
        wait_info(&mut con, "l2_replay_depth", "0", Duration::from_secs(120))
            .context("replay queue")?;
        wait_info(&mut con, "bus_link", "up", Duration::from_secs(30))?;
    }
    let drained_ms = drain_started.elapsed().as_millis();
    std::thread::sleep(max_stale + Duration::from_millis(200));

    let acked = acked.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let mut lost = [0u64; 3];
    let mut c_levels: HashMap<String, u64> = HashMap::new();
    for (node, port) in ports.iter().enumerate() {
        let mut con = connect(*port)?;
        for (id, history) in acked.iter() {
            let Some(&(last, _)) = history.last() else {
                continue;
            };
            let got = if node == 2 {
                // C never read these keys: what it answers comes from Redis.
                let (value, level): (Option<String>, String) = redis::cmd("CACHE.GETMETA")
                    .arg("UserCache")
                    .arg(id)
                    .query(&mut con)?;
                *c_levels.entry(level).or_default() += 1;
                value
            } else {
                get(&mut con, id)?
            };
            if seq_of(got.as_deref()) < last {
                lost[node] += 1;
            }
        }
    }
    let load = |x: &AtomicU64| x.load(Ordering::Relaxed);
    let mut levels: Vec<_> = c_levels.into_iter().collect();
    levels.sort();
    let levels = levels
        .iter()
        .map(|(l, n)| format!("{l}:{n}"))
        .collect::<Vec<_>>()
        .join(",");
    println!(
        "outage stop_s={down} warm_keys={warm} warm_reads={} warm_errors={} warm_misses={} warm_misses_after_sigcont={} last_warm_miss_after_ms={} writes_ok={} writes_partial={} write_errors={} keys_written={} lost_on_a={} lost_on_b={} lost_in_redis={} c_levels={levels} cross_reads={} cross_errors={} stale_before={} stale_during={} stale_after={} stale_after_bound={} last_stale_after_ms={} drained_ms={drained_ms}",
        load(&counts.warm_reads),
        load(&counts.warm_errors),
        load(&counts.warm_misses),
        load(&counts.warm_misses_after),
        load(&counts.last_warm_miss_after_us) / 1000,
        load(&counts.writes_ok),
        load(&counts.writes_partial),
        load(&counts.write_errors),
        acked.len(),
        lost[0],
        lost[1],
        lost[2],
        load(&counts.cross_reads),
        load(&counts.cross_errors),
        load(&counts.stale_before),
        load(&counts.stale_during),
        load(&counts.stale_after),
        load(&counts.stale_after_bound),
        load(&counts.last_stale_after_us) / 1000,
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("staleness") => staleness(&args[1..]),
        Some("outage") => outage(&args[1..]),
        // `cargo bench` with no arguments (CI's `--all-targets` build) does nothing.
        _ => {
            eprintln!("usage: tiers staleness … | outage … (see bench/tiers.sh)");
            Ok(())
        }
    }
}
