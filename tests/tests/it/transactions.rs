//! `MULTI`/`EXEC`/`DISCARD`/`WATCH`/`UNWATCH` against the real binary, with Redis's replies.

use anyhow::Result;
use hoard_tests::Server;
use hoard_tests::raw::{RawClient, Reply};

fn q(c: &mut RawClient, words: &str) -> Result<Reply> {
    let words: Vec<&str> = words.split(' ').collect();
    c.cmd_str(&words)
}

fn queued() -> Reply {
    Reply::Simple("QUEUED".into())
}

#[test]
fn queued_commands_run_as_one_unit() -> Result<()> {
    let server = Server::start()?;
    let mut c = RawClient::connect(server.port)?;
    assert_eq!(q(&mut c, "MULTI")?, Reply::Simple("OK".into()));
    assert_eq!(
        q(&mut c, "MULTI")?,
        Reply::Error("ERR MULTI calls can not be nested".into())
    );
    assert_eq!(q(&mut c, "SET a 1")?, queued());
    assert_eq!(q(&mut c, "INCR a")?, queued());
    assert_eq!(q(&mut c, "HSET a f v")?, queued());
    assert_eq!(q(&mut c, "GET a")?, queued());
    // Execution errors are replies in the array; the rest still runs.
    assert_eq!(
        q(&mut c, "EXEC")?,
        Reply::Array(Some(vec![
            Reply::Simple("OK".into()),
            Reply::Int(2),
            Reply::Error(
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            ),
            Reply::bulk("2"),
        ]))
    );
    assert_eq!(
        q(&mut c, "EXEC")?,
        Reply::Error("ERR EXEC without MULTI".into())
    );
    assert_eq!(
        q(&mut c, "DISCARD")?,
        Reply::Error("ERR DISCARD without MULTI".into())
    );
    Ok(())
}

#[test]
fn a_queueing_error_aborts_the_whole_transaction() -> Result<()> {
    let server = Server::start()?;
    let mut c = RawClient::connect(server.port)?;
    q(&mut c, "MULTI")?;
    assert_eq!(q(&mut c, "SET a 1")?, queued());
    assert_eq!(
        q(&mut c, "GET")?,
        Reply::Error("ERR wrong number of arguments for 'get' command".into())
    );
    let unknown = q(&mut c, "NOSUCH x")?;
    assert!(
        unknown
            .error()
            .is_some_and(|e| e.starts_with("ERR unknown command 'nosuch'"))
    );
    assert_eq!(
        q(&mut c, "EXEC")?,
        Reply::Error("EXECABORT Transaction discarded because of previous errors.".into())
    );
    assert_eq!(q(&mut c, "GET a")?, Reply::Bulk(None), "nothing ran");
    // DISCARD drops the queue.
    q(&mut c, "MULTI")?;
    q(&mut c, "SET a 1")?;
    assert_eq!(q(&mut c, "DISCARD")?, Reply::Simple("OK".into()));
    assert_eq!(q(&mut c, "GET a")?, Reply::Bulk(None));
    Ok(())
}

#[test]
fn watch_aborts_on_a_change_by_another_connection() -> Result<()> {
    let server = Server::start()?;
    let mut c = RawClient::connect(server.port)?;
    let mut other = RawClient::connect(server.port)?;
    q(&mut c, "SET w 1")?;
    assert_eq!(q(&mut c, "WATCH w")?, Reply::Simple("OK".into()));
    q(&mut other, "SET w 2")?;
    q(&mut c, "MULTI")?;
    assert_eq!(
        q(&mut c, "WATCH w")?,
        Reply::Error("ERR WATCH inside MULTI is not allowed".into())
    );
    q(&mut c, "SET w 3")?;
    assert_eq!(
        q(&mut c, "EXEC")?,
        Reply::Array(None),
        "aborted: null array"
    );
    assert_eq!(q(&mut c, "GET w")?, Reply::bulk("2"));

    // Unchanged watched keys let EXEC run; EXEC forgets the watch.
    q(&mut c, "WATCH w")?;
    q(&mut c, "MULTI")?;
    q(&mut c, "SET w 4")?;
    assert_eq!(
        q(&mut c, "EXEC")?,
        Reply::Array(Some(vec![Reply::Simple("OK".into())]))
    );
    q(&mut other, "SET w 5")?;
    q(&mut c, "MULTI")?;
    q(&mut c, "INCR w")?;
    assert_eq!(q(&mut c, "EXEC")?, Reply::Array(Some(vec![Reply::Int(6)])));

    // UNWATCH forgets; a key that expires while watched aborts (Redis 7).
    q(&mut c, "WATCH w")?;
    q(&mut other, "SET w 7")?;
    q(&mut c, "UNWATCH")?;
    q(&mut c, "MULTI")?;
    q(&mut c, "GET w")?;
    assert_eq!(
        q(&mut c, "EXEC")?,
        Reply::Array(Some(vec![Reply::bulk("7")]))
    );
    q(&mut c, "SET e v PX 30")?;
    q(&mut c, "WATCH e")?;
    std::thread::sleep(std::time::Duration::from_millis(60));
    q(&mut c, "MULTI")?;
    q(&mut c, "SET x 1")?;
    assert_eq!(q(&mut c, "EXEC")?, Reply::Array(None));
    // RESP3 answers an aborted EXEC with a null.
    q(&mut c, "HELLO 3")?;
    q(&mut c, "WATCH w")?;
    q(&mut other, "DEL w")?;
    q(&mut c, "MULTI")?;
    q(&mut c, "SET x 1")?;
    assert_eq!(q(&mut c, "EXEC")?, Reply::Null);
    Ok(())
}

#[test]
fn exec_is_isolated_from_other_connections() -> Result<()> {
    // Another connection increments the same counter while transactions read-modify-write
    // it twice; every EXEC must see its own two increments back to back.
    let server = Server::start()?;
    let port = server.port;
    let hammer = std::thread::spawn(move || -> Result<()> {
        let mut o = RawClient::connect(port)?;
        for _ in 0..2000 {
            q(&mut o, "INCR n")?;
        }
        Ok(())
    });
    let mut c = RawClient::connect(port)?;
    for _ in 0..300 {
        q(&mut c, "MULTI")?;
        q(&mut c, "INCR n")?;
        q(&mut c, "INCR n")?;
        let Reply::Array(Some(r)) = q(&mut c, "EXEC")? else {
            panic!("EXEC failed");
        };
        match r.as_slice() {
            [Reply::Int(a), Reply::Int(b)] => assert_eq!(*b, a + 1, "interleaved"),
            other => panic!("{other:?}"),
        }
    }
    hammer
        .join()
        .map_err(|_| anyhow::anyhow!("hammer panicked"))??;
    assert_eq!(q(&mut c, "GET n")?, Reply::bulk("2600"));
    Ok(())
}
