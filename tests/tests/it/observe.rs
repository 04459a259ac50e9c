//! Seeing inside a running hoard: `/metrics` read by a real Prometheus text
//! parser, traces received by an OTLP/HTTP receiver and decoded with
//! `opentelemetry-proto`, and the admin page opened in headless Chromium.
//! Every test starts the real binary with the admin listener on port 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use hoard_tests::{
    ADMIN_PASSWORD, ADMIN_PASSWORD_SHA256, Server, ServerOptions, eventually, plugin_artifact,
    plugin_dir, workspace_root,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// One HTTP/1.1 GET with an optional Basic credential: (status, body).
fn http_get(addr: &str, path: &str, auth: Option<(&str, &str)>) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some((user, password)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad response {response:?}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn admin(server: &Server) -> Result<&str> {
    server
        .admin
        .as_deref()
        .context("the server printed no admin address")
}

fn scrape(server: &Server, auth: Option<(&str, &str)>) -> Result<prometheus_parse::Scrape> {
    let (status, body) = http_get(admin(server)?, "/metrics", auth)?;
    if status != 200 {
        bail!("/metrics answered {status}: {body}");
    }
    Ok(prometheus_parse::Scrape::parse(
        body.lines().map(|l| Ok(l.to_owned())),
    )?)
}

fn number(value: &prometheus_parse::Value) -> f64 {
    match value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => *v,
        prometheus_parse::Value::Histogram(buckets) => {
            buckets.iter().map(|b| b.count).fold(0.0, f64::max)
        }
        prometheus_parse::Value::Summary(_) => f64::NAN,
    }
}

/// The value of `metric` whose labels include all of `labels` (0 if absent).
fn value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map_or(0.0, |s| number(&s.value))
}

/// Every (metric, labels) series in a scrape, as text.
fn series(scrape: &prometheus_parse::Scrape) -> BTreeSet<String> {
    scrape
        .samples
        .iter()
        .map(|s| {
            let mut labels: Vec<String> =
                s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            format!("{}{{{}}}", s.metric, labels.join(","))
        })
        .collect()
}

fn start_with_admin(extra: &str, plugins: Option<&Path>) -> Result<Server> {
    Server::start_with(ServerOptions {
        plugins: plugins.map(Path::to_path_buf),
        config: Some(format!("[admin]\nhttp = \"127.0.0.1:0\"\n{extra}")),
        ..Default::default()
    })
}

