//! `UserDb`: user records read through from the origin the operator
//! configured (a PostgreSQL `users` table, or an HTTP API), and written
//! through to it. The plugin only maps: key parts to a request, a response
//! to a value, a value to a write. It never sees a socket or SQL text of its
//! own making: statements are the operator's, chosen here by name.
//!
//! The statements it expects (see README, "Origins"):
//! - `user_by_id`: `SELECT id::text AS id, email, name FROM users WHERE id = $1`
//! - `upsert_user`: an `INSERT … ON CONFLICT (id) DO UPDATE … WHERE users.version < $4`
//!
//! Over HTTP: `GET users/{id}` (200 with a JSON user, 404 when there is
//! none) and `PUT users/{id}` with the JSON user.

wit_bindgen::generate!({ path: "../../../wit/0.2.0", world: "origin-plugin" });

use exports::hoard::definition::origin::{
    self, HttpCall, HttpMethod, HttpResponse, Loaded, OriginKind, Request, Response, SqlCall,
    SqlRows, SqlValue,
};
use hoard::definition::types::{EvictionPolicy, Expiration};
use hoard_guest::check_part;
use serde::{Deserialize, Serialize};

const MINUTE_MS: u64 = 60_000;

/// The value: what the `users` table holds of a user.
#[derive(Debug, Serialize, Deserialize)]
struct User {
    id: String,
    email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

struct Component;

fn user_id(parts: &[String]) -> Result<&str, String> {
    match parts {
        [id] => {
            check_part("id", id)?;
            Ok(id)
        }
        _ => Err(format!("UserDb keys take [id], got {} parts", parts.len())),
    }
}

impl Guest for Component {
    fn describe() -> Descriptor {
        Descriptor {
            id: "user-db".into(),
            name: "UserDb".into(),
            description:
                "User records read through from the users table (or API), written through to it."
                    .into(),
            version: "1.0.0".into(),
            default_ttl_ms: 5 * MINUTE_MS,
            max_ttl_ms: 60 * MINUTE_MS,
            expiration: Expiration::Absolute,
            eviction: EvictionPolicy::Lru,
            max_items: 100_000,
            // "No such user" is cached too (negative caching).
            allow_null: true,
            compress: None,
            encrypt: false,
            pure_keys: true,
            invalidation_events: vec!["UserUpdated".into(), "UserDeleted".into()],
            dependent_caches: Vec::new(),
            metadata: vec![("owner".into(), "identity-team".into())],
        }
    }

    fn generate_key(parts: Vec<String>) -> Result<String, KeyError> {
        let id = user_id(&parts).map_err(KeyError::InvalidPart)?;
        Ok(format!("UserDb:{id}"))
    }

    fn validate(value: Vec<u8>) -> Result<(), Vec<String>> {
        let user: User = rmp_serde::from_slice(&value).map_err(|e| {
            vec![format!(
                "The value is not a user ({{id, email, name?}}): {e}."
            )]
        })?;
        let mut errors = Vec::new();
        if user.id.is_empty() {
            errors.push("`id` must not be empty.".to_owned());
        }
        if user.email.split('@').count() != 2 {
            errors.push("`email` must have exactly one '@'.".to_owned());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn on_event(name: String, payload: Vec<u8>) -> Result<Invalidation, EventError> {
        let id = hoard_guest::payload_id(&payload).map_err(EventError::BadPayload)?;
        match name.as_str() {
            "UserUpdated" | "UserDeleted" => Ok(Invalidation {
                keys: vec![format!("UserDb:{id}")],
                patterns: Vec::new(),
                dependent_caches: Vec::new(),
                cascade: false,
                reason: format!("{name}: user {id}"),
            }),
            _ => Err(EventError::UnknownEvent(format!(
                "UserDb does not handle {name}"
            ))),
        }
    }
}

impl origin::Guest for Component {
    fn load_request(kind: OriginKind, parts: Vec<String>, _key: String) -> Result<Request, String> {
        let id = user_id(&parts)?;
        Ok(match kind {
            OriginKind::Sql => Request::Sql(SqlCall {
                statement: "user_by_id".into(),
                params: vec![SqlValue::Text(id.to_owned())],
            }),
            OriginKind::Http => Request::Http(HttpCall {
                method: HttpMethod::Get,
                path: format!("users/{id}"),
                headers: vec![("accept".into(), "application/json".into())],
                body: Vec::new(),
            }),
        })
    }

    fn load_response(_parts: Vec<String>, response: Response) -> Result<Loaded, String> {
        let user = match response {
            Response::Sql(SqlRows { columns, rows, .. }) => {
                let Some(row) = rows.first() else {
                    return Ok(Loaded::NotFound);
                };
                let column = |name: &str| -> Option<&SqlValue> {
                    columns
                        .iter()
                        .position(|c| c == name)
                        .and_then(|i| row.get(i))
                };
                let text = |name: &str| -> Result<Option<String>, String> {
                    match column(name) {
                        Some(SqlValue::Text(s)) => Ok(Some(s.clone())),
                        Some(SqlValue::Integer(i)) => Ok(Some(i.to_string())),
                        Some(SqlValue::Null) | None => Ok(None),
                        Some(_) => Err(format!("column `{name}` is not text")),
                    }
                };
                User {
                    id: text("id")?.ok_or("the row has no `id`")?,
                    email: text("email")?.ok_or("the row has no `email`")?,
                    name: text("name")?,
                }
            }
            Response::Http(HttpResponse { status: 404, .. }) => return Ok(Loaded::NotFound),
            Response::Http(HttpResponse {
                status: 200, body, ..
            }) => serde_json::from_slice(&body)
                .map_err(|e| format!("the API's user is not valid JSON: {e}"))?,
            Response::Http(HttpResponse { status, .. }) => {
                return Err(format!("the API answered HTTP {status}"));
            }
        };
        rmp_serde::to_vec_named(&user)
            .map(Loaded::Value)
            .map_err(|e| e.to_string())
    }

    fn write_request(
        kind: OriginKind,
        parts: Vec<String>,
        value: Vec<u8>,
        sequence: u64,
    ) -> Result<Request, String> {
        let id = user_id(&parts)?;
        let user: User = rmp_serde::from_slice(&value).map_err(|e| e.to_string())?;
        if user.id != id {
            return Err(format!(
                "the value's id `{}` is not the key's `{id}`",
                user.id
            ));
        }
        Ok(match kind {
            OriginKind::Sql => Request::Sql(SqlCall {
                statement: "upsert_user".into(),
                params: vec![
                    SqlValue::Text(user.id),
                    SqlValue::Text(user.email),
                    user.name.map_or(SqlValue::Null, SqlValue::Text),
                    SqlValue::Integer(i64::try_from(sequence).unwrap_or(i64::MAX)),
                ],
            }),
            OriginKind::Http => Request::Http(HttpCall {
                method: HttpMethod::Put,
                path: format!("users/{id}"),
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_vec(&user).map_err(|e| e.to_string())?,
            }),
        })
    }
}

export!(Component);
