//! KvDb: any value (MessagePack, as hoard hands it over) under a name,
//! stored in the origin as bytes. The smallest mapping there is, which makes
//! it the write-behind example and the bench's definition: the plugin checks
//! the name and maps; the host owns the queue, the batching and the SQL
//! connection.
//!
//! The statements it expects (see README, "Write-behind"):
//! - `get_kv`: `SELECT v FROM kv WHERE k = $1`
//! - `put_kv`: `INSERT INTO kv (k, v, version) VALUES ($1, $2, $3) ON
//!   CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, version = EXCLUDED.version
//!   WHERE kv.version < EXCLUDED.version` (an older write never wins)
//!
//! Over HTTP: `GET kv/{name}` (200 with the MessagePack body, 404 when
//! there is none) and `PUT kv/{name}` with it.

wit_bindgen::generate!({ path: "../../../wit/0.2.0", world: "origin-plugin" });

use exports::hoard::definition::origin::{
    self, HttpCall, HttpMethod, HttpResponse, Loaded, OriginKind, Request, Response, SqlCall,
    SqlRows, SqlValue,
};
use hoard::definition::types::{EvictionPolicy, Expiration};
use hoard_guest::check_part;

const MINUTE_MS: u64 = 60_000;

struct Component;

fn name_of(parts: &[String]) -> Result<&str, String> {
    match parts {
        [name] => {
            check_part("name", name)?;
            Ok(name)
        }
        _ => Err(format!("KvDb keys take [name], got {} parts", parts.len())),
    }
}

impl Guest for Component {
    fn describe() -> Descriptor {
        Descriptor {
            id: "kv-db".into(),
            name: "KvDb".into(),
            description: "Values by name, written behind to the kv table (or API).".into(),
            version: "1.0.0".into(),
            default_ttl_ms: 10 * MINUTE_MS,
            max_ttl_ms: 24 * 60 * MINUTE_MS,
            expiration: Expiration::Absolute,
            eviction: EvictionPolicy::Lru,
            max_items: 1_000_000,
            allow_null: false,
            compress: None,
            encrypt: false,
            pure_keys: true,
            invalidation_events: vec!["KvChanged".into()],
            dependent_caches: Vec::new(),
            metadata: vec![("owner".into(), "platform-team".into())],
        }
    }

    fn generate_key(parts: Vec<String>) -> Result<String, KeyError> {
        let name = name_of(&parts).map_err(KeyError::InvalidPart)?;
        Ok(format!("Kv:{name}"))
    }

    fn validate(value: Vec<u8>) -> Result<(), Vec<String>> {
        // The host already checked it is one MessagePack value; any is fine.
        if value.len() > 64 * 1024 {
            return Err(vec!["KvDb values are at most 64 KiB.".into()]);
        }
        Ok(())
    }

    fn on_event(name: String, payload: Vec<u8>) -> Result<Invalidation, EventError> {
        let id = hoard_guest::payload_id(&payload).map_err(EventError::BadPayload)?;
        match name.as_str() {
            "KvChanged" => Ok(Invalidation {
                keys: vec![format!("Kv:{id}")],
                patterns: Vec::new(),
                dependent_caches: Vec::new(),
                cascade: false,
                reason: format!("{name}: {id}"),
            }),
            _ => Err(EventError::UnknownEvent(format!(
                "KvDb does not handle {name}"
            ))),
        }
    }
}

impl origin::Guest for Component {
    fn load_request(kind: OriginKind, parts: Vec<String>, _key: String) -> Result<Request, String> {
        let name = name_of(&parts)?;
        Ok(match kind {
            OriginKind::Sql => Request::Sql(SqlCall {
                statement: "get_kv".into(),
                params: vec![SqlValue::Text(name.to_owned())],
            }),
            OriginKind::Http => Request::Http(HttpCall {
                method: HttpMethod::Get,
                path: format!("kv/{name}"),
                headers: Vec::new(),
                body: Vec::new(),
            }),
        })
    }

    fn load_response(_parts: Vec<String>, response: Response) -> Result<Loaded, String> {
        match response {
            Response::Sql(SqlRows { rows, .. }) => match rows.first().and_then(|r| r.first()) {
                None => Ok(Loaded::NotFound),
                Some(SqlValue::Bytes(v)) => Ok(Loaded::Value(v.clone())),
                Some(_) => Err("column `v` is not bytea".into()),
            },
            Response::Http(HttpResponse { status: 404, .. }) => Ok(Loaded::NotFound),
            Response::Http(HttpResponse {
                status: 200, body, ..
            }) => Ok(Loaded::Value(body)),
            Response::Http(HttpResponse { status, .. }) => {
                Err(format!("the API answered HTTP {status}"))
            }
        }
    }

    fn write_request(
        kind: OriginKind,
        parts: Vec<String>,
        value: Vec<u8>,
        sequence: u64,
    ) -> Result<Request, String> {
        let name = name_of(&parts)?;
        Ok(match kind {
            OriginKind::Sql => Request::Sql(SqlCall {
                statement: "put_kv".into(),
                params: vec![
                    SqlValue::Text(name.to_owned()),
                    SqlValue::Bytes(value),
                    SqlValue::Integer(i64::try_from(sequence).unwrap_or(i64::MAX)),
                ],
            }),
            OriginKind::Http => Request::Http(HttpCall {
                method: HttpMethod::Put,
                path: format!("kv/{name}"),
                headers: vec![
                    ("content-type".into(), "application/msgpack".into()),
                    ("x-sequence".into(), sequence.to_string()),
                ],
                body: value,
            }),
        })
    }
}

export!(Component);
