//! A deadline on a fallible future, as one result.
//!
//! Calls to L2, to an origin and to a Redis seed are all bounded in time,
//! and a timeout is one of their errors like any other: callers match
//! `Ok`/`Err` once instead of a timeout's result wrapped around the call's.

use std::time::Duration;

/// `future`'s result, or `timed_out()` if it has not finished within
/// `limit`: one result to match, not a timeout's wrapped around the
/// future's own.
pub(crate) async fn within<T, E>(
    limit: Duration,
    timed_out: impl FnOnce() -> E,
    future: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| Err(timed_out()))
}
