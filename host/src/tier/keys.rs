//! Names in Redis. Every L2 key is `hoard:<tenant>:<definition-id>:<major>:<key>`,
//! so two tenants, or two incompatible versions of one definition, never
//! read each other's entries. Each definition namespace also has one index
//! (a sorted set of its keys, all scored 0, ordered by bytes) so that a
//! pattern with a literal prefix is answered by `ZRANGEBYLEX` over that
//! prefix: cost O(log N + M) for M matching keys of that definition, never a
//! walk of the whole Redis keyspace. The index key carries a hash tag of its
//! own so that, on a Cluster, it stays on one shard while data keys spread.

/// The namespace of one definition of one tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    prefix: String,
    index: String,
    marker: String,
}

/// The L2 key of L1 key `key` of definition `id` at `major` for `tenant`:
/// the same string as `Namespace::new(tenant, id, major).key(key)` in one
/// allocation instead of five (the read path makes one per L2 read).
pub fn entry_key(tenant: &str, id: &str, major: u64, key: &str) -> String {
    let tenant = if tenant.is_empty() { "_" } else { tenant };
    // Pieces pushed into one exact-size buffer: `format!` here cost ~3% of
    // an L2 hit's CPU (perf).
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = major;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    let major = std::str::from_utf8(digits.get(at..).unwrap_or_default()).unwrap_or("0");
    let mut out = String::with_capacity(9 + tenant.len() + id.len() + major.len() + key.len());
    for piece in ["hoard:", tenant, ":", id, ":", major, ":", key] {
        out.push_str(piece);
    }
    out
}

impl Namespace {
    /// The namespace of definition `id` at `major` for `tenant` ("" is the
    /// single default tenant, named `_`).
    pub fn new(tenant: &str, id: &str, major: u64) -> Self {
        let tenant = if tenant.is_empty() { "_" } else { tenant };
        let base = format!("hoard:{tenant}:{id}:{major}");
        Self {
            prefix: format!("{base}:"),
            index: format!("hoard:{{{base}}}:index"),
            marker: format!("hoard:{{{base}}}:invalidated"),
        }
    }

    /// The L2 key of L1 key `key`.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// What every L2 key of this namespace starts with (what client
    /// tracking watches for the definitions that opt in).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The index of this namespace's keys.
    pub fn index(&self) -> &str {
        &self.index
    }

    /// Where the time of the last pattern invalidation is kept (a replayed
    /// write older than it is dropped rather than resurrect a value).
    pub fn marker(&self) -> &str {
        &self.marker
    }

    /// The L1 key of L2 key `l2_key`, if it is in this namespace.
    pub fn strip<'a>(&self, l2_key: &'a str) -> Option<&'a str> {
        l2_key.strip_prefix(self.prefix.as_str())
    }
}

/// The literal bytes a glob starts with (up to its first `*`, `?`, `[` or `\`).
pub fn literal_prefix(glob: &str) -> &str {
    let end = glob.find(['*', '?', '[', '\\']).unwrap_or(glob.len());
    &glob[..end]
}

/// What an L2 value holds: a live entry (its write time and the envelope),
/// or a tombstone (the time it was deleted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// An entry written at `at_ms` (Unix ms): the stored envelope.
    Value {
        /// Write time, for newest-wins replay.
        at_ms: u64,
        /// When Redis expires it (Unix ms, the writer's clock), so a reader
        /// bounds its L1 copy without a `PTTL` round trip. `None` in
        /// records written before it was kept.
        expires_ms: Option<u64>,
        /// The L1 envelope bytes (flags, compressed, sealed).
        envelope: Vec<u8>,
    },
    /// Deleted at `at_ms`; reads see a miss.
    Tombstone {
        /// Delete time.
        at_ms: u64,
    },
}

const VALUE: u8 = b'V';
const VALUE_EXPIRING: u8 = b'E';
const TOMBSTONE: u8 = b'T';

