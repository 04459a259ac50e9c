//! Per-command latency by outcome, for `hoard_command_duration_seconds`.
//!
//! The label sets are fixed at compile time: a command name the server does
//! not know counts as `other`, and the outcome is one of a few reply classes,
//! so no client can grow the series count. Recording indexes a static table:
//! no lock, no allocation.

use std::time::Duration;

use hoard_resp::Frame;

use super::histogram::{Histogram, Snapshot};

/// Command names with their own series; anything else is `other`. The
/// frequent ones come first: the lookup is a short linear scan.
pub(crate) const COMMANDS: &[&str] = &[
    "CACHE.GET",
    "CACHE.SET",
    "GET",
    "SET",
    "CACHE.DEL",
    "CACHE.PSETEX",
    "CACHE.EVENT",
    "CACHE.KEY",
    "CACHE.TTL",
    "CACHE.VALIDATE",
    "CACHE.PLAN",
    "CACHE.INFO",
    "CACHE.LIST",
    "CACHE.FORMAT",
    "CACHE.LEASE",
    "CACHE.FILL",
    "CACHE.DLQ",
    "DEL",
    "UNLINK",
    "EXISTS",
    "EXPIRE",
    "PEXPIRE",
    "PERSIST",
    "TTL",
    "PTTL",
    "DBSIZE",
    "DEBUG",
    "FLUSHALL",
    "FLUSHDB",
    "INFO",
    "COMMAND",
    "CLIENT",
    "CONFIG",
    "SELECT",
    "PING",
    "ECHO",
    "AUTH",
    "HELLO",
    "QUIT",
    "PLUGIN.LOAD",
    "PLUGIN.RELOAD",
    "PLUGIN.UNLOAD",
    "PLUGIN.LIST",
    "other",
];

/// Reply classes: `ok` (any non-error reply but null), `miss` (a null
/// reply), then one per error prefix the server uses (see `cmd`).
pub(crate) const OUTCOMES: &[&str] = &[
    "ok", "miss", "err", "nocache", "badkey", "invalid", "plugin", "quota", "noauth", "noperm",
    "error",
];

const N_COMMANDS: usize = COMMANDS.len();
const N_OUTCOMES: usize = OUTCOMES.len();

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Histogram = Histogram::new();
#[allow(clippy::declare_interior_mutable_const)]
const ROW: [Histogram; N_OUTCOMES] = [EMPTY; N_OUTCOMES];
static TABLE: [[Histogram; N_OUTCOMES]; N_COMMANDS] = [ROW; N_COMMANDS];

/// The index of a command name (any case) in [`COMMANDS`].
pub(crate) fn command_index(name: &[u8]) -> usize {
    COMMANDS[..N_COMMANDS - 1]
        .iter()
        .position(|c| c.len() == name.len() && c.as_bytes().eq_ignore_ascii_case(name))
        .unwrap_or(N_COMMANDS - 1)
}

/// The index of a reply's class in [`OUTCOMES`].
pub(crate) fn outcome_index(frame: &Frame) -> usize {
    match frame {
        Frame::Null => 1,
        Frame::Error(message) => {
            let code = message.split(' ').next().unwrap_or("");
            OUTCOMES[2..N_OUTCOMES - 1]
                .iter()
                .position(|o| o.eq_ignore_ascii_case(code))
                .map_or(N_OUTCOMES - 1, |i| i + 2)
        }
        _ => 0,
    }
}

/// Records one command's time.
pub(crate) fn record(command: usize, outcome: usize, elapsed: Duration) {
    if let Some(row) = TABLE.get(command)
        && let Some(histogram) = row.get(outcome)
    {
        histogram.record(elapsed);
    }
}

/// Every (command, outcome) that was recorded at least once.
pub(crate) fn snapshot() -> Vec<(&'static str, &'static str, Snapshot)> {
    let mut out = Vec::new();
    for (c, row) in TABLE.iter().enumerate() {
        for (o, histogram) in row.iter().enumerate() {
            let snap = histogram.snapshot();
            if snap.count > 0 {
                out.push((COMMANDS[c], OUTCOMES[o], snap));
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn unknown_commands_share_one_series() {
        assert_eq!(COMMANDS[command_index(b"cache.get")], "CACHE.GET");
        assert_eq!(COMMANDS[command_index(b"NOSUCH")], "other");
        assert_eq!(
            COMMANDS[command_index(b"a-million-different-names")],
            "other"
        );
    }

    #[test]
    fn replies_fall_in_a_few_classes() {
        let class = |f: Frame| OUTCOMES[outcome_index(&f)];
        assert_eq!(class(Frame::ok()), "ok");
        assert_eq!(class(Frame::Null), "miss");
        assert_eq!(class(Frame::error("NOCACHE no cache X")), "nocache");
        assert_eq!(class(Frame::error("PLUGIN trapped")), "plugin");
        assert_eq!(class(Frame::error("WEIRD thing")), "error");
    }
}
