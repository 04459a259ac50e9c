//! Origins: the systems of record behind a definition (a PostgreSQL
//! database, an HTTP API), owned by the host.
//!
//! The operator declares them (`[[origins]]`, per tenant) and says which
//! definitions may use each; the definition's plugin only *maps* (key parts
//! → an [`OriginRequest`], the response → a value) through the `origin`
//! interface of `hoard:definition@0.2.0`. The host runs the request with its
//! own connections and timeouts, refuses what the operator did not allow,
//! and decides what is cached. `cache/read_through.rs` drives loads,
//! single flight and leases; `cache/mod.rs` drives write-through.

pub mod config;
pub mod http;
pub mod lease;
pub mod mapping;
pub mod postgres;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use config::{OriginConfig, WriteMode};
pub use mapping::{Loaded, OriginRequest, OriginResponse, SqlValue};

/// Why an origin call did not give an answer the host can use.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OriginError {
    /// The origin could not be reached, broke the connection, or answered
    /// with a server error: worth retrying later.
    #[error("origin unavailable: {0}")]
    Unavailable(String),
    /// The request was refused: by the host (not allowed, malformed) or by
    /// the origin (a constraint, a 4xx). Retrying will not help.
    #[error("origin refused: {0}")]
    Refused(String),
    /// The origin could not be reached at all (no connection, or it broke):
    /// the whole origin is down, not one request.
    #[error("origin unavailable (unreachable): {0}")]
    Unreachable(String),
    /// No answer within the origin's `timeout_ms`.
    #[error("origin did not answer within {0} ms")]
    Timeout(u64),
    /// The plugin's mapping failed or answered with an error.
    #[error("mapping failed: {0}")]
    Mapping(String),
}

/// What a load produced, shared by every caller that waited on it.
#[derive(Clone, Debug, PartialEq)]
pub enum Fetched {
    /// The value (MessagePack), validated.
    Value(Vec<u8>),
    /// The origin has no such entry.
    NotFound,
}

/// A load's result; the error is already the reply text's content.
pub type LoadResult = Result<Fetched, OriginError>;

/// Counters of one origin, for `CACHE.INFO`, `INFO` and metrics.
#[derive(Debug, Default)]
pub struct OriginCounters {
    /// Loads that went to the origin.
    pub loads: AtomicU64,
    /// Reads that waited for another caller's load instead of loading (single flight).
    pub coalesced: AtomicU64,
    /// Reads answered with a stale value (soft timeout, failure, lease held).
    pub stale_served: AtomicU64,
    /// Background reloads started before expiry (eager refresh).
    pub refreshes: AtomicU64,
    /// Leases handed to clients (`CACHE.LEASE`).
    pub leases_granted: AtomicU64,
    /// `CACHE.LEASE` calls told to wait for another holder.
    pub leases_waited: AtomicU64,
    /// Fills refused because the key was invalidated (or the lease lapsed).
    pub fills_refused: AtomicU64,
    /// Writes that reached the origin (write-through).
    pub writes: AtomicU64,
    /// Origin calls that failed (any reason).
    pub errors: AtomicU64,
    /// Write-behind: calls of a statement's batch form (many writes each).
    pub batch_calls: AtomicU64,
    /// Write-behind: batches whose transaction failed and ran write by write.
    pub batch_fallbacks: AtomicU64,
    /// Sum and count of origin call latencies, in microseconds.
    pub latency_us_sum: AtomicU64,
    /// Origin calls timed.
    pub latency_count: AtomicU64,
}

impl OriginCounters {
    /// Every counter by the name `CACHE.INFO` and `INFO` show, plus the
    /// mean latency in microseconds.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let count = load(&self.latency_count);
        vec![
            ("loads", load(&self.loads)),
            ("coalesced", load(&self.coalesced)),
            ("stale_served", load(&self.stale_served)),
            ("refreshes", load(&self.refreshes)),
            ("leases_granted", load(&self.leases_granted)),
            ("leases_waited", load(&self.leases_waited)),
            ("fills_refused", load(&self.fills_refused)),
            ("writes", load(&self.writes)),
            ("errors", load(&self.errors)),
            ("batch_calls", load(&self.batch_calls)),
            ("batch_fallbacks", load(&self.batch_fallbacks)),
            ("calls", count),
            (
                "latency_mean_us",
                load(&self.latency_us_sum).checked_div(count).unwrap_or(0),
            ),
        ]
    }
}

