//! The Redis command surface of the plain keyspace (strings, keys, hashes, introspection),
//! against the real binary, compared reply by reply with what Redis 7 answers.

use anyhow::Result;
use hoard_tests::Server;
use hoard_tests::raw::{RawClient, Reply};

fn int(n: i64) -> Reply {
    Reply::Int(n)
}

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn nil() -> Reply {
    Reply::Bulk(None)
}

fn err(text: &str) -> Reply {
    Reply::Error(text.into())
}

fn arr(items: Vec<Reply>) -> Reply {
    Reply::Array(Some(items))
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INT: &str = "ERR value is not an integer or out of range";

/// Runs each `(command, expected reply)` in order on one connection.
fn expect(c: &mut RawClient, cases: &[(&str, Reply)]) -> Result<()> {
    for (command, want) in cases {
        let words: Vec<&str> = command.split(' ').collect();
        let got = c.cmd_str(&words)?;
        assert_eq!(&got, want, "{command}");
    }
    Ok(())
}

#[test]
fn strings_counters_and_their_errors() -> Result<()> {
    let server = Server::start()?;
    let mut c = RawClient::connect(server.port)?;
    expect(
        &mut c,
        &[
            ("MSET a 1 b 2 c x", ok()),
            (
                "MGET a b nope c",
                arr(vec![bulk("1"), bulk("2"), nil(), bulk("x")]),
            ),
            (
                "MSET a",
                err("ERR wrong number of arguments for 'mset' command"),
            ),
            ("MSETNX a 9 d 4", int(0)),
            ("EXISTS d", int(0)),
            ("MSETNX d 4 e 5", int(1)),
            ("SETNX d 5", int(0)),
            ("SETNX f 6", int(1)),
            ("INCR a", int(2)),
            ("INCRBY a 10", int(12)),
            ("DECR a", int(11)),
            ("DECRBY a -4", int(15)),
            ("INCR c", err(NOT_INT)),
            ("INCRBY a x", err(NOT_INT)),
            ("INCRBY a 01", err(NOT_INT)),
            (
                "INCR",
                err("ERR wrong number of arguments for 'incr' command"),
            ),
            ("SET big 9223372036854775807", ok()),
            ("INCR big", err("ERR increment or decrement would overflow")),
            (
                "DECRBY a -9223372036854775808",
                err("ERR decrement would overflow"),
            ),
            ("INCRBYFLOAT fl 10.5", bulk("10.5")),
            ("INCRBYFLOAT fl 0.25", bulk("10.75")),
            ("INCRBYFLOAT fl -0.75", bulk("10")),
            ("INCRBYFLOAT c 1", err("ERR value is not a valid float")),
            ("INCRBYFLOAT fl x", err("ERR value is not a valid float")),
            ("APPEND s hello", int(5)),
            ("APPEND s _world", int(11)),
            ("STRLEN s", int(11)),
            ("STRLEN nope", int(0)),
            ("GETSET s new", bulk("hello_world")),
            ("GETDEL s", bulk("new")),
            ("GETDEL s", nil()),
            ("SET k v", ok()),
            ("SET k v NX", nil()),
            ("SET k w XX GET", bulk("v")),
            ("SET k v NX XX", err("ERR syntax error")),
            (
                "SET k v EX 10000000000000000",
                err("ERR invalid expire time in 'set' command"),
            ),
            (
                "SET k v EX 0",
                err("ERR invalid expire time in 'set' command"),
            ),
            (
                "SET k v PX -5",
                err("ERR invalid expire time in 'set' command"),
            ),
            ("SET k v EX x", err(NOT_INT)),
            (
                "SETEX k 0 v",
                err("ERR invalid expire time in 'setex' command"),
            ),
            (
                "PSETEX k -1 v",
                err("ERR invalid expire time in 'psetex' command"),
            ),
            (
                "GETEX k EX 0",
                err("ERR invalid expire time in 'getex' command"),
            ),
        ],
    )?;
    Ok(())
}

#[test]
fn expiry_options_and_absolute_times() -> Result<()> {
    let server = Server::start()?;
    let mut c = RawClient::connect(server.port)?;
    expect(
        &mut c,
        &[
            ("SET k v EX 100", ok()),
            ("TTL k", int(100)),
            ("SET k v2 KEEPTTL", ok()),
            ("TTL k", int(100)),
            ("SET k v3", ok()),
            ("TTL k", int(-1)),
            ("EXPIRE k 50 XX", int(0)),
            ("EXPIRE k 50 NX", int(1)),
            ("EXPIRE k 60 NX", int(0)),
            ("EXPIRE k 40 GT", int(0)),
            ("EXPIRE k 70 GT", int(1)),
            ("TTL k", int(70)),
            ("EXPIRE k 80 LT", int(0)),
            ("EXPIRE k 30 LT", int(1)),
            ("TTL k", int(30)),
            ("PERSIST k", int(1)),
            ("EXPIRE k 30 GT", int(0)),
            ("EXPIRE k 30 LT", int(1)),
            (
                "EXPIRE k 1 NX XX",
                err("ERR NX and XX, GT or LT options at the same time are not compatible"),
            ),
            (
                "EXPIRE k 1 GT LT",
                err("ERR GT and LT options at the same time are not compatible"),
            ),
            ("EXPIRE k 1 FOO", err("ERR Unsupported option FOO")),
            (
                "EXPIRE k 9223372036854775807",
                err("ERR invalid expire time in 'expire' command"),
            ),
            (
                "PEXPIRE k 9223372036854775807",
                err("ERR invalid expire time in 'pexpire' command"),
            ),
            ("EXPIRE nope 10", int(0)),
            ("EXPIRETIME nope", int(-2)),
            ("SET p v", ok()),
            ("EXPIRETIME p", int(-1)),
            ("EXPIREAT p 4102444800", int(1)),
            ("EXPIRETIME p", int(4_102_444_800)),
            ("PEXPIREAT p 4102444800123", int(1)),
            ("SET q v PXAT 4102444800000", ok()),
            ("EXPIRETIME q", int(4_102_444_800)),
            // Rounded to the nearest second, as redis-server does.
            ("SET q v PXAT 4102444800700", ok()),
            ("EXPIRETIME q", int(4_102_444_801)),
            ("SET q v PXAT 4102444800300", ok()),
            ("EXPIRETIME q", int(4_102_444_800)),
            ("SET q v EXAT 1", ok()),
            ("EXISTS q", int(0)),
            ("SET q v", ok()),
            ("EXPIRE q -1", int(1)),
            ("EXISTS q", int(0)),
            ("SET q v", ok()),
            ("GETEX q PX 100000", bulk("v")),
            ("TTL q", int(100)),
            ("GETEX q PERSIST", bulk("v")),
            ("TTL q", int(-1)),
            ("GETEX q EXAT 1", bulk("v")),
            ("GET q", nil()),
        ],
    )?;
    // Deadlines live on the monotonic clock: the Unix time comes back within a millisecond.
    let Reply::Int(at) = c.cmd_str(&["PEXPIRETIME", "p"])? else {
        panic!("PEXPIRETIME");
    };
    assert!((at - 4_102_444_800_123).abs() <= 1, "{at}");
    Ok(())
}

#[test]
fn keys_scan_type_rename_touch_randomkey() -> Result<()> {
    let server = Server::start()?;
    let mut c = RawClient::connect(server.port)?;
    expect(
        &mut c,
        &[
            ("RANDOMKEY", nil()),
            ("SET user:1 a", ok()),
            ("SET user:2 b", ok()),
            ("HSET user:h f v", int(1)),
            ("SET other c", ok()),
            ("TYPE user:1", Reply::Simple("string".into())),
            ("TYPE user:h", Reply::Simple("hash".into())),
            ("TYPE nope", Reply::Simple("none".into())),
            ("TOUCH user:1 nope user:2", int(2)),
            ("RENAME nope x", err("ERR no such key")),
            ("EXPIRE other 100", int(1)),
            ("RENAME other moved", ok()),
            ("EXISTS other", int(0)),
            ("TTL moved", int(100)),
            ("RENAME user:h user:hh", ok()),
            ("HGET user:hh f", bulk("v")),
            ("SCAN x", err("ERR invalid cursor")),
            ("SCAN 0 COUNT 0", err("ERR syntax error")),
            ("SCAN 0 FOO bar", err("ERR syntax error")),
        ],
    )?;
    let mut keys = match c.cmd_str(&["KEYS", "user:*"])? {
        Reply::Array(Some(items)) => items,
        other => panic!("KEYS: {other:?}"),
    };
    keys.sort_by_key(|k| match k {
        Reply::Bulk(Some(b)) => b.clone(),
        _ => Vec::new(),
    });
    assert_eq!(keys, [bulk("user:1"), bulk("user:2"), bulk("user:hh")]);
    match c.cmd_str(&["RANDOMKEY"])? {
        Reply::Bulk(Some(k)) => {
            assert!([&b"user:1"[..], b"user:2", b"user:hh", b"moved"].contains(&k.as_slice()))
        }
        other => panic!("RANDOMKEY: {other:?}"),
    }

    // A SCAN over 3000 keys in pages of COUNT 7, with MATCH and TYPE filters.
    for i in 0..3000 {
        c.send(&[b"SET", format!("k:{i}").as_bytes(), b"v"])?;
    }
    for _ in 0..3000 {
        assert_eq!(c.read()?, ok());
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_owned();
    let mut calls = 0;
    loop {
        calls += 1;
        let reply = c.cmd_str(&[
            "SCAN", &cursor, "MATCH", "k:*", "COUNT", "7", "TYPE", "string",
        ])?;
        let Reply::Array(Some(parts)) = reply else {
            panic!("SCAN reply {reply:?}");
        };
        let [Reply::Bulk(Some(next)), Reply::Array(Some(keys))] = parts.as_slice() else {
            panic!("SCAN parts {parts:?}");
        };
        assert!(keys.len() <= 7, "COUNT bounds the work per call");
        for k in keys {
            let Reply::Bulk(Some(k)) = k else {
                panic!("key {k:?}")
            };
            seen.insert(String::from_utf8_lossy(k).into_owned());
        }
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 3000);
    assert!(seen.iter().all(|k| k.starts_with("k:")));
    assert!(calls > 3000 / 7, "bounded pages, not one big reply");
    let hashes = c.cmd_str(&["SCAN", "0", "TYPE", "hash", "COUNT", "100000"])?;
    assert_eq!(hashes, arr(vec![bulk("0"), arr(vec![bulk("user:hh")])]));
    Ok(())
}

#[test]
fn hashes_and_wrongtype() -> Result<()> {
    let server = Server::start()?;
    let mut c = RawClient::connect(server.port)?;
    expect(
        &mut c,
        &[
            ("HSET h a 1 b 2", int(2)),
            ("HSET h b 3 c 4", int(1)),
            (
                "HSET h a",
                err("ERR wrong number of arguments for 'hset' command"),
            ),
            ("HGET h b", bulk("3")),
            ("HGET h z", nil()),
            ("HGET nope z", nil()),
            ("HMGET h a z c", arr(vec![bulk("1"), nil(), bulk("4")])),
            (
                "HGETALL h",
                arr(vec![
                    bulk("a"),
                    bulk("1"),
                    bulk("b"),
                    bulk("3"),
                    bulk("c"),
                    bulk("4"),
                ]),
            ),
            ("HKEYS h", arr(vec![bulk("a"), bulk("b"), bulk("c")])),
            ("HVALS h", arr(vec![bulk("1"), bulk("3"), bulk("4")])),
            ("HLEN h", int(3)),
            ("HEXISTS h a", int(1)),
            ("HEXISTS h z", int(0)),
            ("HINCRBY h a 5", int(6)),
            ("HINCRBY h new -2", int(-2)),
            ("HINCRBY h a x", err(NOT_INT)),
            ("HSET h s text", int(1)),
            ("HINCRBY h s 1", err("ERR hash value is not an integer")),
            ("HSET h m 9223372036854775807", int(1)),
            (
                "HINCRBY h m 1",
                err("ERR increment or decrement would overflow"),
            ),
            ("HDEL h a z", int(1)),
            ("HDEL h b c new s m", int(5)),
            ("EXISTS h", int(0)),
            ("HGETALL h", arr(vec![])),
            ("HMSET h2 f v", ok()),
            ("EXPIRE h2 100", int(1)),
            ("HSET h2 g w", int(1)),
            ("TTL h2", int(100)),
            ("SET s v", ok()),
            ("HSET s f v", err(WRONGTYPE)),
            ("HGET s f", err(WRONGTYPE)),
            ("HGETALL s", err(WRONGTYPE)),
            ("GET h2", err(WRONGTYPE)),
            ("INCR h2", err(WRONGTYPE)),
            ("APPEND h2 x", err(WRONGTYPE)),
            ("STRLEN h2", err(WRONGTYPE)),
            ("SET h2 x GET", err(WRONGTYPE)),
            ("GETDEL h2", err(WRONGTYPE)),
            ("MGET h2 s", arr(vec![nil(), bulk("v")])),
            ("SET h2 plain", ok()),
            ("GET h2", bulk("plain")),
        ],
    )?;
    // RESP3: HGETALL is a map.
    c.cmd_str(&["HELLO", "3"])?;
    c.cmd_str(&["HSET", "m", "f", "v"])?;
    assert_eq!(
        c.cmd_str(&["HGETALL", "m"])?,
        Reply::Map(vec![(bulk("f"), bulk("v"))])
    );
    Ok(())
}

#[test]
fn hashes_count_against_the_value_limit() -> Result<()> {
    let server = Server::start()?;
    let mut c = RawClient::connect(server.port)?;
    let limit = match c.cmd_str(&["CONFIG", "GET", "proto-max-bulk-len"])? {
        Reply::Array(Some(items)) => match items.get(1) {
            Some(Reply::Bulk(Some(v))) => String::from_utf8_lossy(v).parse::<usize>()?,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let half = vec![b'x'; limit / 2 + 1];
    assert_eq!(c.cmd(&[b"HSET", b"h", b"a", &half])?, int(1));
    let refused = c.cmd(&[b"HSET", b"h", b"b", &half])?;
    assert!(
        refused.error().is_some_and(|e| e.starts_with("QUOTA")),
        "{refused:?}"
    );
    assert_eq!(c.cmd_str(&["HLEN", "h"])?, int(1), "nothing lost");
    Ok(())
}
