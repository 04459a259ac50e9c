//! The admin listener: a small hyper 1 HTTP/1.1 server on its own address
//! (loopback by default) serving `/metrics`, the admin page at `/` and its
//! data at `/api/state`.
//!
//! Authentication is HTTP Basic, required whenever tenants are configured
//! or an admin password is set: `admin` with the admin password sees every
//! tenant and the server-wide series; a tenant's name and password sees
//! only that tenant. A wrong or missing credential gets 401 and no data.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use super::Setup;
use super::state::{self, History};
use crate::tenant::Tenant;

const INDEX: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/style.css");

/// Admin connections served at once.
const MAX_CONNECTIONS: usize = 64;

/// What every request handler reads.
pub(crate) struct Shared {
    pub(crate) setup: Setup,
    pub(crate) history: History,
}

impl Shared {
    pub(crate) fn new(setup: Setup) -> Self {
        Self {
            setup,
            history: History::default(),
        }
    }
}

/// Who is asking.
enum Viewer {
    Admin,
    Tenant(Arc<Tenant>),
}

/// Accepts admin connections until `stop` fires.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            continue; // dropped: too many admin connections
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handle(&shared, &request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "admin connection ended");
            }
            drop(permit);
        });
    }
}

async fn handle(shared: &Shared, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    let path = request.uri().path();
    match path {
        "/app.js" => return asset(APP_JS, "text/javascript; charset=utf-8"),
        "/style.css" => return asset(STYLE, "text/css; charset=utf-8"),
        "/metrics" | "/" | "/api/state" => {}
        _ => return plain(StatusCode::NOT_FOUND, "not found\n"),
    }
    let Some(viewer) = authenticate(&shared.setup, request.headers()).await else {
        let mut response = plain(StatusCode::UNAUTHORIZED, "authentication required\n");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"hoard admin\", charset=\"UTF-8\""),
        );
        return response;
    };
    let (tenants, name) = match &viewer {
        Viewer::Admin => (shared.setup.tenants.clone(), "admin".to_owned()),
        Viewer::Tenant(t) => (vec![Arc::clone(t)], t.name.clone()),
    };
    match path {
        "/metrics" => respond(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            super::metrics::render(&tenants, matches!(viewer, Viewer::Admin)),
        ),
        "/api/state" => {
            let state = state::snapshot(shared, &tenants, &name);
            match serde_json::to_string(&state) {
                Ok(json) => respond(StatusCode::OK, "application/json", json),
                Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, &format!("{error}\n")),
            }
        }
        _ => {
            let state = state::snapshot(shared, &tenants, &name);
            let json = serde_json::to_string(&state)
                .unwrap_or_else(|_| "null".to_owned())
                // Safe inside <script>: no "</script>" can close it early.
                .replace('<', "\\u003c");
            respond(
                StatusCode::OK,
                "text/html; charset=utf-8",
                INDEX.replace("/*STATE*/null", &json),
            )
        }
    }
}

async fn authenticate(setup: &Setup, headers: &hyper::HeaderMap) -> Option<Viewer> {
    let required = setup.multi_tenant || setup.admin_credential.is_some();
    if !required {
        return Some(Viewer::Admin);
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
    if user == b"admin"
        && let Some(credential) = &setup.admin_credential
    {
        return Arc::clone(credential)
            .check(password.to_vec())
            .await
            .then_some(Viewer::Admin);
    }
    if !setup.multi_tenant {
        return None;
    }
    let tenant = setup.tenants.iter().find(|t| t.name.as_bytes() == user)?;
    tenant
        .check_password(password)
        .await
        .then(|| Viewer::Tenant(Arc::clone(tenant)))
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    respond(status, "text/plain; charset=utf-8", text.to_owned())
}

fn asset(text: &'static str, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