enum Executor {
    Postgres(Box<postgres::PgOrigin>),
    Http(http::HttpOrigin),
}

/// One configured origin.
pub struct Origin {
    config: OriginConfig,
    executor: Executor,
    /// What happened on it.
    pub counters: OriginCounters,
}

impl Origin {
    /// Builds an origin (no connection yet).
    pub fn new(config: OriginConfig) -> Result<Origin, String> {
        config.check()?;
        let executor = match (&config.postgres, &config.http) {
            (Some(connection), None) => Executor::Postgres(Box::new(postgres::PgOrigin::new(
                &config.name,
                connection,
                config.statements.clone(),
                config.batch_statements.clone(),
                config.connections,
                config.max_response_bytes,
            )?)),
            (None, Some(base)) => {
                Executor::Http(http::HttpOrigin::new(base, config.max_response_bytes)?)
            }
            _ => return Err(format!("origin `{}`: no kind", config.name)),
        };
        Ok(Origin {
            config,
            executor,
            counters: OriginCounters::default(),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &OriginConfig {
        &self.config
    }

    /// `postgres` or `http`.
    pub fn kind(&self) -> &'static str {
        match self.executor {
            Executor::Postgres(_) => "postgres",
            Executor::Http(_) => "http",
        }
    }

    /// Runs one request within the origin's hard timeout. A request of the
    /// other kind (SQL for an HTTP origin) is refused. Takes the request so
    /// an HTTP body goes out without a copy.
    pub async fn execute(&self, request: OriginRequest) -> Result<OriginResponse, OriginError> {
        let mut span = crate::observe::trace::child(match self.executor {
            Executor::Postgres(_) => "origin postgres",
            Executor::Http(_) => "origin http",
        });
        if let Some(span) = &mut span {
            let what = match &request {
                OriginRequest::Sql { statement, .. } => statement.clone(),
                OriginRequest::Http { method, .. } => method.as_str().to_owned(),
            };
            span.attr(
                "hoard.origin",
                crate::observe::trace::Value::Str(self.config.name.clone()),
            );
            span.attr(
                "hoard.origin.request",
                crate::observe::trace::Value::Str(what),
            );
        }
        let started = Instant::now();
        let timeout = Duration::from_millis(self.config.timeout_ms);
        let call = async {
            match (&self.executor, request) {
                (Executor::Postgres(pg), OriginRequest::Sql { statement, params }) => {
                    pg.run(&statement, &params).await
                }
                (
                    Executor::Http(origin),
                    OriginRequest::Http {
                        method,
                        path,
                        headers,
                        body,
                    },
                ) => origin.send(method, &path, &headers, body).await,
                (_, request) => Err(self.wrong_kind(&request)),
            }
        };
        let timed_out = || OriginError::Timeout(self.config.timeout_ms);
        let answer = crate::timeout::within(timeout, timed_out, call).await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.counters
            .latency_us_sum
            .fetch_add(micros, Ordering::Relaxed);
        self.counters.latency_count.fetch_add(1, Ordering::Relaxed);
        if answer.is_err() {
            self.counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(span) = &mut span {
            use crate::observe::trace::Value;
            match &answer {
                Ok(_) => span.attr("hoard.outcome", Value::Str("ok".into())),
                Err(error) => {
                    span.attr("hoard.outcome", Value::Str("error".into()));
                    span.attr("hoard.error", Value::Str(error.to_string()));
                    span.fail();
                }
            }
        }
        answer
    }

    /// Runs a batch of writes (write-behind), each answer read with
    /// [`Origin::write_outcome`]. On PostgreSQL the batch is one transaction
    /// on the writer connection; over HTTP the requests go concurrently.
    /// `Err` means the origin could not be reached at all (or the batch
    /// outlived the hard timeout): nothing can be said of any single write.
    pub async fn execute_writes(
        &self,
        requests: Vec<OriginRequest>,
    ) -> Result<Vec<Result<(), OriginError>>, OriginError> {
        let started = Instant::now();
        let timeout = Duration::from_millis(self.config.timeout_ms);
        let count = requests.len();
        let call = async {
            match &self.executor {
                Executor::Postgres(pg) => {
                    let mut sql = Vec::with_capacity(count);
                    let mut slots = Vec::with_capacity(count);
                    let mut answers: Vec<Option<Result<(), OriginError>>> = vec![None; count];
                    for (i, request) in requests.into_iter().enumerate() {
                        match request {
                            OriginRequest::Sql { statement, params } => {
                                sql.push((statement, params));
                                slots.push(i);
                            }
                            other => answers[i] = Some(Err(self.wrong_kind(&other))),
                        }
                    }
                    let ran = pg.run_batch(&sql).await?;
                    self.counters
                        .batch_calls
                        .fetch_add(ran.batch_calls, Ordering::Relaxed);
                    if ran.fell_back {
                        self.counters
                            .batch_fallbacks
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    for (i, answer) in slots.into_iter().zip(ran.answers) {
                        answers[i] = Some(answer.and_then(|r| Origin::write_outcome(&r)));
                    }
                    Ok(answers
                        .into_iter()
                        .map(|a| a.unwrap_or_else(|| Err(OriginError::Unavailable("lost".into()))))
                        .collect())
                }
                Executor::Http(_) => {
                    let answers = futures_util::future::join_all(requests.into_iter().map(
                        |request| async move {
                            let response = self.execute(request).await?;
                            Origin::write_outcome(&response).inspect_err(|_| {
                                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                            })
                        },
                    ))
                    .await;
                    // Every request failed to connect: the origin is down.
                    if let Some(Err(down @ OriginError::Unreachable(_))) = answers.first()
                        && answers
                            .iter()
                            .all(|a| matches!(a, Err(OriginError::Unreachable(_))))
                    {
                        return Err(down.clone());
                    }
                    Ok(answers)
                }
            }
        };
        let timed_out = || OriginError::Timeout(self.config.timeout_ms);
        let answer = crate::timeout::within(timeout, timed_out, call).await;
        let ok = answer
            .as_ref()
            .map_or(0, |a| a.iter().filter(|a| a.is_ok()).count() as u64);
        self.counters.writes.fetch_add(ok, Ordering::Relaxed);
        // HTTP requests were timed and counted one by one by `execute`.
        if matches!(self.executor, Executor::Postgres(_)) {
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.counters
                .latency_us_sum
                .fetch_add(micros, Ordering::Relaxed);
            self.counters.latency_count.fetch_add(1, Ordering::Relaxed);
            self.counters
                .errors
                .fetch_add(count as u64 - ok, Ordering::Relaxed);
        }
        answer
    }

    fn wrong_kind(&self, request: &OriginRequest) -> OriginError {
        OriginError::Refused(format!(
            "origin `{}` is {}, the mapping asked for {}",
            self.config.name,
            self.kind(),
            request.kind()
        ))
    }

    /// What a write's response means: HTTP 4xx is a refusal, 5xx an
    /// outage; SQL errors were classified when they happened.
    pub fn write_outcome(response: &OriginResponse) -> Result<(), OriginError> {
        match response {
            OriginResponse::Http { status, body, .. } if *status >= 500 => Err(
                OriginError::Unavailable(format!("HTTP {status}: {}", snippet(body))),
            ),
            OriginResponse::Http { status, body, .. } if *status >= 300 => Err(
                OriginError::Refused(format!("HTTP {status}: {}", snippet(body))),
            ),
            _ => Ok(()),
        }
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The origins of one tenant, by the definition that uses them.
#[derive(Default)]
pub struct Origins {
    by_definition: HashMap<String, Arc<Origin>>,
    all: Vec<Arc<Origin>>,
}

impl Origins {
    /// Builds the tenant's origins; a definition named by two origins, or
    /// an origin that does not check, is a configuration error.
    pub fn new(configs: &[OriginConfig]) -> Result<Origins, String> {
        let mut origins = Origins::default();
        for config in configs {
            let origin = Arc::new(Origin::new(config.clone())?);
            for definition in &config.definitions {
                if let Some(other) = origins
                    .by_definition
                    .insert(definition.clone(), Arc::clone(&origin))
                {
                    return Err(format!(
                        "definition `{definition}` is given two origins: `{}` and `{}`",
                        other.config.name, config.name
                    ));
                }
            }
            origins.all.push(origin);
        }
        Ok(origins)
    }

    /// The origin called `name` (write-behind routes queued writes by it).
    pub fn by_name(&self, name: &str) -> Option<&Arc<Origin>> {
        self.all.iter().find(|o| o.config.name == name)
    }

    /// The origin of definition `name`, if it has one.
    pub fn for_definition(&self, name: &str) -> Option<&Arc<Origin>> {
        self.by_definition.get(name)
    }

    /// Every origin (for `INFO`).
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Origin>> {
        self.all.iter()
    }

    /// Whether none is configured.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}
