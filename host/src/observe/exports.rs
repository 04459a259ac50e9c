//! Time spent in each plugin export, per loaded plugin: what the admin page
//! shows as p99 per export and `/metrics` as
//! `hoard_plugin_call_duration_seconds{export=...}`. The export names are
//! the contract's, so the label set is fixed.

use std::time::{Duration, Instant};

use super::histogram::Histogram;
use super::trace;

/// The timed exports of `hoard:definition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// `generate-key`.
    GenerateKey,
    /// `validate`.
    Validate,
    /// `on-event`.
    OnEvent,
    /// The `origin` mapping (`load-request`, `load-response`, `write-request`).
    OriginMap,
}

impl Export {
    /// Every timed export.
    pub const ALL: [Export; 4] = [
        Export::GenerateKey,
        Export::Validate,
        Export::OnEvent,
        Export::OriginMap,
    ];

    /// The export's name in the WIT contract.
    pub fn name(self) -> &'static str {
        match self {
            Export::GenerateKey => "generate-key",
            Export::Validate => "validate",
            Export::OnEvent => "on-event",
            Export::OriginMap => "origin",
        }
    }

    fn span_name(self) -> &'static str {
        match self {
            Export::GenerateKey => "plugin generate-key",
            Export::Validate => "plugin validate",
            Export::OnEvent => "plugin on-event",
            Export::OriginMap => "plugin origin",
        }
    }
}

/// One histogram per export.
#[derive(Debug, Default)]
pub struct ExportTimes {
    times: [Histogram; 4],
}

impl ExportTimes {
    /// The histogram of `export`.
    pub fn of(&self, export: Export) -> &Histogram {
        &self.times[export as usize]
    }

    /// Runs `call` (one export call), timing it when metrics are on and
    /// tracing it as a child span when the command is traced. `Err` marks
    /// the span failed.
    pub fn time<T, E: std::fmt::Display>(
        &self,
        export: Export,
        cache: &str,
        call: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let timed = super::metrics_enabled();
        let mut span = trace::child(export.span_name());
        if !timed && span.is_none() {
            return call();
        }
        let started = Instant::now();
        let result = call();
        let elapsed: Duration = started.elapsed();
        if timed {
            self.of(export).record(elapsed);
        }
        if let Some(span) = &mut span {
            span.attr("hoard.export", trace::Value::Str(export.name().to_owned()));
            span.attr("hoard.cache", trace::Value::Str(cache.to_owned()));
            span.attr(
                "hoard.plugin.time_us",
                trace::Value::Int(i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)),
            );
            match &result {
                Ok(_) => span.attr("hoard.outcome", trace::Value::Str("ok".into())),
                Err(error) => {
                    span.attr("hoard.outcome", trace::Value::Str("fault".into()));
                    span.attr("hoard.error", trace::Value::Str(error.to_string()));
                    span.fail();
                }
            }
        }
        result
    }
}
