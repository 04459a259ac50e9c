//! Spans for OpenTelemetry: one per command (kind SERVER), children for
//! each plugin export call and L1 operation (kind INTERNAL), with the
//! outcome as an attribute. Finished spans queue here; `otlp` sends them.
//!
//! Free when off: without `[tracing] otlp_endpoint` the tracer is never
//! installed and every hook is one relaxed load of a flag. When on, a command
//! that is not sampled costs one random draw. The current span travels in a
//! task-local through the command's future, and into tokio's blocking pool
//! (where plugin calls run) through a thread-local set by [`enter`].

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

static ENABLED: AtomicBool = AtomicBool::new(false);
static TRACER: OnceLock<Tracer> = OnceLock::new();

tokio::task_local! {
    static CURRENT: SpanContext;
}

thread_local! {
    static ENTERED: Cell<Option<SpanContext>> = const { Cell::new(None) };
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// Which trace a span belongs to and its own id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanContext {
    /// 128-bit trace id.
    pub trace_id: u128,
    /// 64-bit span id.
    pub span_id: u64,
}

/// OTLP span kinds hoard uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A command a client sent.
    Server,
    /// Work inside a command.
    Internal,
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// A number.
    Int(i64),
}

/// A finished span, waiting to be exported.
#[derive(Debug, Clone)]
pub struct SpanRecord {
    /// Trace and span id.
    pub context: SpanContext,
    /// Parent span, if any.
    pub parent: Option<u64>,
    /// Name (`CACHE.GET`, `plugin validate`, `l1 get`).
    pub name: &'static str,
    /// Kind.
    pub kind: Kind,
    /// Start, Unix nanoseconds.
    pub start_unix_ns: u64,
    /// End, Unix nanoseconds.
    pub end_unix_ns: u64,
    /// Attributes.
    pub attributes: Vec<(&'static str, Value)>,
    /// Whether it ended in error.
    pub error: bool,
}

/// The installed tracer: sampling threshold and the queue of finished spans.
pub(crate) struct Tracer {
    /// Sample when a random u64 is below this (`u64::MAX` = always).
    threshold: u64,
    max_queued: usize,
    pub(crate) queue: Mutex<Vec<SpanRecord>>,
    pub(crate) dropped: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) export_failures: AtomicU64,
}

/// Installs the tracer (once per process); spans are sampled at `ratio`.
pub(crate) fn install(ratio: f64, max_queued: usize) -> &'static Tracer {
    let ratio = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let threshold = if ratio >= 1.0 {
        u64::MAX
    } else {
        (ratio * u64::MAX as f64) as u64
    };
    let tracer = TRACER.get_or_init(|| Tracer {
        threshold,
        max_queued: max_queued.max(1),
        queue: Mutex::new(Vec::new()),
        dropped: AtomicU64::new(0),
        exported: AtomicU64::new(0),
        export_failures: AtomicU64::new(0),
    });
    ENABLED.store(true, Ordering::Release);
    tracer
}

/// The tracer, when tracing is on.
pub(crate) fn tracer() -> Option<&'static Tracer> {
    if ENABLED.load(Ordering::Relaxed) {
        TRACER.get()
    } else {
        None
    }
}

/// A span being timed. Recorded when [`Span::end`] is called or it drops.
#[derive(Debug)]
pub struct Span {
    record: Option<SpanRecord>,
    started: Instant,
}

impl Span {
    /// This span's context, to run work under it.
    pub fn context(&self) -> Option<SpanContext> {
        self.record.as_ref().map(|r| r.context)
    }

    /// Adds an attribute.
    pub fn attr(&mut self, key: &'static str, value: Value) {
        if let Some(record) = &mut self.record {
            record.attributes.push((key, value));
        }
    }

    /// Marks the span as failed.
    pub fn fail(&mut self) {
        if let Some(record) = &mut self.record {
            record.error = true;
        }
    }

    /// Ends the span now.
    pub fn end(self) {
        drop(self);
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        let Some(mut record) = self.record.take() else {
            return;
        };
        let elapsed = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        record.end_unix_ns = record.start_unix_ns.saturating_add(elapsed);
        if let Some(tracer) = TRACER.get() {
            let mut queue = tracer.queue.lock();
            if queue.len() < tracer.max_queued {
                queue.push(record);
            } else {
                tracer.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A fast per-thread random number (splitmix64 seeded from the OS).
fn random() -> u64 {
    RNG.with(|cell| {
        let mut state = cell.get();
        if state == 0 {
            state = getrandom::u64().unwrap_or(0x9E37_79B9_7F4A_7C15) | 1;
        }
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        cell.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

fn new_span_id() -> u64 {
    random().max(1)
}

/// A root span for a command, if tracing is on and this command is sampled.
pub fn root(name: &'static str) -> Option<Span> {
    let tracer = tracer()?;
    if tracer.threshold != u64::MAX && random() >= tracer.threshold {
        return None;
    }
    let trace_id = (u128::from(random()) << 64 | u128::from(random())).max(1);
    Some(Span {
        record: Some(SpanRecord {
            context: SpanContext {
                trace_id,
                span_id: new_span_id(),
            },
            parent: None,
            name,
            kind: Kind::Server,
            start_unix_ns: unix_ns(),
            end_unix_ns: 0,
            attributes: Vec::new(),
            error: false,
        }),
        started: Instant::now(),
    })
}

/// The span work on this thread or task runs under, if any.
pub fn current() -> Option<SpanContext> {
    if !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    ENTERED
        .with(Cell::get)
        .or_else(|| CURRENT.try_with(|c| *c).ok())
}

/// A child of the current span, or `None` (no tracing, not sampled).
pub fn child(name: &'static str) -> Option<Span> {
    let parent = current()?;
    Some(Span {
        record: Some(SpanRecord {
            context: SpanContext {
                trace_id: parent.trace_id,
                span_id: new_span_id(),
            },
            parent: Some(parent.span_id),
            name,
            kind: Kind::Internal,
            start_unix_ns: unix_ns(),
            end_unix_ns: 0,
            attributes: Vec::new(),
            error: false,
        }),
        started: Instant::now(),
    })
}

/// Runs `future` with `context` as its current span.
pub async fn scope<F: Future>(context: SpanContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

/// Makes `context` current on this thread until the guard drops (for work
/// moved to the blocking pool).
pub fn enter(context: Option<SpanContext>) -> Entered {
    let previous = match context {
        Some(c) => ENTERED.with(|cell| cell.replace(Some(c))),
        None => None,
    };
    Entered {
        active: context.is_some(),
        previous,
    }
}

/// Restores the thread's previous span when dropped.
#[must_use]
pub struct Entered {
    active: bool,
    previous: Option<SpanContext>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        if self.active {
            ENTERED.with(|cell| cell.set(self.previous));
        }
    }
}
