//! `CONFIG GET pattern...` (the settings clients and `redis-benchmark` probe) and
//! `CONFIG SET name value...`: hoard is configured by its file and flags, so `SET` succeeds
//! only when it asks for the value already in force (clients that "ensure" a setting on connect
//! keep working) and says plainly that it changes nothing otherwise.

use super::keyspace::Keyspace;
use crate::cache::Cache;
use hoard_l1::Glob;
use hoard_resp::{Frame, Parse, ParseError};

/// The settings hoard reports, with their values.
fn settings(cache: &Cache, keyspace: &Keyspace) -> Vec<(&'static str, String)> {
    vec![
        ("save", String::new()),
        ("appendonly", "no".into()),
        ("databases", "1".into()),
        ("maxmemory", "0".into()),
        ("maxmemory-policy", "allkeys-lfu".into()),
        ("notify-keyspace-events", String::new()),
        ("timeout", "0".into()),
        (
            "tracking-table-max-keys",
            keyspace.tracking.max_keys().to_string(),
        ),
        ("cluster-enabled", "no".into()),
        ("proto-max-bulk-len", cache.max_value_bytes().to_string()),
    ]
}

pub(super) fn run(
    parse: &mut Parse,
    cache: &Cache,
    keyspace: &Keyspace,
) -> Result<Frame, ParseError> {
    let sub = parse.next_string()?.to_ascii_uppercase();
    let known = settings(cache, keyspace);
    match sub.as_str() {
        "GET" => {
            if parse.remaining() == 0 {
                return Err(ParseError::WrongArity("config|get".into()));
            }
            let mut pairs = Vec::new();
            while parse.remaining() > 0 {
                let glob = Glob::new(parse.next_string()?.to_ascii_lowercase().as_bytes());
                for (name, value) in &known {
                    let listed = pairs
                        .iter()
                        .any(|(n, _): &(Frame, Frame)| *n == Frame::bulk(*name));
                    if glob.matches(name.as_bytes()) && !listed {
                        pairs.push((Frame::bulk(*name), Frame::bulk(value.clone())));
                    }
                }
            }
            Ok(Frame::Map(pairs))
        }
        "SET" => {
            let rest = parse.rest();
            if rest.is_empty() || !rest.len().is_multiple_of(2) {
                return Err(ParseError::WrongArity("config|set".into()));
            }
            for pair in rest.chunks_exact(2) {
                let [name, value] = pair else { continue };
                let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                let Some((_, current)) = known.iter().find(|(n, _)| *n == name) else {
                    return Ok(Frame::error(format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                    )));
                };
                if current.as_bytes() != value.as_ref() {
                    return Ok(Frame::error(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - hoard is configured by its config file and flags; '{name}' is '{current}'"
                    )));
                }
            }
            Ok(Frame::ok())
        }
        "RESETSTAT" | "REWRITE" => {
            let _ = parse.rest();
            Ok(Frame::error(
                "ERR hoard is configured by its config file and flags",
            ))
        }
        other => Ok(Frame::error(format!(
            "ERR unknown subcommand '{}'. Try CONFIG HELP.",
            other.to_ascii_lowercase()
        ))),
    }
}
