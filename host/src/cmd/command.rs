//! `COMMAND [COUNT | INFO name... | DOCS name... | LIST]`: hoard's command table with Redis's
//! arities and key positions, so cluster-aware clients route commands and `MULTI` can refuse
//! a malformed command when it is queued, as Redis does.

use hoard_resp::{Frame, Parse, ParseError};

/// One command: Redis's arity (`n` exactly, `-n` at least), its flags, and where its keys are
/// (first, last — negative counts from the end — and step; all 0 when it takes no key).
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) arity: i64,
    flags: &'static [&'static str],
    first: i64,
    last: i64,
    step: i64,
    group: &'static str,
    summary: &'static str,
}

const R: &[&str] = &["readonly", "fast"];
const W: &[&str] = &["write", "denyoom", "fast"];
const D: &[&str] = &["write", "fast"];
const S: &[&str] = &["loading", "stale", "fast"];
const A: &[&str] = &["admin", "noscript"];
const TX: &[&str] = &["noscript", "loading", "stale", "fast", "allow_busy"];

const fn spec(
    name: &'static str,
    arity: i64,
    flags: &'static [&'static str],
    keys: (i64, i64, i64),
    group: &'static str,
    summary: &'static str,
) -> Spec {
    Spec {
        name,
        arity,
        flags,
        first: keys.0,
        last: keys.1,
        step: keys.2,
        group,
        summary,
    }
}

const ONE: (i64, i64, i64) = (1, 1, 1);
const ALL: (i64, i64, i64) = (1, -1, 1);
const PAIRS: (i64, i64, i64) = (1, -1, 2);
const NONE: (i64, i64, i64) = (0, 0, 0);

