//! Differential test: the same seeded random command sequence (strings, counters, keys,
//! hashes, expiries, transactions, type errors) against a real `redis-server` and against
//! hoard; every reply must be identical on the wire.
//!
//! TTLs are generous (hundreds of seconds), so no key expires during the run; a positive
//! `TTL` reply is compared as "has a TTL", since the two servers set it a few ms apart.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hoard_tests::Server;
use hoard_tests::raw::{RawClient, Reply};

/// A `redis-server` on a free loopback port, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Result<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server")?;
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = RawClient::connect(port)
                && c.cmd_str(&["PING"])? == Reply::Simple("PONG".into())
            {
                return Ok(redis);
            }
            if Instant::now() > deadline {
                bail!("redis-server did not start");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// xorshift64*: a seeded, dependency-free generator, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &["s0", "s1", "s2", "n0", "n1", "h0", "h1", "x"];
const FIELDS: &[&str] = &["f0", "f1", "f2", "f3"];
const VALUES: &[&str] = &[
    "1",
    "7",
    "-3",
    "abc",
    "",
    "10.5",
    "9223372036854775807",
    "zz",
];

fn command(rng: &mut Rng) -> Vec<String> {
    let k = |rng: &mut Rng| rng.pick(KEYS).to_owned();
    let v = |rng: &mut Rng| rng.pick(VALUES).to_owned();
    let f = |rng: &mut Rng| rng.pick(FIELDS).to_owned();
    let n = |rng: &mut Rng| (rng.below(21) as i64 - 10).to_string();
    let words: Vec<String> = match rng.below(40) {
        0 => vec!["SET".into(), k(rng), v(rng)],
        1 => {
            let mut c = vec!["SET".into(), k(rng), v(rng)];
            let opt = rng.pick(&["NX", "XX", "GET", "KEEPTTL", "EX", "PX", "NX GET", "XX EX"]);
            for o in opt.split(' ') {
                c.push(o.into());
                if o == "EX" || o == "PX" {
                    c.push((300_000 + rng.below(1000)).to_string());
                }
            }
            c
        }
        2 => vec!["GET".into(), k(rng)],
        3 => vec!["MGET".into(), k(rng), k(rng), k(rng)],
        4 => vec!["MSET".into(), k(rng), v(rng), k(rng), v(rng)],
        5 => vec!["MSETNX".into(), k(rng), v(rng), k(rng), v(rng)],
        6 => vec!["SETNX".into(), k(rng), v(rng)],
        7 => vec!["GETSET".into(), k(rng), v(rng)],
        8 => vec!["GETDEL".into(), k(rng)],
        9 => vec!["INCR".into(), k(rng)],
        10 => vec!["INCRBY".into(), k(rng), n(rng)],
        11 => vec!["DECRBY".into(), k(rng), n(rng)],
        12 => vec!["DECR".into(), k(rng)],
        // Redis adds in 80-bit long doubles and prints `%.17Lf`: these increments give the
        // results where f64 would differ (0.1 + 0.2), long-double noise (1000.1), exponents,
        // hex, and huge values. Any key: the stored text of other commands is parsed too.
        13 => vec![
            "INCRBYFLOAT".into(),
            rng.pick(&["fl", "fl", "fl", "n0", "s0"]).into(),
            rng.pick(&[
                "0.1", "0.2", "-0.3", "0.5", "-1.25", "3", "x", "1000.1", "3.0e3", "-5.0e3",
                "1e20", "-1e20", "1e300", "1.5e-7", "0x10", "inf", "nan", " 1",
            ])
            .into(),
        ],
        14 => vec!["APPEND".into(), k(rng), v(rng)],
        15 => vec!["STRLEN".into(), k(rng)],
        16 => vec!["DEL".into(), k(rng), k(rng)],
        17 => vec!["EXISTS".into(), k(rng), k(rng)],
        18 => vec!["TYPE".into(), k(rng)],
        19 => vec!["RENAME".into(), k(rng), k(rng)],
        20 => vec!["HSET".into(), k(rng), f(rng), v(rng), f(rng), v(rng)],
        21 => vec!["HGET".into(), k(rng), f(rng)],
        22 => vec!["HMGET".into(), k(rng), f(rng), f(rng)],
        23 => vec!["HGETALL".into(), k(rng)],
        24 => vec!["HDEL".into(), k(rng), f(rng), f(rng)],
        25 => vec!["HEXISTS".into(), k(rng), f(rng)],
        26 => vec!["HLEN".into(), k(rng)],
        27 => vec!["HINCRBY".into(), k(rng), f(rng), n(rng)],
        28 => vec!["HKEYS".into(), k(rng)],
        29 => vec!["HVALS".into(), k(rng)],
        30 => {
            let mut c = vec!["EXPIRE".into(), k(rng), (300 + rng.below(100)).to_string()];
            let flag = rng.pick(&["", "NX", "XX", "GT", "LT"]);
            if !flag.is_empty() {
                c.push(flag.into());
            }
            c
        }
        31 => vec!["TTL".into(), k(rng)],
        32 => vec!["PERSIST".into(), k(rng)],
        33 => vec!["GETEX".into(), k(rng), rng.pick(&["PERSIST", "EX"]).into()],
        34 => vec!["TOUCH".into(), k(rng), k(rng)],
        35 => vec![rng.pick(&["GET", "INCR", "HGET", "HSET", "MSET"]).into()],
        36 => vec!["EXPIRE".into(), k(rng), "0".into()],
        37 => vec!["HSETNX".into(), k(rng), f(rng), v(rng)],
        38 => vec!["DBSIZE".into()],
        _ => vec!["PTTL".into(), k(rng)],
    };
    // `GETEX k EX` needs its amount.
    if words.len() == 3 && words[0] == "GETEX" && words[2] == "EX" {
        let mut w = words;
        w.push("500".into());
        return w;
    }
    words
}

/// A positive TTL becomes 1: both servers have one, set a few ms apart. `queued` are the
/// commands an `EXEC` ran, whose replies are normalised one by one.
fn normalize(command: &[String], queued: &[Vec<String>], reply: Reply) -> Reply {
    match (command.first().map(String::as_str), reply) {
        (Some("TTL" | "PTTL"), Reply::Int(n)) if n > 0 => Reply::Int(1),
        (Some("EXEC"), Reply::Array(Some(items))) => Reply::Array(Some(
            items
                .into_iter()
                .zip(queued)
                .map(|(r, q)| normalize(q, &[], r))
                .collect(),
        )),
        (_, other) => other,
    }
}

fn send(c: &mut RawClient, words: &[String]) -> Result<Reply> {
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    c.cmd_str(&refs)
}

fn run_seed(seed: u64, steps: usize, redis: &mut RawClient, hoard: &mut RawClient) -> Result<()> {
    let mut rng = Rng(seed | 1);
    send(redis, &["FLUSHALL".into()])?;
    send(hoard, &["FLUSHALL".into()])?;
    let mut history: Vec<String> = Vec::new();
    let mut step = 0;
    while step < steps {
        // One in ten steps is a transaction of a few commands (maybe with a bad one).
        let batch: Vec<Vec<String>> = if rng.below(10) == 0 {
            let mut b = vec![vec!["MULTI".to_owned()]];
            for _ in 0..=rng.below(4) {
                b.push(command(&mut rng));
            }
            b.push(vec![
                rng.pick(&["EXEC", "EXEC", "EXEC", "DISCARD"]).to_owned(),
            ]);
            b
        } else {
            vec![command(&mut rng)]
        };
        let queued: Vec<Vec<String>> = batch
            .iter()
            .filter(|w| !matches!(w[0].as_str(), "MULTI" | "EXEC" | "DISCARD"))
            .cloned()
            .collect();
        for words in batch {
            step += 1;
            history.push(words.join(" "));
            let want = normalize(&words, &queued, send(redis, &words)?);
            let got = normalize(&words, &queued, send(hoard, &words)?);
            if want != got {
                let tail = history
                    .iter()
                    .rev()
                    .take(15)
                    .rev()
                    .cloned()
                    .collect::<Vec<_>>();
                bail!(
                    "seed {seed} step {step}: `{}`\n redis: {want:?}\n hoard: {got:?}\nlast commands:\n  {}",
                    words.join(" "),
                    tail.join("\n  ")
                );
            }
        }
    }
    Ok(())
}

#[test]
fn random_sequences_match_redis() -> Result<()> {
    let redis_server = Redis::start()?;
    let hoard_server = Server::start()?;
    let mut redis = RawClient::connect(redis_server.port)?;
    let mut hoard = RawClient::connect(hoard_server.port)?;
    for seed in 1..=20u64 {
        run_seed(seed * 0x9E37_79B9, 500, &mut redis, &mut hoard)?;
    }
    Ok(())
}

#[test]
fn random_sequences_match_redis_over_resp3() -> Result<()> {
    let redis_server = Redis::start()?;
    let hoard_server = Server::start()?;
    let mut redis = RawClient::connect(redis_server.port)?;
    let mut hoard = RawClient::connect(hoard_server.port)?;
    redis.cmd_str(&["HELLO", "3"])?;
    hoard.cmd_str(&["HELLO", "3"])?;
    for seed in 100..=105u64 {
        run_seed(seed, 500, &mut redis, &mut hoard)?;
    }
    Ok(())
}