#[test]
fn metrics_parse_and_move_as_cache_commands_run() -> Result<()> {
    let server = start_with_admin("", None)?;
    let mut con = server.client()?;
    let before = scrape(&server, None)?;
    let get = |s: &prometheus_parse::Scrape, outcome: &str| {
        value(
            s,
            "hoard_cache_operations_total",
            &[
                ("cache", "UserCache"),
                ("operation", "get"),
                ("outcome", outcome),
            ],
        )
    };
    let user = r#"{"id":"u1","email":"u1@example.com","name":"One"}"#;
    let _: () = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(user)
        .arg("u1")
        .query(&mut con)?;
    for _ in 0..3 {
        let _: Option<String> = redis::cmd("CACHE.GET")
            .arg("UserCache")
            .arg("u1")
            .query(&mut con)?;
    }
    let _: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("nobody")
        .query(&mut con)?;
    let refused = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(r#"{"id":"u2"}"#)
        .arg("u2")
        .query::<()>(&mut con);
    assert!(refused.is_err(), "an invalid value must be refused");

    let after = scrape(&server, None)?;
    assert_eq!(get(&after, "hit") - get(&before, "hit"), 3.0);
    assert_eq!(get(&after, "miss") - get(&before, "miss"), 1.0);
    let stored = [
        ("cache", "UserCache"),
        ("operation", "set"),
        ("outcome", "stored"),
    ];
    let rejected = [
        ("cache", "UserCache"),
        ("operation", "set"),
        ("outcome", "rejected"),
    ];
    assert_eq!(value(&after, "hoard_cache_operations_total", &stored), 1.0);
    assert_eq!(
        value(&after, "hoard_cache_operations_total", &rejected),
        1.0
    );
    assert_eq!(
        value(&after, "hoard_cache_items", &[("cache", "UserCache")]),
        1.0
    );
    assert!(value(&after, "hoard_cache_bytes", &[("cache", "UserCache")]) > 0.0);
    let calls = |s| value(s, "hoard_plugin_calls_total", &[("cache", "UserCache")]);
    assert!(calls(&after) > calls(&before), "plugin calls did not move");
    // Latency histograms: per command and outcome, and per plugin export.
    let count = |s: &prometheus_parse::Scrape, outcome: &str| {
        value(
            s,
            "hoard_command_duration_seconds_count",
            &[("command", "CACHE.GET"), ("outcome", outcome)],
        )
    };
    assert_eq!(count(&after, "ok") - count(&before, "ok"), 3.0);
    assert_eq!(count(&after, "miss") - count(&before, "miss"), 1.0);
    let validate = [("cache", "UserCache"), ("export", "validate")];
    assert_eq!(
        value(
            &after,
            "hoard_plugin_call_duration_seconds_count",
            &validate
        ),
        2.0,
        "two CACHE.SETs, two validate calls"
    );
    let buckets = after
        .samples
        .iter()
        .find(|s| {
            s.metric == "hoard_plugin_call_duration_seconds"
                && s.labels.get("export") == Some("validate")
                && s.labels.get("cache") == Some("UserCache")
        })
        .context("no validate histogram")?;
    match &buckets.value {
        prometheus_parse::Value::Histogram(b) => {
            assert!(b.len() > 10, "{b:?}");
            assert_eq!(
                b.last().map(|c| c.count),
                Some(2.0),
                "+Inf holds every call"
            );
        }
        other => bail!("validate time is not a histogram: {other:?}"),
    }
    assert_eq!(value(&after, "hoard_connections", &[]), 1.0);
    Ok(())
}

#[test]
fn label_sets_stay_bounded_whatever_keys_clients_use() -> Result<()> {
    let server = start_with_admin("", None)?;
    let mut con = server.client()?;
    // Touch every kind of series once, then count them.
    let round = |con: &mut redis::Connection, from: usize, to: usize| -> Result<()> {
        let mut pipe = redis::pipe();
        for i in from..to {
            let key = format!("key-{i}");
            pipe.cmd("CACHE.GET")
                .arg("UserPermissions")
                .arg(&key)
                .ignore();
            pipe.cmd("SET").arg(&key).arg("v").ignore();
            pipe.cmd("GET").arg(&key).ignore();
            pipe.cmd(format!("NOSUCH-{i}").as_str()).ignore();
        }
        // Unknown commands answer errors; the pipeline still runs all of them.
        let _ = pipe.query::<()>(con);
        Ok(())
    };
    round(&mut con, 0, 10)?;
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(1)
        .arg("warm")
        .query::<()>(&mut con)?;
    let first = series(&scrape(&server, None)?);
    for chunk in (10..100_000).step_by(5_000) {
        round(&mut con, chunk, chunk + 5_000)?;
    }
    // And a million distinct plain keys, written server-side.
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(1_000_000)
        .arg("key")
        .query::<()>(&mut con)?;
    let body = http_get(admin(&server)?, "/metrics", None)?.1;
    let last = series(&scrape(&server, None)?);
    assert_eq!(
        first.symmetric_difference(&last).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "a million keys and 100k command names added series"
    );
    assert!(!body.contains("key-"), "a key became a label");
    assert!(!body.contains("NOSUCH"), "a command name became a label");
    let after = scrape(&server, None)?;
    assert!(
        value(
            &after,
            "hoard_command_duration_seconds_count",
            &[("command", "other")]
        ) >= 100_000.0
    );
    // The plain keyspace holds at most its default million items.
    assert!(value(&after, "hoard_cache_items", &[("cache", "@plain")]) >= 990_000.0);
    Ok(())
}

/// A small OTLP/HTTP receiver: answers 200 to every POST and hands the
/// decoded requests to the test.
struct Receiver {
    addr: String,
    requests: mpsc::Receiver<ExportTraceServiceRequest>,
}

fn start_receiver() -> Result<Receiver> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let (tx, requests) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let tx = tx.clone();
            std::thread::spawn(move || serve_otlp(stream, &tx));
        }
    });
    Ok(Receiver { addr, requests })
}

