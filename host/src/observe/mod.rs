//! Seeing inside a running hoard: Prometheus metrics, OpenTelemetry traces
//! and the admin page, all off unless configured.
//!
//! Most figures already exist as counters of the store and the plugin pool
//! (`CACHE.INFO`'s hits, items, faults, quarantines...); `metrics` reads
//! them at scrape time, so the data path pays nothing for them. What did
//! not exist is recorded by a few hooks that cost a handful of relaxed
//! atomic adds: [`CommandProbe`] around each command in `cmd::dispatch`,
//! [`ExportTimes::time`] around each plugin export call, [`ReloadLog`] in
//! the lifecycle. Traces (`trace`, `otlp`) hang off the same hooks.
//!
//! The HTTP admin listener (`http`) serves `/metrics`, the page at `/`
//! (`page/`, embedded in the binary) and its JSON at `/api/state`.

mod commands;
mod exports;
mod histogram;
mod http;
pub mod language;
mod metrics;
pub mod otlp;
mod reloads;
mod state;
pub mod striped;
pub mod trace;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use hoard_resp::Frame;

pub use exports::{Export, ExportTimes};
pub use histogram::{Histogram, Snapshot};
pub use metrics::{TenantFigures, render as render_metrics, render_figures};
pub use reloads::{ReloadLog, ReloadRecord};

use crate::config::Config;
use crate::tenant::Tenant;

static METRICS: AtomicBool = AtomicBool::new(false);

/// Whether command and export times are being recorded.
pub fn metrics_enabled() -> bool {
    METRICS.load(Ordering::Relaxed)
}

/// Turns recording of command and export times on or off (the server does
/// this from `[metrics] enabled`; benches and tests may too).
pub fn set_metrics_enabled(on: bool) {
    METRICS.store(on, Ordering::Relaxed);
}

/// Times one command and, when it is sampled, traces it.
pub struct CommandProbe {
    command: usize,
    started: Instant,
    timed: bool,
    span: Option<trace::Span>,
}

impl CommandProbe {
    /// Starts timing the command `args` (name first); `None` when neither
    /// metrics nor tracing are on, so the caller can skip everything.
    pub fn start(args: &[Bytes]) -> Option<CommandProbe> {
        let timed = metrics_enabled();
        let traced = trace::tracer().is_some();
        if !timed && !traced {
            return None;
        }
        let command = commands::command_index(args.first().map_or(&[][..], |a| &a[..]));
        let mut span = if traced {
            trace::root(commands::COMMANDS[command])
        } else {
            None
        };
        if let Some(span) = &mut span {
            span.attr("db.system.name", trace::Value::Str("hoard".to_owned()));
            span.attr(
                "hoard.command",
                trace::Value::Str(commands::COMMANDS[command].to_owned()),
            );
            if commands::COMMANDS[command].starts_with("CACHE.")
                && let Some(cache) = args.get(1)
            {
                span.attr(
                    "hoard.cache",
                    trace::Value::Str(
                        String::from_utf8_lossy(&cache[..cache.len().min(128)]).into_owned(),
                    ),
                );
            }
        }
        Some(CommandProbe {
            command,
            started: Instant::now(),
            timed,
            span,
        })
    }

    /// The span to run the command under, when it is traced.
    pub fn context(&self) -> Option<trace::SpanContext> {
        self.span.as_ref().and_then(trace::Span::context)
    }

    /// Records the command's time and outcome (from its reply).
    pub fn finish(self, reply: &Frame, tenant: Option<&str>) {
        let outcome = commands::outcome_index(reply);
        if self.timed {
            commands::record(self.command, outcome, self.started.elapsed());
        }
        if let Some(mut span) = self.span {
            span.attr(
                "hoard.outcome",
                trace::Value::Str(commands::OUTCOMES[outcome].to_owned()),
            );
            if let Some(tenant) = tenant.filter(|t| !t.is_empty()) {
                span.attr("hoard.tenant", trace::Value::Str(tenant.to_owned()));
            }
            if outcome >= 2 {
                span.fail();
            }
            span.end();
        }
    }
}

/// What the admin listener and the exporter need from the server.
pub struct Setup {
    /// Every tenant.
    pub tenants: Vec<Arc<Tenant>>,
    /// Whether tenants are configured (then every request needs a login).
    pub multi_tenant: bool,
    /// The admin credential (`AUTH admin`), if set.
    pub admin_credential: Option<Arc<crate::credential::Credential>>,
    /// When the server started.
    pub started: Instant,
}

/// The running observability tasks; stop them with [`Observer::stop`].
pub struct Observer {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Where the admin listener is bound, if it runs.
    pub admin_addr: Option<SocketAddr>,
}

impl Observer {
    /// Stops the listener, the sampler and the exporter (sending what is queued).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

/// Starts what `config` asks for: metric recording, the trace exporter,
/// the admin listener (and its history sampler). Call inside the runtime.
pub async fn start(config: &Config, setup: Setup) -> anyhow::Result<Observer> {
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    set_metrics_enabled(config.metrics.enabled);
    if let Some(url) = &config.tracing.otlp_endpoint {
        let endpoint = otlp::Endpoint::parse(url)?;
        let tracer = trace::install(config.tracing.sample_ratio, config.tracing.max_queued_spans);
        tracing::info!(endpoint = %url, sample_ratio = config.tracing.sample_ratio, "sending traces over OTLP/HTTP");
        tasks.push(tokio::spawn(otlp::export_loop(
            tracer,
            endpoint,
            config.tracing.service_name.clone(),
            Duration::from_millis(config.tracing.export_interval_ms),
            stop_rx.clone(),
        )));
    }
    let mut admin_addr = None;
    if let Some(addr) = config.admin.http {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the admin listener on {addr}"))?;
        let local = listener
            .local_addr()
            .context("reading the admin listener's address")?;
        admin_addr = Some(local);
        let shared = Arc::new(http::Shared::new(setup));
        tasks.push(tokio::spawn(state::sample_history(
            Arc::clone(&shared),
            Duration::from_secs(1),
            stop_rx.clone(),
        )));
        tasks.push(tokio::spawn(http::serve(listener, shared, stop_rx)));
    }
    Ok(Observer {
        stop,
        tasks,
        admin_addr,
    })
}
