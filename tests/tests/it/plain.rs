//! Plain Redis commands against the real binary, with a real Redis client.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;
use hoard_tests::{Server, ServerOptions, eventually};
use redis::{Commands, Value};

#[test]
fn ping_echo_set_get_del_exists() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let pong: String = redis::cmd("PING").query(&mut con)?;
    assert_eq!(pong, "PONG");
    let echoed: String = redis::cmd("ECHO").arg("hi there").query(&mut con)?;
    assert_eq!(echoed, "hi there");

    let _: () = con.set("greeting", b"hello\r\nworld\0".as_slice())?;
    let got: Vec<u8> = con.get("greeting")?;
    assert_eq!(got, b"hello\r\nworld\0");
    let missing: Option<String> = con.get("nope")?;
    assert_eq!(missing, None);

    let exists: i64 = redis::cmd("EXISTS")
        .arg("greeting")
        .arg("nope")
        .arg("greeting")
        .query(&mut con)?;
    assert_eq!(exists, 2);
    let removed: i64 = con.del(&["greeting", "nope"])?;
    assert_eq!(removed, 1);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con)?;
    assert_eq!(size, 0);
    Ok(())
}

#[test]
fn set_conditions_and_get_option() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let first: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("1")
        .arg("NX")
        .query(&mut con)?;
    assert_eq!(first.as_deref(), Some("OK"));
    let second: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("2")
        .arg("NX")
        .query(&mut con)?;
    assert_eq!(second, None, "NX must not overwrite");
    let xx_missing: Option<String> = redis::cmd("SET")
        .arg("absent")
        .arg("v")
        .arg("XX")
        .query(&mut con)?;
    assert_eq!(xx_missing, None, "XX must not create");
    let old: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("3")
        .arg("GET")
        .query(&mut con)?;
    assert_eq!(old.as_deref(), Some("1"));
    let now: String = con.get("k")?;
    assert_eq!(now, "3");
    let bad: redis::RedisResult<()> = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("EX")
        .arg("0")
        .query(&mut con);
    assert!(bad.is_err());
    let bad: redis::RedisResult<()> = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("BOGUS")
        .query(&mut con);
    assert!(bad.unwrap_err().to_string().contains("syntax error"));
    Ok(())
}

#[test]
fn ttl_expire_and_persist() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let _: () = redis::cmd("SET")
        .arg("t")
        .arg("v")
        .arg("EX")
        .arg("100")
        .query(&mut con)?;
    let ttl: i64 = con.ttl("t")?;
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    let pttl: i64 = con.pttl("t")?;
    assert!(pttl > 98_000 && pttl <= 100_000, "pttl {pttl}");
    let persisted: i64 = redis::cmd("PERSIST").arg("t").query(&mut con)?;
    assert_eq!(persisted, 1);
    let ttl: i64 = con.ttl("t")?;
    assert_eq!(ttl, -1);
    let ttl: i64 = con.ttl("missing")?;
    assert_eq!(ttl, -2);
    let set: i64 = redis::cmd("EXPIRE").arg("t").arg("50").query(&mut con)?;
    assert_eq!(set, 1);
    let set: i64 = redis::cmd("PEXPIRE")
        .arg("missing")
        .arg("50")
        .query(&mut con)?;
    assert_eq!(set, 0);

    // Real expiry through the server: an entry with 100 ms must vanish.
    let _: () = redis::cmd("SET")
        .arg("short")
        .arg("v")
        .arg("PX")
        .arg("100")
        .query(&mut con)?;
    let present: Option<String> = con.get("short")?;
    assert_eq!(present.as_deref(), Some("v"));
    let gone = eventually(Duration::from_secs(5), || {
        let v: Option<String> = con.get("short")?;
        Ok(v.is_none())
    })?;
    assert!(gone, "entry with PX 100 never expired");
    Ok(())
}

