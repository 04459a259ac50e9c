//! HTTP origins: a base URL the operator configured, plain HTTP/1.1 over
//! TCP with kept-alive connections. A mapping names a path *under* the
//! base; anything that could leave it (a scheme, a host, `..`, an encoded
//! dot or slash, a backslash, control characters) is refused before any
//! byte is sent.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;

use super::OriginError;
use super::mapping::{HttpMethod, OriginResponse};

/// A parsed `http://host:port/prefix/` base.
#[derive(Clone, Debug)]
pub struct Base {
    /// `host:port`, for connecting and for the `Host` header.
    pub authority: String,
    /// The path prefix, always ending in `/`.
    pub prefix: String,
}

impl Base {
    /// Parses a base URL; only `http://` (TLS is for a proxy in front).
    pub fn parse(url: &str) -> Result<Base, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("`{url}` is not an http:// URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("`{url}` has no usable host"));
        }
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let mut prefix = path.to_owned();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(Base { authority, prefix })
    }

    /// The request target for a mapping's `path`, or why it is refused.
    pub fn target(&self, path: &str) -> Result<String, OriginError> {
        let refuse = |why: &str| OriginError::Refused(format!("path `{path}` {why}"));
        let (route, query) = match path.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (path, None),
        };
        let route = route.trim_start_matches('/');
        if path
            .chars()
            .any(|c| c.is_control() || c == ' ' || c == '\\' || c == '#')
        {
            return Err(refuse("has characters a path may not have"));
        }
        if route.contains("://") || path.starts_with("//") {
            return Err(refuse("names another host"));
        }
        let lower = route.to_ascii_lowercase();
        if lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c") {
            return Err(refuse("hides a dot or a slash in an escape"));
        }
        if route
            .split('/')
            .any(|segment| segment == ".." || segment == ".")
        {
            return Err(refuse("leaves the configured base"));
        }
        let mut target = format!("{}{route}", self.prefix);
        if let Some(query) = query {
            target.push('?');
            target.push_str(query);
        }
        Ok(target)
    }
}

/// One HTTP origin and its idle connections.
pub struct HttpOrigin {
    base: Base,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    max_response_bytes: usize,
}

impl HttpOrigin {
    /// An origin at `base` (checked by the configuration already).
    pub fn new(base: &str, max_response_bytes: usize) -> Result<HttpOrigin, String> {
        Ok(HttpOrigin {
            base: Base::parse(base)?,
            idle: Mutex::new(Vec::new()),
            max_response_bytes,
        })
    }

    async fn sender(&self) -> Result<SendRequest<Full<Bytes>>, OriginError> {
        loop {
            let idle = self.idle.lock().pop();
            match idle {
                Some(mut sender) => {
                    if sender.ready().await.is_ok() {
                        return Ok(sender);
                    }
                }
                None => break,
            }
        }
        let stream = tokio::net::TcpStream::connect(&self.base.authority)
            .await
            .map_err(|e| {
                OriginError::Unreachable(format!("connect {}: {e}", self.base.authority))
            })?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| OriginError::Unreachable(format!("handshake: {e}")))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends one request; any status is an answer (the mapping decides what
    /// a 404 or a 409 means), only transport failures are errors.
    pub async fn send(
        &self,
        method: HttpMethod,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<OriginResponse, OriginError> {
        let target = self.base.target(path)?;
        let mut request = hyper::Request::builder()
            .method(method.as_str())
            .uri(&target)
            .header(hyper::header::HOST, &self.base.authority);
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("host") || name.eq_ignore_ascii_case("content-length") {
                return Err(OriginError::Refused(format!(
                    "header `{name}` is set by the host"
                )));
            }
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| OriginError::Refused(format!("bad request: {e}")))?;
        let mut sender = self.sender().await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| OriginError::Unreachable(format!("request: {e}")))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = Limited::new(response.into_body(), self.max_response_bytes)
            .collect()
            .await
            .map_err(|e| OriginError::Unavailable(format!("response body: {e}")))?
            .to_bytes()
            .to_vec();
        let mut idle = self.idle.lock();
        if idle.len() < 64 {
            idle.push(sender);
        }
        Ok(OriginResponse::Http {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_the_base() -> Result<(), String> {
        let base = Base::parse("http://127.0.0.1:8080/api")?;
        assert_eq!(base.authority, "127.0.0.1:8080");
        assert_eq!(
            base.target("users/42").map_err(|e| e.to_string())?,
            "/api/users/42"
        );
        assert_eq!(
            base.target("/users/42?x=1").map_err(|e| e.to_string())?,
            "/api/users/42?x=1"
        );
        for bad in [
            "../admin",
            "users/../../etc",
            "users/%2e%2e/x",
            "users%2Fx",
            "http://evil/x",
            "//evil/x",
            "a\\b",
            "a b",
            "a\nb",
        ] {
            assert!(base.target(bad).is_err(), "{bad} was accepted");
        }
        Ok(())
    }

    #[test]
    fn base_needs_http_and_a_host() {
        assert!(Base::parse("https://x/").is_err());
        assert!(Base::parse("http:///x").is_err());
        assert!(Base::parse("http://user@x/").is_err());
        assert!(Base::parse("http://x").is_ok());
    }
}