impl Record {
    /// The bytes stored in Redis: a kind byte, the time (8 bytes, big
    /// endian, so the replay script can compare), for a value its expiry
    /// (8 bytes), then the envelope.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Record::Value {
                at_ms,
                expires_ms,
                envelope,
            } => {
                let mut out = Vec::with_capacity(17 + envelope.len());
                out.push(if expires_ms.is_some() {
                    VALUE_EXPIRING
                } else {
                    VALUE
                });
                out.extend_from_slice(&at_ms.to_be_bytes());
                if let Some(expires_ms) = expires_ms {
                    out.extend_from_slice(&expires_ms.to_be_bytes());
                }
                out.extend_from_slice(envelope);
                out
            }
            Record::Tombstone { at_ms } => {
                let mut out = Vec::with_capacity(9);
                out.push(TOMBSTONE);
                out.extend_from_slice(&at_ms.to_be_bytes());
                out
            }
        }
    }

    /// Reads stored bytes; `None` for bytes hoard did not write.
    pub fn decode(bytes: &[u8]) -> Option<Record> {
        let (&kind, rest) = bytes.split_first()?;
        let at: [u8; 8] = rest.get(..8)?.try_into().ok()?;
        let at_ms = u64::from_be_bytes(at);
        match kind {
            VALUE => Some(Record::Value {
                at_ms,
                expires_ms: None,
                envelope: rest[8..].to_vec(),
            }),
            VALUE_EXPIRING => {
                let expires: [u8; 8] = rest.get(8..16)?.try_into().ok()?;
                Some(Record::Value {
                    at_ms,
                    expires_ms: Some(u64::from_be_bytes(expires)),
                    envelope: rest[16..].to_vec(),
                })
            }
            TOMBSTONE if rest.len() == 8 => Some(Record::Tombstone { at_ms }),
            _ => None,
        }
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_and_majors_get_disjoint_namespaces() {
        let a = Namespace::new("a", "user-cache", 1);
        let b = Namespace::new("b", "user-cache", 1);
        let a2 = Namespace::new("a", "user-cache", 2);
        assert_eq!(a.key("User:1"), "hoard:a:user-cache:1:User:1");
        assert_ne!(a.key("k"), b.key("k"));
        assert_ne!(a.key("k"), a2.key("k"));
        assert_eq!(Namespace::new("", "x", 0).key("k"), "hoard:_:x:0:k");
        // The read path's one-allocation form names the same keys.
        for (tenant, id, major, key) in [
            ("a", "user-cache", 1, "User:1"),
            ("", "x", 0, "k"),
            ("t", "y", 1234567890, ""),
            ("t", "y", u64::MAX, "k:é"),
        ] {
            assert_eq!(
                entry_key(tenant, id, major, key),
                Namespace::new(tenant, id, major).key(key)
            );
        }
        assert_eq!(a.strip("hoard:a:user-cache:1:User:1"), Some("User:1"));
        assert_eq!(b.strip("hoard:a:user-cache:1:User:1"), None);
        // The index shares one hash slot, whatever the cluster.
        assert_eq!(a.index(), "hoard:{hoard:a:user-cache:1}:index");
    }

    #[test]
    fn literal_prefixes_stop_at_the_first_wildcard() {
        assert_eq!(literal_prefix("User:4*"), "User:4");
        assert_eq!(literal_prefix("*"), "");
        assert_eq!(literal_prefix("a?b"), "a");
        assert_eq!(literal_prefix("plain"), "plain");
    }

    #[test]
    fn records_round_trip_and_foreign_bytes_are_refused() {
        let v = Record::Value {
            at_ms: 42,
            expires_ms: Some(60_042),
            envelope: b"\0hi".to_vec(),
        };
        assert_eq!(v.encode()[0], b'E');
        assert_eq!(Record::decode(&v.encode()), Some(v));
        // Records of earlier versions (no expiry) still read.
        let legacy = Record::Value {
            at_ms: 42,
            expires_ms: None,
            envelope: b"\0hi".to_vec(),
        };
        assert_eq!(legacy.encode()[0], b'V');
        assert_eq!(Record::decode(&legacy.encode()), Some(legacy));
        assert_eq!(
            Record::decode(b"E\0\0\0\0\0\0\0\x2a\0\0"),
            None,
            "cut short"
        );
        let t = Record::Tombstone { at_ms: 7 };
        assert_eq!(Record::decode(&t.encode()), Some(t));
        assert_eq!(Record::decode(b"hello world"), None);
        assert_eq!(Record::decode(b""), None);
    }
}
