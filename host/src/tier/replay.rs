//! The replay queue: writes and invalidations that could not reach L2 (or
//! the bus), kept in a redb file so they survive a restart of the node, and
//! retried until Redis takes them.
//!
//! Rules:
//! - Latest per key: a key's queued write or delete replaces the one before
//!   (a delete after a write leaves only the delete: nothing is resurrected).
//! - A queued pattern invalidation drops every queued write it matches.
//! - Replay goes in queue order (sequence numbers), newest-wins in Redis
//!   (see `RedisStore::replay_set`): a queued write older than what another
//!   node wrote or deleted meanwhile is dropped.
//! - An operation that later reached L2 directly removes its queued
//!   predecessor, so an old queued write cannot overwrite a newer value.
//!
//! The hot path never touches the file: an in-memory set of queued keys
//! says whether there is anything to remove.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::tier::keys::Namespace;
use hoard_l1::Glob;

const QUEUE: TableDefinition<&str, &[u8]> = TableDefinition::new("queue");

/// The replay file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// redb refused (boxed: redb's error is large).
    #[error("replay queue: {0}")]
    Store(Box<redb::Error>),
    /// A queued record did not decode.
    #[error("replay queue record: {0}")]
    Decode(String),
}

fn store(error: impl Into<redb::Error>) -> ReplayError {
    ReplayError::Store(Box::new(error.into()))
}

/// Where a queued operation belongs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Tenant name ("" for the single tenant).
    pub tenant: String,
    /// Cache name (for the bus message sent after replay).
    pub cache: String,
    /// Definition id.
    pub id: String,
    /// Definition major version.
    pub major: u64,
    /// The L1 key, or the glob of a pattern invalidation.
    pub subject: String,
}

impl Target {
    /// The definition namespace in L2.
    pub fn namespace(&self) -> Namespace {
        Namespace::new(&self.tenant, &self.id, self.major)
    }
}

/// What is to be replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Write this envelope, expiring at `expire_at_ms` (Unix ms).
    Set {
        /// The stored envelope.
        envelope: Vec<u8>,
        /// When the entry expires; an expired write is dropped.
        expire_at_ms: u64,
    },
    /// Delete the key.
    Delete,
    /// Delete every key matching the glob.
    Pattern,
}

/// One queued operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// Order of queuing (monotonic across restarts).
    pub seq: u64,
    /// When the operation happened on this node (Unix ms): its age for
    /// newest-wins.
    pub at_ms: u64,
    /// Where.
    pub target: Target,
    /// What.
    pub op: Op,
}

impl Queued {
    fn queue_key(&self) -> String {
        queue_key(&self.target, matches!(self.op, Op::Pattern))
    }
}

fn queue_key(target: &Target, pattern: bool) -> String {
    format!(
        "{}\0{}\0{}\0{}\0{}",
        if pattern { 'p' } else { 'k' },
        target.tenant,
        target.id,
        target.major,
        target.subject
    )
}

/// The durable queue.
pub struct ReplayQueue {
    db: Database,
    next_seq: AtomicU64,
    /// Mirror of the file's keys, so the common case (nothing queued for a
    /// key) costs no disk access.
    keys: Mutex<HashSet<String>>,
}

