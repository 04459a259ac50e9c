//! A typed client for hoard's own commands (`CACHE.*`, `PLUGIN.*`, `AUTH`),
//! so a test reads as the behaviour it checks instead of a `redis::cmd`
//! chain, and a reply whose shape changes fails in one place with a clear
//! message instead of in eighty.
//!
//! Every method returns [`redis::RedisResult`]: a test that expects a
//! refusal keeps the server's error (`error_code(&err)`, its text), and one
//! that expects success uses `?`. Plain Redis commands and pipelines still
//! work on a `Client` (`redis::cmd("GET").query(&mut client)`): it derefs to
//! its `redis::Connection`, which redis then treats as a connection too.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::Path;

use redis::{ErrorKind, FromRedisValue, RedisError, RedisResult, ToRedisArgs, Value};

/// One connection to a running `hoard`.
pub struct Client {
    con: redis::Connection,
}

impl Deref for Client {
    type Target = redis::Connection;
    fn deref(&self) -> &redis::Connection {
        &self.con
    }
}

impl DerefMut for Client {
    fn deref_mut(&mut self) -> &mut redis::Connection {
        &mut self.con
    }
}

impl From<redis::Connection> for Client {
    fn from(con: redis::Connection) -> Self {
        Client { con }
    }
}

/// A reply of the wrong shape, as a client-side error the test reports.
fn shape(what: &str, detail: String) -> RedisError {
    RedisError::from((
        ErrorKind::TypeError,
        "unexpected reply",
        format!("{what}: {detail}"),
    ))
}

/// `OK` or an error saying what came instead.
fn expect_ok(what: &str, reply: String) -> RedisResult<()> {
    if reply == "OK" {
        Ok(())
    } else {
        Err(shape(what, format!("answered {reply:?}, expected OK")))
    }
}

impl Client {
    /// The underlying connection, for plain Redis commands.
    pub fn con(&mut self) -> &mut redis::Connection {
        &mut self.con
    }

    /// `AUTH <user> <password>`.
    pub fn auth(&mut self, user: &str, password: &str) -> RedisResult<()> {
        let reply: String = redis::cmd("AUTH")
            .arg(user)
            .arg(password)
            .query(&mut self.con)?;
        expect_ok("AUTH", reply)
    }

    /// `CACHE.KEY <cache> <parts..>`: the key the definition derives.
    pub fn cache_key(&mut self, cache: &str, parts: &[&str]) -> RedisResult<String> {
        redis::cmd("CACHE.KEY")
            .arg(cache)
            .arg(parts)
            .query(&mut self.con)
    }

    /// `CACHE.GET <cache> <parts..>` as text (JSON format); `None` on a miss.
    pub fn cache_get(&mut self, cache: &str, parts: &[&str]) -> RedisResult<Option<String>> {
        redis::cmd("CACHE.GET")
            .arg(cache)
            .arg(parts)
            .query(&mut self.con)
    }

    /// `CACHE.GET` as bytes, for `CACHE.FORMAT MSGPACK` sessions.
    pub fn cache_get_bytes(&mut self, cache: &str, parts: &[&str]) -> RedisResult<Option<Vec<u8>>> {
        redis::cmd("CACHE.GET")
            .arg(cache)
            .arg(parts)
            .query(&mut self.con)
    }

    /// Whether `CACHE.GET` hits.
    pub fn cache_has(&mut self, cache: &str, parts: &[&str]) -> RedisResult<bool> {
        Ok(self.cache_get_bytes(cache, parts)?.is_some())
    }

    /// `CACHE.SET <cache> <value> <parts..>`; the value is JSON text or, in a
    /// MessagePack session, MessagePack bytes.
    pub fn cache_set<V: ToRedisArgs>(
        &mut self,
        cache: &str,
        value: V,
        parts: &[&str],
    ) -> RedisResult<()> {
        let reply: String = redis::cmd("CACHE.SET")
            .arg(cache)
            .arg(value)
            .arg(parts)
            .query(&mut self.con)?;
        expect_ok("CACHE.SET", reply)
    }

    /// `CACHE.PSETEX <cache> <ttl-ms> <value> <parts..>`.
    pub fn cache_psetex<V: ToRedisArgs>(
        &mut self,
        cache: &str,
        ttl_ms: i64,
        value: V,
        parts: &[&str],
    ) -> RedisResult<()> {
        let reply: String = redis::cmd("CACHE.PSETEX")
            .arg(cache)
            .arg(ttl_ms)
            .arg(value)
            .arg(parts)
            .query(&mut self.con)?;
        expect_ok("CACHE.PSETEX", reply)
    }

    /// `CACHE.DEL <cache> <parts..>`: how many entries went.
    pub fn cache_del(&mut self, cache: &str, parts: &[&str]) -> RedisResult<i64> {
        redis::cmd("CACHE.DEL")
            .arg(cache)
            .arg(parts)
            .query(&mut self.con)
    }