/// Every command hoard answers (the `CACHE.*`/`PLUGIN.*` ones take no Redis key).
#[rustfmt::skip]
pub(crate) const COMMANDS: &[Spec] = &[
    spec("get", 2, R, ONE, "string", "Returns the string value of a key."),
    spec("set", -3, W, ONE, "string", "Sets the string value of a key, with options."),
    spec("setnx", 3, W, ONE, "string", "Sets a key only when it does not exist."),
    spec("setex", 4, W, ONE, "string", "Sets a key with an expiry in seconds."),
    spec("psetex", 4, W, ONE, "string", "Sets a key with an expiry in milliseconds."),
    spec("getset", 3, W, ONE, "string", "Sets a key and returns its old value."),
    spec("getdel", 2, D, ONE, "string", "Returns a key's value and deletes it."),
    spec("getex", -2, D, ONE, "string", "Returns a key's value and changes its expiry."),
    spec("mget", -2, R, ALL, "string", "Returns the values of several keys."),
    spec("mset", -3, W, PAIRS, "string", "Sets several keys."),
    spec("msetnx", -3, W, PAIRS, "string", "Sets several keys only when none exists."),
    spec("incr", 2, W, ONE, "string", "Increments a counter by one."),
    spec("decr", 2, W, ONE, "string", "Decrements a counter by one."),
    spec("incrby", 3, W, ONE, "string", "Increments a counter."),
    spec("decrby", 3, W, ONE, "string", "Decrements a counter."),
    spec("incrbyfloat", 3, W, ONE, "string", "Increments a floating point counter."),
    spec("append", 3, W, ONE, "string", "Appends to a string."),
    spec("strlen", 2, R, ONE, "string", "Returns the length of a string."),
    spec("del", -2, D, ALL, "generic", "Deletes keys."),
    spec("unlink", -2, D, ALL, "generic", "Deletes keys."),
    spec("exists", -2, R, ALL, "generic", "Counts the existing keys."),
    spec("touch", -2, R, ALL, "generic", "Counts the existing keys, marking them used."),
    spec("type", 2, R, ONE, "generic", "Returns the type of a key."),
    spec("rename", 3, D, (1, 2, 1), "generic", "Renames a key, replacing the target."),
    spec("expire", -3, D, ONE, "generic", "Sets a key's time to live in seconds."),
    spec("pexpire", -3, D, ONE, "generic", "Sets a key's time to live in milliseconds."),
    spec("expireat", -3, D, ONE, "generic", "Sets a key's expiry as a Unix time in seconds."),
    spec("pexpireat", -3, D, ONE, "generic", "Sets a key's expiry as a Unix time in ms."),
    spec("expiretime", 2, R, ONE, "generic", "Returns a key's expiry as a Unix time in seconds."),
    spec("pexpiretime", 2, R, ONE, "generic", "Returns a key's expiry as a Unix time in ms."),
    spec("persist", 2, D, ONE, "generic", "Removes a key's expiry."),
    spec("ttl", 2, R, ONE, "generic", "Returns a key's time to live in seconds."),
    spec("pttl", 2, R, ONE, "generic", "Returns a key's time to live in milliseconds."),
    spec("scan", -2, &["readonly"], NONE, "generic", "Iterates over the keys."),
    spec("keys", 2, &["readonly"], NONE, "generic", "Returns the keys matching a pattern."),
    spec("randomkey", 1, &["readonly"], NONE, "generic", "Returns a random key."),
    spec("dbsize", 1, R, NONE, "server", "Returns the number of keys."),
    spec("flushall", -1, &["write"], NONE, "server", "Removes every key."),
    spec("flushdb", -1, &["write"], NONE, "server", "Removes every key."),
    spec("hset", -4, W, ONE, "hash", "Sets hash fields."),
    spec("hmset", -4, W, ONE, "hash", "Sets hash fields."),
    spec("hsetnx", 4, W, ONE, "hash", "Sets a hash field only when it does not exist."),
    spec("hget", 3, R, ONE, "hash", "Returns a hash field."),
    spec("hmget", -3, R, ONE, "hash", "Returns several hash fields."),
    spec("hgetall", 2, &["readonly"], ONE, "hash", "Returns every field of a hash."),
    spec("hdel", -3, D, ONE, "hash", "Deletes hash fields."),
    spec("hexists", 3, R, ONE, "hash", "Tells whether a hash field exists."),
    spec("hlen", 2, R, ONE, "hash", "Returns the number of fields of a hash."),
    spec("hincrby", 4, W, ONE, "hash", "Increments a hash field."),
    spec("hkeys", 2, &["readonly"], ONE, "hash", "Returns the fields of a hash."),
    spec("hvals", 2, &["readonly"], ONE, "hash", "Returns the values of a hash."),
    spec("multi", 1, TX, NONE, "transactions", "Starts a transaction."),
    spec("exec", 1, TX, NONE, "transactions", "Runs the queued commands as one unit."),
    spec("discard", 1, TX, NONE, "transactions", "Drops the queued commands."),
    spec("watch", -2, TX, ALL, "transactions", "Aborts the next EXEC if a key changes."),
    spec("unwatch", 1, TX, NONE, "transactions", "Forgets the watched keys."),
    spec("ping", -1, S, NONE, "connection", "Returns PONG."),
    spec("echo", 2, S, NONE, "connection", "Returns its argument."),
    spec("auth", -2, S, NONE, "connection", "Authenticates the connection."),
    spec("hello", -1, S, NONE, "connection", "Negotiates the protocol."),
    spec("quit", -1, S, NONE, "connection", "Closes the connection."),
    spec("reset", 1, S, NONE, "connection", "Resets the connection."),
    spec("select", 2, S, NONE, "connection", "Selects database 0."),
    spec("client", -2, S, NONE, "connection", "Connection management."),
    spec("subscribe", -2, S, NONE, "pubsub", "Subscribes to __redis__:invalidate."),
    spec("unsubscribe", -1, S, NONE, "pubsub", "Unsubscribes."),
    spec("info", -1, S, NONE, "server", "Returns server information."),
    spec("command", -1, S, NONE, "server", "Describes the commands."),
    spec("config", -2, S, NONE, "server", "Reads or sets runtime settings."),
    spec("debug", -2, A, NONE, "server", "Debugging helpers."),
    spec("cache.set", -1, W, NONE, "hoard", "Stores an entry of a definition."),
    spec("cache.psetex", -1, W, NONE, "hoard", "Stores an entry of a definition with a TTL."),
    spec("cache.get", -1, R, NONE, "hoard", "Reads an entry of a definition."),
    spec("cache.lease", -1, R, NONE, "hoard", "Reads an entry, or leases the right to fill it."),
    spec("cache.fill", -1, W, NONE, "hoard", "Stores a leased entry unless it was invalidated since."),
    spec("cache.dlq", -2, W, NONE, "hoard", "Lists, retries or drops write-behind dead letters."),
    spec("cache.del", -1, D, NONE, "hoard", "Deletes an entry of a definition."),
    spec("cache.key", -1, R, NONE, "hoard", "Shows the key a definition builds."),
    spec("cache.ttl", -1, R, NONE, "hoard", "Returns an entry's time to live."),
    spec("cache.validate", -1, R, NONE, "hoard", "Validates a value against a definition."),
    spec("cache.plan", -1, R, NONE, "hoard", "Shows how a definition would store a value."),
    spec("cache.event", -1, D, NONE, "hoard", "Delivers an invalidation event."),
    spec("cache.info", -1, R, NONE, "hoard", "Describes a definition."),
    spec("cache.list", -1, R, NONE, "hoard", "Lists the definitions."),
    spec("cache.format", -1, S, NONE, "hoard", "Chooses JSON or MessagePack values."),
    spec("plugin.load", -1, A, NONE, "hoard", "Loads a plugin."),
    spec("plugin.reload", -1, A, NONE, "hoard", "Reloads a plugin."),
    spec("plugin.unload", -1, A, NONE, "hoard", "Unloads a plugin."),
    spec("plugin.list", -1, A, NONE, "hoard", "Lists the plugins."),
];

