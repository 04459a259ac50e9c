//! A plugin reached through a running server, as a conformance [`Subject`]:
//! keys through `CACHE.KEY`, verdicts through `CACHE.VALIDATE`, invalidation
//! plans through `CACHE.PLAN`, the descriptor through `CACHE.INFO`. RESP3, so
//! booleans stay booleans, and `CACHE.FORMAT MSGPACK`, so a suite's raw
//! MessagePack reaches the server byte for byte.

use anyhow::Result;
use hoard::definition::{EventError, Invalidation, KeyError};
use hoard::tooling::conformance::{Answer, KeyAnswer, Plan, Subject, SubjectError, Verdict};
use redis::Value;
use serde_json::{Map, Value as Json};

/// One connection to one cache on a running server.
pub struct RemoteSubject {
    con: redis::Connection,
    cache: String,
}

impl RemoteSubject {
    /// Connects to the server on `port` and talks to `cache`.
    pub fn connect(port: u16, cache: &str) -> Result<RemoteSubject> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/?protocol=resp3"))?;
        let mut con = client.get_connection()?;
        redis::cmd("CACHE.FORMAT")
            .arg("MSGPACK")
            .query::<()>(&mut con)?;
        Ok(RemoteSubject {
            con,
            cache: cache.to_owned(),
        })
    }

    /// The reply, or the server's error as `(code, message)`; only a
    /// transport failure is the subject's own error.
    fn query(&mut self, cmd: &redis::Cmd) -> Result<Result<Value, (String, String)>, SubjectError> {
        match cmd.query::<Value>(&mut self.con) {
            // Under RESP3 a server error can arrive as a value, not an Err.
            Ok(Value::ServerError(e)) => Ok(Err((
                e.code().to_owned(),
                e.details().unwrap_or_default().to_owned(),
            ))),
            Ok(value) => Ok(Ok(value)),
            Err(e) if e.kind() == redis::ErrorKind::IoError => Err(SubjectError(e.to_string())),
            Err(e) => Ok(Err((
                e.code().unwrap_or("ERR").to_owned(),
                e.detail().unwrap_or_default().to_owned(),
            ))),
        }
    }
}

fn json(value: &Value) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Int(n) => (*n).into(),
        Value::Boolean(b) => (*b).into(),
        Value::Double(d) => (*d).into(),
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned().into(),
        Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => s.clone().into(),
        Value::Array(items) | Value::Set(items) => items.iter().map(json).collect(),
        Value::Map(pairs) => {
            Json::Object(pairs.iter().map(|(k, v)| (json_key(k), json(v))).collect())
        }
        other => format!("{other:?}").into(),
    }
}

fn json_key(key: &Value) -> String {
    match json(key) {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

fn strings(value: Option<&Json>) -> Vec<String> {
    value
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .map(|i| i.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl Subject for RemoteSubject {
    fn describe(&mut self) -> Result<Map<String, Json>, SubjectError> {
        let reply = self
            .query(redis::cmd("CACHE.INFO").arg(&self.cache))?
            .map_err(|(code, message)| SubjectError(format!("CACHE.INFO: {code} {message}")))?;
        match json(&reply) {
            Json::Object(map) => Ok(map),
            other => Err(SubjectError(format!("CACHE.INFO replied {other}"))),
        }
    }

    fn key(&mut self, parts: &[String]) -> Result<KeyAnswer, SubjectError> {
        let reply = self.query(redis::cmd("CACHE.KEY").arg(&self.cache).arg(parts))?;
        Ok(match reply {
            Err((code, message)) if code == "BADKEY" => {
                let error = if let Some(m) = message.strip_prefix("wrong number of key parts: ") {
                    KeyError::WrongArity(m.to_owned())
                } else if let Some(m) = message.strip_prefix("invalid key part: ") {
                    KeyError::InvalidPart(m.to_owned())
                } else {
                    KeyError::Other(message)
                };
                Answer::Plugin(Err(error))
            }
            Err((code, message)) => Answer::Host(format!("{code} {message}")),
            Ok(key) => Answer::Plugin(Ok(json(&key).as_str().unwrap_or_default().to_owned())),
        })
    }

    fn validate(&mut self, msgpack: &[u8]) -> Result<Verdict, SubjectError> {
        let reply = self.query(redis::cmd("CACHE.VALIDATE").arg(&self.cache).arg(msgpack))?;
        Ok(match reply {
            Err((code, message)) => Answer::Host(format!("{code} {message}")),
            Ok(reasons) => {
                let reasons = strings(Some(&json(&reasons)));
                Answer::Plugin(if reasons.is_empty() {
                    Ok(())
                } else {
                    Err(reasons)
                })
            }
        })
    }

    fn plan(&mut self, event: &str, msgpack: &[u8]) -> Result<Plan, SubjectError> {
        let reply = self.query(
            redis::cmd("CACHE.PLAN")
                .arg(&self.cache)
                .arg(event)
                .arg(msgpack),
        )?;
        Ok(match reply {
            Err((code, message)) if code == "BADEVENT" => {
                let error = if let Some(m) = message.strip_prefix("unknown event: ") {
                    EventError::UnknownEvent(m.to_owned())
                } else if let Some(m) = message.strip_prefix("bad payload: ") {
                    EventError::BadPayload(m.to_owned())
                } else {
                    EventError::Other(message)
                };
                Answer::Plugin(Err(error))
            }
            Err((code, message)) => Answer::Host(format!("{code} {message}")),
            Ok(plan) => {
                let plan = json(&plan);
                Answer::Plugin(Ok(Invalidation {
                    keys: strings(plan.get("keys")),
                    patterns: strings(plan.get("patterns")),
                    dependent_caches: strings(plan.get("dependent-caches")),
                    cascade: plan.get("cascade").and_then(Json::as_bool).unwrap_or(false),
                    reason: plan
                        .get("reason")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                }))
            }
        })
    }
}