    /// `CACHE.TTL <cache> <parts..>`: milliseconds left, `-2` when absent.
    pub fn cache_ttl(&mut self, cache: &str, parts: &[&str]) -> RedisResult<i64> {
        redis::cmd("CACHE.TTL")
            .arg(cache)
            .arg(parts)
            .query(&mut self.con)
    }

    /// `CACHE.LIST`: cache name to versioned id.
    pub fn cache_list(&mut self) -> RedisResult<HashMap<String, String>> {
        redis::cmd("CACHE.LIST").query(&mut self.con)
    }

    /// `CACHE.INFO <cache>`.
    pub fn cache_info(&mut self, cache: &str) -> RedisResult<CacheInfo> {
        redis::cmd("CACHE.INFO").arg(cache).query(&mut self.con)
    }

    /// `CACHE.FORMAT JSON|MSGPACK`.
    pub fn cache_format(&mut self, format: &str) -> RedisResult<()> {
        let reply: String = redis::cmd("CACHE.FORMAT")
            .arg(format)
            .query(&mut self.con)?;
        expect_ok("CACHE.FORMAT", reply)
    }

    /// `CACHE.VALIDATE <cache> <value>`: the plugin's reasons, empty when valid.
    pub fn cache_validate<V: ToRedisArgs>(
        &mut self,
        cache: &str,
        value: V,
    ) -> RedisResult<Vec<String>> {
        redis::cmd("CACHE.VALIDATE")
            .arg(cache)
            .arg(value)
            .query(&mut self.con)
    }

    /// `CACHE.EVENT <name> <payload>`: what was invalidated where.
    pub fn cache_event<P: ToRedisArgs>(&mut self, name: &str, payload: P) -> RedisResult<Event> {
        redis::cmd("CACHE.EVENT")
            .arg(name)
            .arg(payload)
            .query(&mut self.con)
    }

    /// `CACHE.PLAN <cache> <event> <payload>`: what the cache's plugin would
    /// invalidate, without removing anything.
    pub fn cache_plan<P: ToRedisArgs>(
        &mut self,
        cache: &str,
        event: &str,
        payload: P,
    ) -> RedisResult<Plan> {
        redis::cmd("CACHE.PLAN")
            .arg(cache)
            .arg(event)
            .arg(payload)
            .query(&mut self.con)
    }

    /// `PLUGIN.LOAD <path>` (admin).
    pub fn plugin_load(&mut self, path: &Path) -> RedisResult<Loaded> {
        redis::cmd("PLUGIN.LOAD")
            .arg(path.to_string_lossy().as_ref())
            .query(&mut self.con)
    }

    /// `PLUGIN.UNLOAD <cache>` (admin).
    pub fn plugin_unload(&mut self, cache: &str) -> RedisResult<()> {
        let reply: String = redis::cmd("PLUGIN.UNLOAD")
            .arg(cache)
            .query(&mut self.con)?;
        expect_ok("PLUGIN.UNLOAD", reply)
    }

    /// `PLUGIN.LIST` (admin, or a tenant's own).
    pub fn plugin_list(&mut self) -> RedisResult<Vec<PluginRow>> {
        redis::cmd("PLUGIN.LIST").query(&mut self.con)
    }
}

/// A map reply as field name to value, whichever protocol carried it.
#[derive(Debug, Clone, Default)]
pub struct Fields(HashMap<String, Value>);

impl Fields {
    /// The raw value of a field.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    /// An integer field; an error naming the field when absent or not one.
    pub fn int(&self, field: &str) -> RedisResult<i64> {
        match self.0.get(field) {
            Some(Value::Int(n)) => Ok(*n),
            other => Err(shape(field, format!("not an integer: {other:?}"))),
        }
    }

    /// A text field.
    pub fn text(&self, field: &str) -> RedisResult<String> {
        match self.0.get(field) {
            Some(Value::BulkString(b)) => Ok(String::from_utf8_lossy(b).into_owned()),
            Some(Value::SimpleString(s)) => Ok(s.clone()),
            other => Err(shape(field, format!("not text: {other:?}"))),
        }
    }

    /// A boolean field: RESP3 `#t`/`#f`, or RESP2's `1`/`0`.
    pub fn flag(&self, field: &str) -> RedisResult<bool> {
        match self.0.get(field) {
            Some(Value::Boolean(b)) => Ok(*b),
            Some(Value::Int(n)) => Ok(*n != 0),
            other => Err(shape(field, format!("not a boolean: {other:?}"))),
        }
    }

    /// A list-of-text field.
    pub fn texts(&self, field: &str) -> RedisResult<Vec<String>> {
        match self.0.get(field) {
            Some(value) => FromRedisValue::from_redis_value(value),
            None => Err(shape(field, "missing".into())),
        }
    }
}

impl FromRedisValue for Fields {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        Ok(Fields(FromRedisValue::from_redis_value(v)?))
    }
}