/// The spec of a command, by name in any case.
pub(crate) fn lookup(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The keys of a command's arguments (`args[0]` is the name), by first/last/step.
pub(crate) fn keys_of(spec: &Spec, args: &[bytes::Bytes]) -> Vec<bytes::Bytes> {
    if spec.first <= 0 || spec.step <= 0 {
        return Vec::new();
    }
    let len = args.len() as i64;
    let last = if spec.last < 0 {
        len + spec.last
    } else {
        spec.last
    };
    let mut keys = Vec::new();
    let mut i = spec.first;
    while i <= last.min(len - 1) {
        if let Some(k) = args.get(i as usize) {
            keys.push(k.clone());
        }
        i += spec.step;
    }
    keys
}

/// True for commands that only read their keys.
pub(crate) fn is_read(spec: &Spec) -> bool {
    spec.flags.contains(&"readonly")
}

/// True when `argc` arguments (command name included) fit `arity`.
pub(crate) fn arity_ok(spec: &Spec, argc: usize) -> bool {
    let argc = argc as i64;
    if spec.arity >= 0 {
        argc == spec.arity
    } else {
        argc >= -spec.arity
    }
}

fn names(items: &[&str]) -> Frame {
    Frame::Set(
        items
            .iter()
            .map(|f| Frame::Simple((*f).to_owned()))
            .collect(),
    )
}

/// Redis 7's key specs, derived from first/last/step.
fn key_specs(spec: &Spec) -> Frame {
    if spec.first == 0 {
        return Frame::Array(vec![]);
    }
    let access = if spec.flags.contains(&"readonly") {
        "RO"
    } else {
        "RW"
    };
    let last = if spec.last < 0 {
        spec.last
    } else {
        spec.last - spec.first
    };
    Frame::Array(vec![Frame::Map(vec![
        (Frame::bulk("flags"), names(&[access])),
        (
            Frame::bulk("begin_search"),
            Frame::Map(vec![
                (Frame::bulk("type"), Frame::bulk("index")),
                (
                    Frame::bulk("spec"),
                    Frame::Map(vec![(Frame::bulk("index"), Frame::Integer(spec.first))]),
                ),
            ]),
        ),
        (
            Frame::bulk("find_keys"),
            Frame::Map(vec![
                (Frame::bulk("type"), Frame::bulk("range")),
                (
                    Frame::bulk("spec"),
                    Frame::Map(vec![
                        (Frame::bulk("lastkey"), Frame::Integer(last)),
                        (Frame::bulk("keystep"), Frame::Integer(spec.step)),
                        (Frame::bulk("limit"), Frame::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])])
}

/// The `COMMAND INFO` entry of one command.
fn info(spec: &Spec) -> Frame {
    Frame::Array(vec![
        Frame::bulk(spec.name),
        Frame::Integer(spec.arity),
        names(spec.flags),
        Frame::Integer(spec.first),
        Frame::Integer(spec.last),
        Frame::Integer(spec.step),
        names(&[]),
        Frame::Array(vec![]),
        key_specs(spec),
        Frame::Array(vec![]),
    ])
}

/// The `COMMAND DOCS` entry of one command.
fn docs(spec: &Spec) -> Frame {
    Frame::Map(vec![
        (Frame::bulk("summary"), Frame::bulk(spec.summary)),
        (Frame::bulk("since"), Frame::bulk("1.0.0")),
        (Frame::bulk("group"), Frame::bulk(spec.group)),
    ])
}

pub(super) fn run(parse: &mut Parse) -> Result<Frame, ParseError> {
    if parse.remaining() == 0 {
        return Ok(Frame::Array(COMMANDS.iter().map(info).collect()));
    }
    let sub = parse.next_string()?.to_ascii_uppercase();
    let wanted = parse.rest();
    let chosen = || -> Vec<Option<&'static Spec>> {
        if wanted.is_empty() {
            COMMANDS.iter().map(Some).collect()
        } else {
            wanted
                .iter()
                .map(|n| lookup(&String::from_utf8_lossy(n)))
                .collect()
        }
    };
    Ok(match sub.as_str() {
        "COUNT" if wanted.is_empty() => Frame::Integer(COMMANDS.len() as i64),
        "INFO" => Frame::Array(
            chosen()
                .into_iter()
                .map(|s| s.map_or(Frame::NullArray, info))
                .collect(),
        ),
        "DOCS" => Frame::Map(
            chosen()
                .into_iter()
                .flatten()
                .map(|s| (Frame::bulk(s.name), docs(s)))
                .collect(),
        ),
        "LIST" => Frame::Array(COMMANDS.iter().map(|s| Frame::bulk(s.name)).collect()),
        "COUNT" => return Err(ParseError::WrongArity("command|count".into())),
        other => Frame::error(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            other.to_ascii_lowercase()
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn args(words: &str) -> Vec<Bytes> {
        words
            .split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn keys(words: &str) -> Vec<String> {
        let args = args(words);
        let name = String::from_utf8_lossy(&args[0]).into_owned();
        let spec = lookup(&name).expect("known command");
        keys_of(spec, &args)
            .iter()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        assert_eq!(keys("GET a"), ["a"]);
        assert_eq!(keys("mget a b c"), ["a", "b", "c"]);
        assert_eq!(keys("MSET a 1 b 2"), ["a", "b"]);
        assert_eq!(keys("RENAME a b"), ["a", "b"]);
        assert_eq!(keys("HSET h f v"), ["h"]);
        assert!(keys("PING").is_empty());
        assert!(keys("SCAN 0").is_empty());
    }

    #[test]
    fn arity_is_exact_or_minimum() {
        let get = lookup("get").expect("get");
        assert!(arity_ok(get, 2) && !arity_ok(get, 1) && !arity_ok(get, 3));
        let mset = lookup("MSET").expect("mset");
        assert!(!arity_ok(mset, 2) && arity_ok(mset, 3) && arity_ok(mset, 5));
        assert!(lookup("nosuch").is_none());
        assert!(is_read(get) && !is_read(mset));
    }

    #[test]
    fn every_command_is_listed_once() {
        let mut names: Vec<_> = COMMANDS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }
}
