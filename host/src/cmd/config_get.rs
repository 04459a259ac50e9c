//! `CONFIG GET pattern` (read-only view of a few settings that clients and
//! `redis-benchmark` ask for) and `CONFIG SET` (refused: hoard is configured
//! from its file and flags).

use crate::cache::Cache;
use hoard_l1::Glob;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let sub = parse.next_string()?.to_ascii_uppercase();
    match sub.as_str() {
        "GET" => {
            let mut pairs = Vec::new();
            let max_value = cache.max_value_bytes().to_string();
            let known: [(&str, &str); 5] = [
                ("save", ""),
                ("appendonly", "no"),
                ("databases", "1"),
                ("maxmemory", "0"),
                ("proto-max-bulk-len", &max_value),
            ];
            while parse.remaining() > 0 {
                let glob = Glob::new(parse.next_string()?.to_ascii_lowercase().as_bytes());
                for (name, value) in known {
                    if glob.matches(name.as_bytes()) {
                        pairs.push((Frame::bulk(name), Frame::bulk(value.to_owned())));
                    }
                }
            }
            Ok(Frame::Map(pairs))
        }
        "SET" | "RESETSTAT" | "REWRITE" => {
            let _ = parse.rest();
            Ok(Frame::error(
                "ERR hoard is configured by its config file and flags",
            ))
        }
        other => Ok(Frame::error(format!(
            "ERR unknown subcommand '{}'",
            other.to_ascii_lowercase()
        ))),
    }
}