impl ReplayQueue {
    /// Opens (or creates) the queue at `path`.
    pub fn open(path: &Path) -> Result<Self, ReplayError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let db = Database::create(path).map_err(store)?;
        let tx = db.begin_write().map_err(store)?;
        tx.open_table(QUEUE).map_err(store)?;
        tx.commit().map_err(store)?;
        let queue = Self {
            db,
            next_seq: AtomicU64::new(1),
            keys: Mutex::new(HashSet::new()),
        };
        let all = queue.all()?;
        let max = all.iter().map(|q| q.seq).max().unwrap_or(0);
        queue.next_seq.store(max + 1, Ordering::Release);
        *queue.keys.lock() = all.iter().map(Queued::queue_key).collect();
        Ok(queue)
    }

    /// A fresh sequence number.
    pub fn next_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::AcqRel)
    }

    /// Operations waiting.
    pub fn depth(&self) -> u64 {
        self.keys.lock().len() as u64
    }

    /// Queues `op`, durably, replacing what was queued for the same key; a
    /// pattern also drops the queued key operations it matches.
    pub fn push(&self, queued: &Queued) -> Result<(), ReplayError> {
        let bytes = rmp_serde::to_vec(queued).map_err(|e| ReplayError::Decode(e.to_string()))?;
        let key = queued.queue_key();
        let dropped = if matches!(queued.op, Op::Pattern) {
            self.matching_keys(&queued.target)?
        } else {
            Vec::new()
        };
        let tx = self.db.begin_write().map_err(store)?;
        {
            let mut table = tx.open_table(QUEUE).map_err(store)?;
            for old in &dropped {
                table.remove(old.as_str()).map_err(store)?;
            }
            table
                .insert(key.as_str(), bytes.as_slice())
                .map_err(store)?;
        }
        tx.commit().map_err(store)?;
        let mut keys = self.keys.lock();
        for old in &dropped {
            keys.remove(old);
        }
        keys.insert(key);
        Ok(())
    }

    /// An operation on `target`'s key reached L2 directly: what was queued
    /// for it before (sequence below `seq`) is obsolete.
    pub fn superseded(&self, target: &Target, seq: u64) -> Result<(), ReplayError> {
        let key = queue_key(target, false);
        if !self.keys.lock().contains(&key) {
            return Ok(());
        }
        self.remove_if(&key, |q| q.seq < seq)
    }

    /// A pattern reached L2 directly: queued writes it matches are obsolete.
    pub fn superseded_by_pattern(&self, target: &Target) -> Result<(), ReplayError> {
        for key in self.matching_keys(target)? {
            self.remove_if(&key, |_| true)?;
        }
        Ok(())
    }

    /// Removes a replayed operation, unless it was replaced meanwhile.
    pub fn done(&self, queued: &Queued) -> Result<(), ReplayError> {
        self.remove_if(&queued.queue_key(), |q| q.seq == queued.seq)
    }

    /// Everything queued, oldest first.
    pub fn all(&self) -> Result<Vec<Queued>, ReplayError> {
        let tx = self.db.begin_read().map_err(store)?;
        let table = tx.open_table(QUEUE).map_err(store)?;
        let mut out = Vec::with_capacity(table.len().map_err(store)? as usize);
        for item in table.iter().map_err(store)? {
            let (_, value) = item.map_err(store)?;
            out.push(
                rmp_serde::from_slice::<Queued>(value.value())
                    .map_err(|e| ReplayError::Decode(e.to_string()))?,
            );
        }
        out.sort_by_key(|q| q.seq);
        Ok(out)
    }

    fn matching_keys(&self, pattern: &Target) -> Result<Vec<String>, ReplayError> {
        let glob = Glob::new(pattern.subject.as_bytes());
        Ok(self
            .all()?
            .into_iter()
            .filter(|q| {
                !matches!(q.op, Op::Pattern)
                    && q.target.tenant == pattern.tenant
                    && q.target.id == pattern.id
                    && q.target.major == pattern.major
                    && glob.matches(q.target.subject.as_bytes())
            })
            .map(|q| q.queue_key())
            .collect())
    }

    fn remove_if(
        &self,
        key: &str,
        keep_unless: impl Fn(&Queued) -> bool,
    ) -> Result<(), ReplayError> {
        let tx = self.db.begin_write().map_err(store)?;
        let removed = {
            let mut table = tx.open_table(QUEUE).map_err(store)?;
            let current = table
                .get(key)
                .map_err(store)?
                .map(|v| rmp_serde::from_slice::<Queued>(v.value()));
            match current {
                Some(Ok(q)) if keep_unless(&q) => {
                    table.remove(key).map_err(store)?;
                    true
                }
                Some(Err(_)) => {
                    table.remove(key).map_err(store)?;
                    true
                }
                _ => false,
            }
        };
        tx.commit().map_err(store)?;
        if removed {
            self.keys.lock().remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn target(subject: &str) -> Target {
        Target {
            tenant: "t".into(),
            cache: "C".into(),
            id: "c".into(),
            major: 1,
            subject: subject.into(),
        }
    }

    fn set(queue: &ReplayQueue, key: &str, value: &[u8]) -> Queued {
        let q = Queued {
            seq: queue.next_seq(),
            at_ms: 1,
            target: target(key),
            op: Op::Set {
                envelope: value.to_vec(),
                expire_at_ms: u64::MAX,
            },
        };
        queue.push(&q).unwrap();
        q
    }

    #[test]
    fn latest_per_key_survives_a_reopen_and_a_delete_replaces_a_write() {
        let dir = crate::test_dir::TestDir::new();
        let path = dir.path().join("q.redb");
        {
            let queue = ReplayQueue::open(&path).unwrap();
            set(&queue, "a", b"1");
            set(&queue, "a", b"2");
            set(&queue, "b", b"x");
            let del = Queued {
                seq: queue.next_seq(),
                at_ms: 2,
                target: target("b"),
                op: Op::Delete,
            };
            queue.push(&del).unwrap();
            assert_eq!(queue.depth(), 2);
        }
        let queue = ReplayQueue::open(&path).unwrap();
        let all = queue.all().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[0].op,
            Op::Set {
                envelope: b"2".to_vec(),
                expire_at_ms: u64::MAX
            }
        );
        assert_eq!(all[1].op, Op::Delete);
        assert!(
            queue.next_seq() > all[1].seq,
            "sequence continues after restart"
        );
    }

    #[test]
    fn a_pattern_drops_the_writes_it_matches_and_done_respects_replacement() {
        let dir = crate::test_dir::TestDir::new();
        let queue = ReplayQueue::open(&dir.path().join("q.redb")).unwrap();
        set(&queue, "User:1", b"1");
        let keep = set(&queue, "Order:1", b"o");
        queue
            .push(&Queued {
                seq: queue.next_seq(),
                at_ms: 3,
                target: target("User:*"),
                op: Op::Pattern,
            })
            .unwrap();
        let subjects: Vec<String> = queue
            .all()
            .unwrap()
            .into_iter()
            .map(|q| q.target.subject)
            .collect();
        assert_eq!(subjects, vec!["Order:1".to_owned(), "User:*".to_owned()]);
        // Replaced after being read for replay: `done` must not remove the newer one.
        let newer = set(&queue, "Order:1", b"o2");
        queue.done(&keep).unwrap();
        assert!(queue.all().unwrap().contains(&newer));
        // A later direct write supersedes it.
        queue.superseded(&target("Order:1"), newer.seq + 1).unwrap();
        assert_eq!(queue.depth(), 1);
    }
}