#[test]
fn flushall_info_client_config_and_quit() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    for i in 0..10 {
        let _: () = con.set(format!("k{i}"), i)?;
    }
    let info: String = redis::cmd("INFO").query(&mut con)?;
    assert!(info.contains("redis_version:"), "{info}");
    assert!(info.contains("used_memory_rss:"), "{info}");
    assert!(info.contains("db0:keys=10"), "{info}");
    assert!(info.contains("UserCache:id=user-cache@1.0.0"), "{info}");
    let _: () = redis::cmd("FLUSHALL").query(&mut con)?;
    let size: i64 = redis::cmd("DBSIZE").query(&mut con)?;
    assert_eq!(size, 0);

    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("tester")
        .query(&mut con)?;
    let name: String = redis::cmd("CLIENT").arg("GETNAME").query(&mut con)?;
    assert_eq!(name, "tester");
    let config: HashMap<String, String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query(&mut con)?;
    assert_eq!(config.get("save").map(String::as_str), Some(""));

    let unknown: redis::RedisResult<()> = redis::cmd("NOSUCHCMD").arg("x").query(&mut con);
    assert!(unknown.unwrap_err().to_string().contains("unknown command"));
    // The connection survives a command error.
    let pong: String = redis::cmd("PING").query(&mut con)?;
    assert_eq!(pong, "PONG");

    let ok: String = redis::cmd("QUIT").query(&mut con)?;
    assert_eq!(ok, "OK");
    Ok(())
}

#[test]
fn hello_3_switches_to_resp3() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let hello: Value = redis::cmd("HELLO").arg(3).query(&mut con)?;
    match hello {
        Value::Map(pairs) => {
            let proto = pairs.iter().find_map(|(k, v)| match (k, v) {
                (Value::BulkString(k), Value::Int(p)) if k == b"proto" => Some(*p),
                _ => None,
            });
            assert_eq!(proto, Some(3));
        }
        other => panic!("HELLO 3 must answer a RESP3 map, got {other:?}"),
    }
    let missing: Value = redis::cmd("GET").arg("nope").query(&mut con)?;
    assert_eq!(missing, Value::Nil);
    let bad: redis::RedisResult<Value> = redis::cmd("HELLO").arg(4).query(&mut con);
    assert_eq!(bad.unwrap_err().code(), Some("NOPROTO"));
    Ok(())
}

#[test]
fn plain_keyspace_evicts_at_max_items() -> Result<()> {
    let server = Server::start_with(ServerOptions {
        config: Some("[plain]\nmax_items = 100\neviction = \"lru\"\n".into()),
        ..Default::default()
    })?;
    let mut con = server.client()?;
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.set(format!("key:{i}"), i).ignore();
    }
    let _: () = pipe.query(&mut con)?;
    let size: i64 = redis::cmd("DBSIZE").query(&mut con)?;
    assert!(size <= 100 && size > 50, "dbsize {size}");
    let last: Option<i64> = con.get("key:999")?;
    assert_eq!(last, Some(999), "the newest entry must survive");
    let info: String = redis::cmd("INFO").arg("stats").query(&mut con)?;
    assert!(info.contains("evicted_keys:"), "{info}");
    assert!(!info.contains("evicted_keys:0\r"), "{info}");
    Ok(())
}

/// `async_workers` sets the threads serving connections (INFO shows how many run), one per core
/// by default; a count no machine needs is refused before anything starts.
#[test]
fn async_workers_sets_the_connection_threads() -> Result<()> {
    let workers_of = |server: &Server| -> Result<usize> {
        let mut con = server.client()?;
        let info: String = redis::cmd("INFO").arg("server").query(&mut con)?;
        let line = info
            .lines()
            .find_map(|l| l.strip_prefix("hoard_async_workers:"))
            .ok_or_else(|| anyhow::anyhow!("no hoard_async_workers in {info}"))?;
        Ok(line.trim().parse()?)
    };
    let one = Server::start_with(ServerOptions::new().with_config("async_workers = 1\n"))?;
    assert_eq!(workers_of(&one)?, 1);
    let mut con = one.client()?;
    let _: () = con.set("k", "v")?;
    let v: String = con.get("k")?;
    assert_eq!(v, "v");
    let cores = std::thread::available_parallelism()?.get();
    assert_eq!(workers_of(&Server::start()?)?, cores);

    let output = hoard_tests::hoard_command()?
        .args(["serve", "--port", "0", "--async-workers", "100000"])
        .stdin(std::process::Stdio::null())
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("async_workers = 100000 is more than 1024"),
        "{stderr}"
    );
    Ok(())
}
