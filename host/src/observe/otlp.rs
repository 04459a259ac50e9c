//! Sends finished spans to an OpenTelemetry collector over OTLP/HTTP with
//! protobuf bodies (`POST /v1/traces`, `application/x-protobuf`).
//!
//! The messages are few and stable (`ExportTraceServiceRequest` down to
//! `Span`, `KeyValue`, `AnyValue`, `Status`), so they are encoded here by
//! hand rather than pulling in a protobuf code generator and the SDK; the
//! tests decode what hoard sends with the `opentelemetry-proto` crate. A
//! collector that is down costs a failed send per interval, counted, and the
//! batch is dropped: tracing never backs up into the command path.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::trace::{Kind, SpanRecord, Tracer, Value};

/// An `http://host:port/path` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` to connect to.
    pub authority: String,
    /// Path and query.
    pub path: String,
}

/// Why an endpoint was not accepted.
#[derive(Debug, thiserror::Error)]
#[error(
    "OTLP endpoint {0:?} must look like http://host:port/v1/traces (https is not supported; use a local collector)"
)]
pub struct EndpointError(String);

impl Endpoint {
    /// Parses `http://host[:port][/path]`; the path defaults to `/v1/traces`
    /// and the port to 4318, as OTLP/HTTP does.
    pub fn parse(url: &str) -> Result<Endpoint, EndpointError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| EndpointError(url.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/v1/traces"),
        };
        if authority.is_empty() {
            return Err(EndpointError(url.to_owned()));
        }
        let authority = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_owned()
        } else {
            format!("{authority}:4318")
        };
        let path = if path == "/" { "/v1/traces" } else { path };
        Ok(Endpoint {
            authority,
            path: path.to_owned(),
        })
    }
}

/// Drains the tracer's queue every `interval` and posts the batch.
pub(crate) async fn export_loop(
    tracer: &'static Tracer,
    endpoint: Endpoint,
    service_name: String,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = ticker.tick() => false,
            _ = stop.changed() => true,
        };
        let batch = std::mem::take(&mut *tracer.queue.lock());
        if !batch.is_empty() {
            let body = encode_request(&service_name, &batch);
            match post(&endpoint, body).await {
                Ok(()) => {
                    tracer
                        .exported
                        .fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
                Err(error) => {
                    tracer
                        .export_failures
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(%error, spans = batch.len(), "trace export failed; batch dropped");
                }
            }
        }
        if stopping {
            break;
        }
    }
}

async fn post(endpoint: &Endpoint, body: Vec<u8>) -> anyhow::Result<()> {
    let send = async {
        let stream = tokio::net::TcpStream::connect(&endpoint.authority).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(connection);
        let request = hyper::Request::post(&endpoint.path)
            .header(hyper::header::HOST, &endpoint.authority)
            .header(hyper::header::CONTENT_TYPE, "application/x-protobuf")
            .body(Full::new(Bytes::from(body)))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let _ = response.into_body().collect().await;
        driver.abort();
        if !status.is_success() {
            anyhow::bail!("collector answered {status}");
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(5), send)
        .await
        .map_err(|_| anyhow::anyhow!("collector did not answer within 5 s"))?
}

/// `ExportTraceServiceRequest` with one resource (`service.name`) and one
/// scope (`hoard`).
pub fn encode_request(service_name: &str, spans: &[SpanRecord]) -> Vec<u8> {
    let mut resource = Vec::new();
    key_value(
        &mut resource,
        1,
        "service.name",
        &Value::Str(service_name.to_owned()),
    );

    let mut scope = Vec::new();
    string(&mut scope, 1, "hoard");
    string(&mut scope, 2, env!("CARGO_PKG_VERSION"));

    let mut scope_spans = Vec::new();
    message(&mut scope_spans, 1, &scope);
    for span in spans {
        message(&mut scope_spans, 2, &encode_span(span));
    }

    let mut resource_spans = Vec::new();
    message(&mut resource_spans, 1, &resource);
    message(&mut resource_spans, 2, &scope_spans);

    let mut request = Vec::new();
    message(&mut request, 1, &resource_spans);
    request
}

fn encode_span(span: &SpanRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    bytes_field(&mut out, 1, &span.context.trace_id.to_be_bytes());
    bytes_field(&mut out, 2, &span.context.span_id.to_be_bytes());
    if let Some(parent) = span.parent {
        bytes_field(&mut out, 4, &parent.to_be_bytes());
    }
    string(&mut out, 5, span.name);
    varint_field(
        &mut out,
        6,
        match span.kind {
            Kind::Internal => 1,
            Kind::Server => 2,
        },
    );
    fixed64_field(&mut out, 7, span.start_unix_ns);
    fixed64_field(&mut out, 8, span.end_unix_ns);
    for (key, value) in &span.attributes {
        key_value(&mut out, 9, key, value);
    }
    let mut status = Vec::new();
    // STATUS_CODE_OK = 1, STATUS_CODE_ERROR = 2.
    varint_field(&mut status, 3, if span.error { 2 } else { 1 });
    message(&mut out, 15, &status);
    out
}

fn key_value(out: &mut Vec<u8>, field: u32, key: &str, value: &Value) {
    let mut any = Vec::new();
    match value {
        Value::Str(s) => string(&mut any, 1, s),
        Value::Int(n) => varint_field(&mut any, 3, *n as u64),
    }
    let mut kv = Vec::new();
    string(&mut kv, 1, key);
    message(&mut kv, 2, &any);
    message(out, field, &kv);
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn varint_field(out: &mut Vec<u8>, field: u32, n: u64) {
    tag(out, field, 0);
    varint(out, n);
}

fn fixed64_field(out: &mut Vec<u8>, field: u32, n: u64) {
    tag(out, field, 1);
    out.extend_from_slice(&n.to_le_bytes());
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    tag(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn string(out: &mut Vec<u8>, field: u32, s: &str) {
    bytes_field(out, field, s.as_bytes());
}

fn message(out: &mut Vec<u8>, field: u32, body: &[u8]) {
    bytes_field(out, field, body);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_default_port_and_path() {
        let e = Endpoint::parse("http://127.0.0.1:4318/v1/traces").unwrap();
        assert_eq!(e.authority, "127.0.0.1:4318");
        assert_eq!(e.path, "/v1/traces");
        let e = Endpoint::parse("http://collector").unwrap();
        assert_eq!(e.authority, "collector:4318");
        assert_eq!(e.path, "/v1/traces");
        assert!(Endpoint::parse("https://x:4318").is_err());
        assert!(Endpoint::parse("http:///v1/traces").is_err());
    }

    #[test]
    fn varints_are_little_endian_base_128() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xAC, 0x02]);
    }
}