/// `CACHE.INFO`: the definition and its counters. The fields tests check
/// most are typed; the rest are in [`CacheInfo::fields`].
#[derive(Debug, Clone)]
pub struct CacheInfo {
    /// `name@version`.
    pub id: String,
    /// The definition's version.
    pub version: String,
    /// Entries held.
    pub items: i64,
    /// Bytes held (stored form: compressed, encrypted).
    pub bytes: i64,
    /// Lookups that found an entry.
    pub hits: i64,
    /// Lookups that did not.
    pub misses: i64,
    /// Values stored.
    pub sets: i64,
    /// Values the plugin refused.
    pub rejects: i64,
    /// Entries evicted for room.
    pub evictions: i64,
    /// Entries that expired.
    pub expirations: i64,
    /// Declared `max-items`.
    pub max_items: i64,
    /// Declared default TTL.
    pub default_ttl_ms: i64,
    /// Plugin calls that faulted (trap, timeout, limit).
    pub plugin_faults: i64,
    /// Plugin instances created so far.
    pub plugin_instantiations: i64,
    /// Every field as the server sent it.
    pub fields: Fields,
}

impl FromRedisValue for CacheInfo {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let fields = Fields::from_redis_value(v)?;
        Ok(CacheInfo {
            id: fields.text("id")?,
            version: fields.text("version")?,
            items: fields.int("items")?,
            bytes: fields.int("bytes")?,
            hits: fields.int("hits")?,
            misses: fields.int("misses")?,
            sets: fields.int("sets")?,
            rejects: fields.int("rejects")?,
            evictions: fields.int("evictions")?,
            expirations: fields.int("expirations")?,
            max_items: fields.int("max-items")?,
            default_ttl_ms: fields.int("default-ttl-ms")?,
            plugin_faults: fields.int("plugin-faults")?,
            plugin_instantiations: fields.int("plugin-instantiations")?,
            fields,
        })
    }
}

/// `CACHE.EVENT`: the outcome and entries removed per cache.
#[derive(Debug, Clone)]
pub struct Event {
    /// `invalidated`, `partially-invalidated`, ...
    pub outcome: String,
    /// Entries removed in all.
    pub count: i64,
    /// Entries removed per cache (caches that removed none may be absent).
    pub caches: HashMap<String, i64>,
    /// Every field as the server sent it.
    pub fields: Fields,
}

impl FromRedisValue for Event {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let fields = Fields::from_redis_value(v)?;
        let caches = match fields.get("caches") {
            Some(value) => FromRedisValue::from_redis_value(value)?,
            None => HashMap::new(),
        };
        Ok(Event {
            outcome: fields.text("outcome")?,
            count: fields.int("count")?,
            caches,
            fields,
        })
    }
}

/// `CACHE.PLAN`: one plugin's invalidation plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Exact keys.
    pub keys: Vec<String>,
    /// Glob patterns.
    pub patterns: Vec<String>,
    /// Caches the event cascades to.
    pub dependent_caches: Vec<String>,
    /// Whether it cascades.
    pub cascade: bool,
    /// Why, for logs.
    pub reason: String,
}

impl FromRedisValue for Plan {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let fields = Fields::from_redis_value(v)?;
        Ok(Plan {
            keys: fields.texts("keys")?,
            patterns: fields.texts("patterns")?,
            dependent_caches: fields.texts("dependent-caches")?,
            cascade: fields.flag("cascade")?,
            reason: fields.text("reason")?,
        })
    }
}

/// `PLUGIN.LOAD`: what was installed and what became of the entries.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The cache name.
    pub cache: String,
    /// `name@version` now serving.
    pub id: String,
    /// `kept`, `copied`, `dropped` or `new`.
    pub entries: String,
    /// Entries the old version held.
    pub entry_count: i64,
    /// Every field as the server sent it.
    pub fields: Fields,
}

impl FromRedisValue for Loaded {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let fields = Fields::from_redis_value(v)?;
        Ok(Loaded {
            cache: fields.text("cache")?,
            id: fields.text("id")?,
            entries: fields.text("entries")?,
            entry_count: fields.int("entry-count")?,
            fields,
        })
    }
}

/// One row of `PLUGIN.LIST`.
#[derive(Debug, Clone)]
pub struct PluginRow {
    /// The cache name.
    pub cache: String,
    /// The definition's version.
    pub version: String,
    /// SHA-256 of the component.
    pub sha256: String,
    /// `serving`, `quarantined`, ...
    pub state: String,
    /// Every field as the server sent it.
    pub fields: Fields,
}

impl FromRedisValue for PluginRow {
    fn from_redis_value(v: &Value) -> RedisResult<Self> {
        let fields = Fields::from_redis_value(v)?;
        Ok(PluginRow {
            cache: fields.text("cache")?,
            version: fields.text("version")?,
            sha256: fields.text("sha256")?,
            state: fields.text("state")?,
            fields,
        })
    }
}