fn serve_otlp(stream: TcpStream, tx: &mpsc::Sender<ExportTraceServiceRequest>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = hoard_tests::http1::read_request(&mut reader) {
        let post = request.method == "POST" && request.target == "/v1/traces";
        let protobuf = request
            .header("content-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("application/x-protobuf"));
        let body = request.body;
        let status = if post && protobuf {
            match ExportTraceServiceRequest::decode(&body[..]) {
                Ok(request) => {
                    let _ = tx.send(request);
                    "200 OK"
                }
                Err(_) => "400 Bad Request",
            }
        } else {
            "404 Not Found"
        };
        let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
        if reader.get_mut().write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            any_value::Value::IntValue(n) => Some(n.to_string()),
            other => Some(format!("{other:?}")),
        })
}

#[test]
fn traces_reach_an_otlp_receiver_with_parents_and_attributes() -> Result<()> {
    let receiver = start_receiver()?;
    let server = start_with_admin(
        &format!(
            "[tracing]\notlp_endpoint = \"http://{}/v1/traces\"\nexport_interval_ms = 50\nservice_name = \"hoard-under-test\"\n",
            receiver.addr
        ),
        None,
    )?;
    let mut con = server.client()?;
    let user = r#"{"id":"t1","email":"t1@example.com","name":"Traced"}"#;
    let _: () = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(user)
        .arg("t1")
        .query(&mut con)?;
    let hit: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("t1")
        .query(&mut con)?;
    assert!(hit.is_some());

    let mut spans: Vec<Span> = Vec::new();
    let mut service = None;
    let found = eventually(Duration::from_secs(20), || {
        while let Ok(request) = receiver.requests.try_recv() {
            for rs in request.resource_spans {
                if let Some(resource) = &rs.resource {
                    for kv in &resource.attributes {
                        if kv.key == "service.name" {
                            service = kv.value.clone();
                        }
                    }
                }
                for ss in rs.scope_spans {
                    spans.extend(ss.spans);
                }
            }
        }
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        Ok([
            "CACHE.SET",
            "CACHE.GET",
            "plugin validate",
            "l1 get",
            "l1 set",
        ]
        .iter()
        .all(|n| names.contains(n)))
    })?;
    assert!(
        found,
        "spans received: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert_eq!(
        service.and_then(|v| v.value),
        Some(any_value::Value::StringValue("hoard-under-test".into()))
    );
    let by_name = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let set = by_name("CACHE.SET");
    let get = by_name("CACHE.GET");
    // Commands are roots, of kind SERVER, with their outcome.
    for root in [set, get] {
        assert!(root.parent_span_id.is_empty(), "{} has a parent", root.name);
        assert_eq!(root.kind, 2, "SPAN_KIND_SERVER");
        assert_eq!(root.trace_id.len(), 16);
        assert_eq!(root.span_id.len(), 8);
        assert_eq!(attr(root, "hoard.cache").as_deref(), Some("UserCache"));
        assert_eq!(attr(root, "hoard.outcome").as_deref(), Some("ok"));
        assert!(root.end_time_unix_nano >= root.start_time_unix_nano);
    }
    assert_ne!(set.trace_id, get.trace_id, "each command is its own trace");
    // The plugin call ran on the blocking pool, yet is the SET's child.
    let validate = by_name("plugin validate");
    assert_eq!(validate.parent_span_id, set.span_id);
    assert_eq!(validate.trace_id, set.trace_id);
    assert_eq!(validate.kind, 1, "SPAN_KIND_INTERNAL");
    assert_eq!(attr(validate, "hoard.export").as_deref(), Some("validate"));
    assert_eq!(attr(validate, "hoard.outcome").as_deref(), Some("ok"));
    assert!(attr(validate, "hoard.plugin.time_us").is_some());
    assert!(validate.start_time_unix_nano >= set.start_time_unix_nano);
    assert!(validate.end_time_unix_nano <= set.end_time_unix_nano);
    let store = by_name("l1 set");
    assert_eq!(store.parent_span_id, set.span_id);
    let lookup = by_name("l1 get");
    assert_eq!(lookup.parent_span_id, get.span_id);
    assert_eq!(lookup.trace_id, get.trace_id);
    assert_eq!(attr(lookup, "hoard.outcome").as_deref(), Some("hit"));
    Ok(())
}

