//! The origin figures of `bench/origins.sh` (not a timed test: it prints
//! numbers for the script to turn into same-run ratios).
//!
//! `herd HOARD_PORT PG readthrough|naive CLIENTS SECONDS KEYS ZIPF TTL_MS PAUSE_S`:
//! CLIENTS connections read Zipf-distributed `UserDb` keys for SECONDS. In
//! `readthrough` each read is one `CACHE.GET` (hoard loads on a miss); in
//! `naive` each client does cache-aside by hand against a hoard without an
//! origin: `CACHE.GET`, on a miss the query, then `CACHE.PSETEX` with
//! TTL_MS. Prints reads, origin queries (rows added to PostgreSQL's `loads` table) and
//! client latency percentiles. PAUSE_S is how long the load query takes
//! (`pg_sleep`), the same in both modes and in hoard's configured statement.
//!
//! `miss HOARD_PORT PG N KEYS REDIS_PORT`: N read-through misses (`CACHE.DEL`
//! then a timed `CACHE.GET`) against N identical queries sent straight to
//! PostgreSQL by this client; prints both medians and p99s, the median of a
//! `CACHE.GET` hit of the same key right after (one round trip to hoard:
//! what a miss costs on top of the query at the least), and the median of a
//! `GET` sent the same way to a redis-server (the round trip of a server
//! that does next to nothing: the floor of any cache in between).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};
use tokio_postgres::NoTls;

/// The load statement, as `bench/origins.sh` configures it in hoard.
fn load_statement(pause_s: &str) -> String {
    format!(
        "WITH bump AS (INSERT INTO loads DEFAULT VALUES RETURNING pg_sleep({pause_s})) SELECT id::text AS id, email, name FROM users WHERE id = $1"
    )
}

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

async fn pg(conn: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(conn, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn cache_get(
    con: &mut redis::aio::MultiplexedConnection,
    id: &str,
) -> Result<Option<String>> {
    Ok(redis::cmd("CACHE.GET")
        .arg("UserDb")
        .arg(id)
        .query_async(con)
        .await?)
}

async fn loads(client: &tokio_postgres::Client) -> Result<i64> {
    Ok(client
        .query_one("SELECT count(*) FROM loads", &[])
        .await?
        .get(0))
}

async fn herd(args: &[String]) -> Result<()> {
    let [port, conn, mode, clients, seconds, keys, zipf, ttl, pause] = args else {
        bail!("herd HOARD_PORT PG readthrough|naive CLIENTS SECONDS KEYS ZIPF TTL_MS PAUSE_S");
    };
    let load = load_statement(pause);
    let port: u16 = port.parse()?;
    let clients: usize = clients.parse()?;
    let seconds: u64 = seconds.parse()?;
    let keys: u64 = keys.parse()?;
    let zipf: f64 = zipf.parse()?;
    let ttl: u64 = ttl.parse()?;
    let naive = match mode.as_str() {
        "readthrough" => false,
        "naive" => true,
        other => bail!("mode {other}"),
    };
    let counter = pg(conn).await?;
    let before = loads(&counter).await?;
    let redis = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::with_capacity(clients);
    for seed in 0..clients {
        let mut con = redis.get_multiplexed_async_connection().await?;
        let db = if naive { Some(pg(conn).await?) } else { None };
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed as u64);
            #[allow(clippy::cast_precision_loss)]
            let dist = Zipf::new(keys as f64, zipf).context("zipf")?;
            let mut latencies = Vec::new();
            while Instant::now() < until {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let id = (dist.sample(&mut rng) as u64).to_string();
                let started = Instant::now();
                let got = cache_get(&mut con, &id).await?;
                if got.is_none()
                    && let Some(db) = &db
                {
                    let key: i64 = id.parse()?;
                    let rows = db.query(load.as_str(), &[&key]).await?;
                    if let Some(row) = rows.first() {
                        let (id, email): (String, String) = (row.get(0), row.get(1));
                        let value = format!(r#"{{"id":"{id}","email":"{email}"}}"#);
                        let () = redis::cmd("CACHE.PSETEX")
                            .arg("UserDb")
                            .arg(ttl)
                            .arg(value)
                            .arg(&id)
                            .query_async(&mut con)
                            .await?;
                    }
                }
                latencies.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let queries = loads(&counter).await? - before;
    all.sort_unstable();
    #[allow(clippy::cast_precision_loss)]
    let secs = seconds as f64;
    #[allow(clippy::cast_precision_loss)]
    let reads = all.len() as f64;
    #[allow(clippy::cast_precision_loss)]
    let qps = queries as f64 / secs;
    println!(
        "mode={mode} clients={clients} reads={} reads_per_s={:.0} origin_queries={queries} origin_qps={qps:.1} p50_us={} p99_us={}",
        all.len(),
        reads / secs,
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    );
    Ok(())
}

async fn miss(args: &[String]) -> Result<()> {
    let [port, conn, n, keys, redis_port] = args else {
        bail!("miss HOARD_PORT PG N KEYS REDIS_PORT");
    };
    let n: usize = n.parse()?;
    let keys: usize = keys.parse()?;
    let db = pg(conn).await?;
    let statement = db.prepare(&load_statement("0")).await?;
    let redis = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let mut con = redis.get_multiplexed_async_connection().await?;
    let plain = redis::Client::open(format!("redis://127.0.0.1:{redis_port}/"))?;
    let mut plain = plain.get_multiplexed_async_connection().await?;
    let (mut through, mut direct, mut hit, mut floor) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..n {
        let id = (i % keys + 1).to_string();
        let _: i64 = redis::cmd("CACHE.DEL")
            .arg("UserDb")
            .arg(&id)
            .query_async(&mut con)
            .await?;
        let started = Instant::now();
        let got = cache_get(&mut con, &id).await?;
        through.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        if got.is_none() {
            bail!("user {id} was not loaded");
        }
        let started = Instant::now();
        if cache_get(&mut con, &id).await?.is_none() {
            bail!("user {id} was not kept");
        }
        hit.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        let key: i64 = id.parse()?;
        let started = Instant::now();
        let rows = db.query(&statement, &[&key]).await?;
        direct.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        if rows.is_empty() {
            bail!("user {id} is not in the table");
        }
        let started = Instant::now();
        let _: Option<String> = redis::cmd("GET").arg(&id).query_async(&mut plain).await?;
        floor.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    through.sort_unstable();
    direct.sort_unstable();
    hit.sort_unstable();
    floor.sort_unstable();
    println!(
        "miss n={n} readthrough_p50_us={} readthrough_p99_us={} direct_p50_us={} direct_p99_us={} hit_p50_us={} redis_get_p50_us={}",
        percentile(&through, 0.5),
        percentile(&through, 0.99),
        percentile(&direct, 0.5),
        percentile(&direct, 0.99),
        percentile(&hit, 0.5),
        percentile(&floor, 0.5)
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("herd") => runtime.block_on(herd(&args[1..])),
        Some("miss") => runtime.block_on(miss(&args[1..])),
        // `cargo bench` with no arguments (CI's `--all-targets` build) does nothing.
        _ => {
            eprintln!("usage: origin_herd herd … | miss … (see bench/origins.sh)");
            Ok(())
        }
    }
}
