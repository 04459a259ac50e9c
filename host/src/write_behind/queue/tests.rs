use std::collections::HashMap;
use std::sync::Arc;

use super::{Settle, Slot, Write, WriteQueue, now_ms};
use crate::origin::{OriginRequest, SqlValue};

fn write(queue: &WriteQueue, key: &str, value: &str) -> Write {
    let sequence = queue.next_sequence();
    Write {
        slot: Slot {
            tenant: String::new(),
            cache: "Kv".into(),
            key: key.into(),
        },
        origin: "db".into(),
        request: OriginRequest::Sql {
            statement: "put".into(),
            params: vec![SqlValue::Text(value.into()), SqlValue::Int(sequence as i64)],
        },
        sequence,
        queued_ms: now_ms(),
        since_ms: now_ms(),
        attempts: 0,
        next_ms: 0,
        last_error: String::new(),
        attempted_ms: Vec::new(),
    }
}

fn value_of(w: &Write) -> String {
    match &w.request {
        OriginRequest::Sql { params, .. } => match &params[0] {
            SqlValue::Text(t) => t.clone(),
            _ => String::new(),
        },
        OriginRequest::Http { .. } => String::new(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

#[test]
fn coalesces_per_key_and_survives_reopen() {
    let dir = crate::test_dir::TestDir::new();
    let path = dir.path().join("q.redb");
    let rt = runtime();
    {
        let queue = WriteQueue::open(&path).expect("open");
        rt.block_on(async {
            for i in 0..100 {
                let w = write(&queue, "k1", &format!("v{i}"));
                queue.enqueue(w).await.expect("enqueue");
            }
            let w = write(&queue, "k2", "other");
            queue.enqueue(w).await.expect("enqueue");
        });
        let (due, _) = queue.due(now_ms(), 10, &HashMap::new());
        assert_eq!(due.len(), 2);
        assert_eq!(value_of(&due[0]), "v99");
        assert_eq!(
            queue
                .counters
                .coalesced
                .load(std::sync::atomic::Ordering::Relaxed),
            99
        );
        queue.close();
    }
    let queue = WriteQueue::open(&path).expect("reopen");
    let (due, _) = queue.due(now_ms(), 10, &HashMap::new());
    let values: Vec<String> = due.iter().map(|w| value_of(w)).collect();
    assert_eq!(values, vec!["v99".to_owned(), "other".to_owned()]);
    assert!(queue.next_sequence() > due[1].sequence);
}

#[test]
fn settling_an_older_write_keeps_the_newer_one() {
    let dir = crate::test_dir::TestDir::new();
    let queue = WriteQueue::open(&dir.path().join("q.redb")).expect("open");
    let rt = runtime();
    rt.block_on(queue.enqueue(write(&queue, "k", "old")))
        .expect("enqueue");
    let (due, _) = queue.due(now_ms(), 10, &HashMap::new());
    let in_flight = Arc::clone(&due[0]);
    // A newer write arrives while the old one is at the origin.
    rt.block_on(queue.enqueue(write(&queue, "k", "new")))
        .expect("enqueue");
    queue
        .settle(vec![(in_flight, Settle::Confirmed)])
        .expect("settle");
    let (due, _) = queue.due(now_ms(), 10, &HashMap::new());
    assert_eq!(due.len(), 1);
    assert_eq!(value_of(&due[0]), "new");
    // Taken writes are not handed out twice until settled or given back.
    assert!(queue.due(now_ms(), 10, &HashMap::new()).0.is_empty());
    queue.release(&due);
    // An older write enqueued late never replaces the newer one.
    let mut stale = write(&queue, "k", "stale");
    stale.sequence = 1;
    rt.block_on(queue.enqueue(stale)).expect("enqueue");
    let (due, _) = queue.due(now_ms(), 10, &HashMap::new());
    assert_eq!(value_of(&due[0]), "new");
}

#[test]
fn retries_wait_and_dead_letters_belong_to_their_tenant() {
    let dir = crate::test_dir::TestDir::new();
    let queue = WriteQueue::open(&dir.path().join("q.redb")).expect("open");
    let rt = runtime();
    rt.block_on(queue.enqueue(write(&queue, "a", "1")))
        .expect("enqueue");
    rt.block_on(queue.enqueue(write(&queue, "b", "2")))
        .expect("enqueue");
    let (due, _) = queue.due(now_ms(), 10, &HashMap::new());
    let later = now_ms() + 60_000;
    queue
        .settle(vec![
            (
                Arc::clone(&due[0]),
                Settle::Retry {
                    attempts: 1,
                    next_ms: later,
                    error: "busy".into(),
                },
            ),
            (
                Arc::clone(&due[1]),
                Settle::Bury {
                    reason: "refused".into(),
                },
            ),
        ])
        .expect("settle");
    let (due, next) = queue.due(now_ms(), 10, &HashMap::new());
    assert!(due.is_empty());
    assert_eq!(next, Some(later));
    let letters = queue.dead_letters("", 10).expect("list");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "refused");
    let id = letters[0].id;
    assert!(queue.retry_dead("other-tenant", id).is_err());
    assert!(queue.drop_dead("other-tenant", id).is_err());
    queue.retry_dead("", id).expect("retry");
    let (due, _) = queue.due(now_ms(), 10, &HashMap::new());
    assert_eq!(due.len(), 1);
    assert_eq!(value_of(&due[0]), "2");
    assert_eq!(queue.depth(None, None).dead, 0);
}

#[test]
fn confirmed_writes_leave_the_file_with_the_checkpoint_and_are_resent_before_it() {
    let dir = crate::test_dir::TestDir::new();
    let path = dir.path().join("q.redb");
    let rt = runtime();
    let settle_all = |queue: &WriteQueue| {
        let (due, _) = queue.due(now_ms(), 10, &HashMap::new());
        assert_eq!(due.len(), 2);
        let outcomes = due.into_iter().map(|w| (w, Settle::Confirmed)).collect();
        queue.settle(outcomes).expect("settle");
        // The index forgets them at once.
        assert_eq!(queue.depth(None, None).pending, 0);
        assert!(queue.due(now_ms(), 10, &HashMap::new()).0.is_empty());
    };
    {
        let queue = WriteQueue::open(&path).expect("open");
        for key in ["a", "b"] {
            rt.block_on(queue.enqueue(write(&queue, key, "v")))
                .expect("enqueue");
        }
        settle_all(&queue);
        queue.close();
    }
    // A crash before the removal reached the file: both are sent again
    // (harmless: the origin applies a sequence only once).
    let queue = WriteQueue::open(&path).expect("reopen");
    assert_eq!(queue.depth(None, None).pending, 2);
    settle_all(&queue);
    queue.checkpoint().expect("checkpoint");
    queue.close();
    drop(queue);
    let queue = WriteQueue::open(&path).expect("reopen");
    assert_eq!(
        queue.depth(None, None).pending,
        0,
        "the checkpoint removed them"
    );
}