#[test]
fn unsampled_commands_send_no_spans() -> Result<()> {
    let receiver = start_receiver()?;
    let server = start_with_admin(
        &format!(
            "[tracing]\notlp_endpoint = \"http://{}\"\nexport_interval_ms = 20\nsample_ratio = 0.0\n",
            receiver.addr
        ),
        None,
    )?;
    let mut con = server.client()?;
    for i in 0..200 {
        let _: Option<String> = redis::cmd("CACHE.GET")
            .arg("UserCache")
            .arg(i)
            .query(&mut con)?;
    }
    // The exporter runs every 20 ms; the metrics below are read after it had
    // many chances to send.
    let exported = eventually(Duration::from_millis(500), || {
        Ok(receiver.requests.try_recv().is_ok())
    })?;
    assert!(!exported, "a span was sent at sample_ratio 0");
    let scraped = scrape(&server, None)?;
    assert_eq!(
        value(&scraped, "hoard_trace_spans_total", &[("fate", "exported")]),
        0.0
    );
    Ok(())
}

const ALPHA_PASSWORD: &str = "alpha-secret";
const BETA_PASSWORD: &str = "beta-secret";

fn sha256(text: &str) -> String {
    hoard::plugin::sha256_hex(text.as_bytes())
}

/// Headless Chromium: the DOM after scripts ran, or a screenshot.
fn chromium(args: &[&str], url: &str) -> Result<String> {
    let profile = tempfile::tempdir()?;
    let output = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .context("running chromium (scripts/toolchains installs it)")?;
    if !output.status.success() {
        bail!(
            "chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The text of the first element after `marker` in `html` (crude, enough
/// for the cells the page marks with a class).
fn cell_after<'a>(html: &'a str, marker: &str) -> Option<&'a str> {
    let start = html.find(marker)? + marker.len();
    let rest = &html[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(&rest[open..open + close])
}

#[test]
fn the_admin_page_shows_definitions_health_and_reloads_in_a_browser() -> Result<()> {
    let alpha = plugin_dir(&["user_cache", "fixture_trap"])?;
    let beta = plugin_dir(&["user_permissions"])?;
    let config = format!(
        r#"watch_plugins = false

[admin]
http = "127.0.0.1:0"
password_sha256 = "{ADMIN_PASSWORD_SHA256}"

[plugin]
quarantine_after_faults = 3
quarantine_ms = 600000

[[tenants]]
name = "alpha"
password_sha256 = "{}"
plugins = "{}"
max_items = 1000
max_bytes = 1000000

[[tenants]]
name = "beta"
password_sha256 = "{}"
plugins = "{}"
"#,
        sha256(ALPHA_PASSWORD),
        alpha.path().display(),
        sha256(BETA_PASSWORD),
        beta.path().display(),
    );
    let server = Server::start_with(ServerOptions {
        config: Some(config),
        ..Default::default()
    })?;
    let addr = admin(&server)?.to_owned();

    // Traffic as alpha: stores, hits, a miss, a plugin that faults into
    // quarantine, and a reload that is refused.
    let mut con = server.client()?;
    let _: () = redis::cmd("AUTH")
        .arg("alpha")
        .arg(ALPHA_PASSWORD)
        .query(&mut con)?;
    for i in 0..20 {
        let user = format!(r#"{{"id":"u{i}","email":"u{i}@example.com","name":"User {i}"}}"#);
        let _: () = redis::cmd("CACHE.SET")
            .arg("UserCache")
            .arg(user)
            .arg(format!("u{i}"))
            .query(&mut con)?;
    }
    for i in 0..60 {
        let _: Option<String> = redis::cmd("CACHE.GET")
            .arg("UserCache")
            .arg(format!("u{}", i % 25))
            .query(&mut con)?;
    }
    for _ in 0..3 {
        let trapped = redis::cmd("CACHE.KEY")
            .arg("TrapCache")
            .arg("trap")
            .query::<String>(&mut con);
        assert!(trapped.is_err());
    }
    let bad = alpha.path().join("bad_import.wasm");
    std::fs::copy(plugin_artifact("fixture_bad_import"), &bad)?;
    let refused = redis::cmd("PLUGIN.LOAD")
        .arg(bad.to_string_lossy().as_ref())
        .query::<redis::Value>(&mut con);
    let reason = match refused {
        Err(e) => e.to_string(),
        Ok(v) => bail!("the bad plugin was installed: {v:?}"),
    };
    assert!(reason.contains("import"), "{reason}");

    // The charts need a few history samples (taken once a second).
    let admin_auth = Some(("admin", ADMIN_PASSWORD));
    let sampled = eventually(Duration::from_secs(10), || {
        let (_, body) = http_get(&addr, "/api/state", admin_auth)?;
        let state: serde_json::Value = serde_json::from_str(&body)?;
        Ok(state["tenants"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["name"] == "alpha"))
            .and_then(|t| t["history"].as_array())
            .is_some_and(|h| h.len() >= 3))
    })?;
    assert!(sampled, "no history samples for the charts");
    // One more hit between samples, so the hit-ratio chart has a point.
    let _: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("u1")
        .query(&mut con)?;
    let (_, body) = http_get(&addr, "/api/state", admin_auth)?;
    let before: usize = serde_json::from_str::<serde_json::Value>(&body)?["tenants"][0]["history"]
        .as_array()
        .map_or(0, Vec::len);
    eventually(Duration::from_secs(5), || {
        let (_, body) = http_get(&addr, "/api/state", admin_auth)?;
        let state: serde_json::Value = serde_json::from_str(&body)?;
        Ok(state["tenants"][0]["history"]
            .as_array()
            .map_or(0, Vec::len)
            > before)
    })?;

    // A wrong password gets no data, from any path and in the browser.
    for path in ["/", "/metrics", "/api/state"] {
        for auth in [
            None,
            Some(("admin", "wrong")),
            Some(("alpha", "wrong")),
            Some(("nobody", "x")),
        ] {
            let (status, body) = http_get(&addr, path, auth)?;
            assert_eq!(status, 401, "{path} with {auth:?}");
            assert!(
                !body.contains("UserCache") && !body.contains("alpha"),
                "{path}: {body}"
            );
        }
    }
    let denied = chromium(&["--dump-dom"], &format!("http://admin:wrong@{addr}/"))?;
    assert!(!denied.contains("UserCache"), "{denied}");

    // The admin's page, as a person reads it.
    let url = format!("http://admin:{ADMIN_PASSWORD}@{addr}/");
    let dom = chromium(&["--dump-dom"], &url)?;
    assert!(
        dom.contains("Tenant alpha") && dom.contains("Tenant beta"),
        "{dom}"
    );
    for name in ["UserCache", "TrapCache", "UserPermissions"] {
        assert!(
            dom.contains(&format!("data-definition=\"{name}\"")),
            "{name} missing: {dom}"
        );
    }
    let ratio = cell_after(
        &dom[dom.find("data-definition=\"UserCache\"").unwrap_or(0)..],
        "class=\"num hit-ratio\"",
    )
    .context("no hit ratio cell")?;
    let percent: f64 = ratio
        .trim_end_matches('%')
        .parse()
        .with_context(|| ratio.to_owned())?;
    assert!(percent > 0.0, "hit ratio shown as {ratio}");
    let trap_row = &dom[dom.find("data-definition=\"TrapCache\"").unwrap_or(0)..];
    let health = cell_after(trap_row, "class=\"bad\"").context("TrapCache not shown as bad")?;
    assert!(health.starts_with("quarantined ("), "{health}");
    assert!(health.contains("s left"), "{health}");
    assert!(
        dom.contains("refused") && dom.contains("bad_import.wasm"),
        "{dom}"
    );
    let detail = cell_after(
        &dom[dom.find("class=\"refused\"").unwrap_or(0)..],
        "class=\"detail\"",
    )
    .context("no refusal detail")?;
    assert!(
        detail.contains("import"),
        "refusal reason shown as {detail:?}"
    );
    assert!(
        dom.contains("Hit ratio:") && dom.contains("<polyline"),
        "no charts: {dom}"
    );
    assert!(dom.contains("signed in as admin"), "{dom}");
    assert!(!dom.contains("offline"), "the page could not poll: {dom}");

    // A tenant's login sees only that tenant.
    let (status, body) = http_get(&addr, "/api/state", Some(("beta", BETA_PASSWORD)))?;
    assert_eq!(status, 200);
    assert!(
        body.contains("UserPermissions")
            && !body.contains("UserCache")
            && !body.contains("\"alpha\""),
        "{body}"
    );
    let beta_metrics = scrape(&server, Some(("beta", BETA_PASSWORD)))?;
    assert!(
        beta_metrics
            .samples
            .iter()
            .all(|s| s.labels.get("tenant").is_none_or(|t| t == "beta"))
    );
    assert!(
        !beta_metrics
            .samples
            .iter()
            .any(|s| s.metric.starts_with("hoard_command_duration"))
    );
    let all = scrape(&server, admin_auth)?;
    assert_eq!(
        value(
            &all,
            "hoard_plugin_quarantined",
            &[("tenant", "alpha"), ("cache", "TrapCache")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &all,
            "hoard_plugin_reloads_total",
            &[("tenant", "alpha"), ("outcome", "refused")]
        ),
        1.0
    );
    assert_eq!(
        value(&all, "hoard_tenant_max_items", &[("tenant", "alpha")]),
        1000.0
    );

    // The screenshot the README shows.
    let shot = workspace_root().join("target/observe-admin-page.png");
    chromium(
        &[
            "--window-size=1280,900",
            &format!("--screenshot={}", shot.display()),
        ],
        &url,
    )?;
    let png = std::fs::read(&shot)?;
    assert!(png.starts_with(b"\x89PNG"), "no screenshot");
    if std::env::var_os("HOARD_UPDATE_SCREENSHOT").is_some() {
        std::fs::write(workspace_root().join("docs/admin-page.png"), &png)?;
    }
    Ok(())
}

/// Where they exist, L2, bus and origin figures are in `/metrics` too.
#[test]
fn metrics_show_origin_l2_and_bus_figures() -> Result<()> {
    let redis = hoard_tests::tier::RedisServer::start()?;
    let origin = hoard_tests::http_origin::HttpOrigin::start()?;
    origin.put("1", r#"{"id":"1","email":"ada@example.com"}"#);
    let dir = tempfile::tempdir()?;
    let plugins = hoard_tests::plugin_dir(&["user_db"])?;
    let receiver = start_receiver()?;
    let config = format!(
        "{}\n[admin]\nhttp = \"127.0.0.1:0\"\n[tracing]\notlp_endpoint = \"http://{}/v1/traces\"\nexport_interval_ms = 50\n[[origins]]\nname = \"api\"\nhttp = \"{}\"\ndefinitions = [\"UserDb\"]\n",
        hoard_tests::tier::l2_config(
            &format!("url = \"{}\"", redis.url()),
            &hoard_tests::tier::replay_file(&dir, "a"),
            ""
        ),
        receiver.addr,
        origin.base()
    );
    let server = Server::start_with(ServerOptions {
        plugins: Some(plugins.path().to_path_buf()),
        config: Some(config),
        ..Default::default()
    })?;
    let mut c = server.connect()?;
    let linked = eventually(Duration::from_secs(15), || {
        Ok(value(&scrape(&server, None)?, "hoard_bus_link_up", &[]) == 1.0)
    })?;
    assert!(linked, "{}", http_get(admin(&server)?, "/metrics", None)?.1);
    // No definition tracks direct writes: no tracking connection.
    assert_eq!(
        value(&scrape(&server, None)?, "hoard_l2_tracking_link_up", &[]),
        0.0
    );
    assert!(c.cache_get("UserDb", &["1"])?.is_some());
    assert!(c.cache_get("UserDb", &["1"])?.is_some());
    let scrape = scrape(&server, None)?;
    let cache = ("cache", "UserDb");
    assert_eq!(
        value(
            &scrape,
            "hoard_origin_operations_total",
            &[cache, ("kind", "loads")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &scrape,
            "hoard_level_reads_total",
            &[cache, ("level", "l1")]
        ),
        1.0
    );
    assert!(
        value(
            &scrape,
            "hoard_level_reads_total",
            &[cache, ("level", "none")]
        ) >= 1.0
    );
    assert!(value(&scrape, "hoard_l2_calls_total", &[]) >= 2.0);
    assert_eq!(value(&scrape, "hoard_l2_breaker_open", &[]), 0.0);
    assert!(value(&scrape, "hoard_origin_latency_mean_seconds", &[cache]) > 0.0);

    // The page's data carries the same figures.
    let (status, body) = http_get(admin(&server)?, "/api/state", None)?;
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(state["node"]["breaker"], "closed");
    assert_eq!(state["node"]["bus_link"], true);
    let defs = state["tenants"][0]["definitions"].as_array().unwrap();
    let db = defs.iter().find(|d| d["name"] == "UserDb").unwrap();
    assert_eq!(db["levels"]["l1"], 1);
    assert_eq!(db["origin"]["name"], "api");
    assert!(
        db["origin"]["counters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c[0] == "loads" && c[1] == 1)
    );

    // The L2 lookups are traced as children of the command (which ends,
    // and may be exported, after them).
    let spans = spans_until(&receiver, |spans| {
        spans.iter().any(|s| s.name == "l2 set")
            && spans
                .iter()
                .filter(|s| s.name == "l2 get")
                .take(1)
                .any(|l| spans.iter().any(|p| p.span_id == l.parent_span_id))
    })?;
    let lookup = spans.iter().find(|s| s.name == "l2 get").unwrap();
    let get = spans
        .iter()
        .find(|s| s.span_id == lookup.parent_span_id)
        .expect("the l2 get span has its command as parent");
    assert_eq!(get.name, "CACHE.GET");
    assert_eq!(attr(lookup, "hoard.outcome").as_deref(), Some("miss"));
    Ok(())
}

/// A read-through load is traced as the `CACHE.GET`'s child, with the
/// origin I/O as a span of its own.
#[test]
fn a_read_through_load_traces_its_origin_call() -> Result<()> {
    let receiver = start_receiver()?;
    let origin = hoard_tests::http_origin::HttpOrigin::start()?;
    origin.put("1", r#"{"id":"1","email":"ada@example.com"}"#);
    let plugins = hoard_tests::plugin_dir(&["user_db"])?;
    let server = start_with_admin(
        &format!(
            "[tracing]\notlp_endpoint = \"http://{}/v1/traces\"\nexport_interval_ms = 50\n[[origins]]\nname = \"api\"\nhttp = \"{}\"\ndefinitions = [\"UserDb\"]\n",
            receiver.addr,
            origin.base()
        ),
        Some(plugins.path()),
    )?;
    let mut con = server.client()?;
    let got: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserDb")
        .arg("1")
        .query(&mut con)?;
    assert!(got.is_some());
    let spans = spans_named(&receiver, &["origin http", "CACHE.GET"])?;
    let get = spans.iter().find(|s| s.name == "CACHE.GET").unwrap();
    let io = spans.iter().find(|s| s.name == "origin http").unwrap();
    assert_eq!(io.parent_span_id, get.span_id);
    assert_eq!(io.trace_id, get.trace_id);
    assert_eq!(attr(io, "hoard.origin").as_deref(), Some("api"));
    assert_eq!(attr(io, "hoard.origin.request").as_deref(), Some("GET"));
    assert_eq!(attr(io, "hoard.outcome").as_deref(), Some("ok"));
    Ok(())
}

/// Spans the receiver got, gathered until every one of `names` is among
/// them (or 20 s passed: then the test fails, listing what came).
fn spans_named(receiver: &Receiver, names: &[&str]) -> Result<Vec<Span>> {
    spans_until(receiver, |spans| {
        names.iter().all(|n| spans.iter().any(|s| s.name == *n))
    })
}

/// The spans exported until `done` holds for them (a span and its parent
/// may arrive in different export batches).
fn spans_until(receiver: &Receiver, done: impl Fn(&[Span]) -> bool) -> Result<Vec<Span>> {
    let mut spans: Vec<Span> = Vec::new();
    let found = eventually(Duration::from_secs(20), || {
        while let Ok(request) = receiver.requests.try_recv() {
            for rs in request.resource_spans {
                for ss in rs.scope_spans {
                    spans.extend(ss.spans);
                }
            }
        }
        Ok(done(&spans))
    })?;
    assert!(
        found,
        "spans: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    Ok(spans)
}
