//! The conformance suite: a definition's behaviour written down as a table
//! (key parts → key or key error, value → verdict with its reasons, event →
//! invalidation or event error) and checked against a plugin.
//!
//! The table is the executable specification of a definition, so the same
//! `user-cache` written in Rust, Python, JavaScript and C is proven to behave
//! the same by passing one file. The runner does not care how the plugin is
//! reached: `hoard plugin check --suite` calls it in-process through the
//! server's own load path, and the integration tests drive a running server
//! over RESP (`CACHE.KEY`, `CACHE.VALIDATE`, `CACHE.PLAN`). Both implement
//! [`Subject`].
//!
//! Format (TOML; see `tests/conformance/user-cache.toml`):
//!
//! ```toml
//! cache = "UserCache"
//! [describe]                      # fields as CACHE.INFO names them; only those listed are compared
//! version = "1.0.0"
//! [[key]]
//! parts = ["42"]
//! key = "User:42"                 # or wrong-arity / invalid-part / other = "message"
//! [[validate]]
//! json = '{"id": "42"}'           # or msgpack = "c1" (hex)
//! reasons = ["`email` is required."]   # [] = accepted; a reason ending in "..." matches as a prefix
//! [[validate]]
//! msgpack = "81 01 02"
//! host = "invalid MessagePack: a map key at offset 1 is an integer..."   # refused before the plugin
//! [[event]]
//! name = "UserUpdated"
//! payload = '{"userId": "42"}'    # or payload-msgpack = "hex"
//! keys = ["User:42"]              # or unknown-event / bad-payload / other = "message"
//! patterns = ["User:42:*"]
//! cascade = true
//! reason = "UserUpdated: user 42 changed"
//! ```
//!
//! A `host` expectation is the host's refusal (what `msgpack_strict` says of
//! the input, as the server's error reply words it without its error code):
//! the plugin never sees that input, whichever language it is written in.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::cache::transcode;
use crate::definition::{Definition, EventError, Invalidation, KeyError};
use hoard_l1::{ExpiryMode, Policy};

/// A suite file could not be read or makes no sense.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// Which file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not match the format.
    #[error("{path}: {message}")]
    Format {
        /// Which file.
        path: String,
        /// What is wrong, with its location.
        message: String,
    },
}

/// Why a subject could not answer at all (the server was gone, the plugin
/// faulted): every case it could not answer fails with this text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SubjectError(pub String);

/// Who answered a case: the plugin, or the host before the plugin saw the
/// input (a server refuses a zero-part key, or MessagePack that breaks the
/// rules of `msgpack_strict`). A host refusal of a key satisfies a case that
/// expects a key error; of a value or payload, only a case whose `host`
/// names it.
#[derive(Debug, PartialEq)]
pub enum Answer<T> {
    /// The plugin's answer.
    Plugin(T),
    /// The host's refusal, with its reason.
    Host(String),
}

/// What a subject says about key parts.
pub type KeyAnswer = Answer<Result<String, KeyError>>;
/// What a subject says about a value.
pub type Verdict = Answer<Result<(), Vec<String>>>;
/// What a subject says about an event.
pub type Plan = Answer<Result<Invalidation, EventError>>;

/// A plugin under test, however it is reached.
pub trait Subject {
    /// The descriptor, with fields named as `CACHE.INFO` names them.
    fn describe(&mut self) -> Result<Map<String, Value>, SubjectError>;
    /// `generate-key`.
    fn key(&mut self, parts: &[String]) -> Result<KeyAnswer, SubjectError>;
    /// `validate` of a MessagePack value.
    fn validate(&mut self, msgpack: &[u8]) -> Result<Verdict, SubjectError>;
    /// `on-event` with a MessagePack payload.
    fn plan(&mut self, event: &str, msgpack: &[u8]) -> Result<Plan, SubjectError>;
}

/// One suite file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Suite {
    /// The cache name the plugin must describe.
    pub cache: String,
    /// Descriptor fields to compare, as `CACHE.INFO` names them.
    #[serde(default)]
    pub describe: toml::Table,
    /// Key cases.
    #[serde(default)]
    pub key: Vec<KeyCase>,
    /// Validation cases.
    #[serde(default)]
    pub validate: Vec<ValidateCase>,
    /// Event cases.
    #[serde(default)]
    pub event: Vec<EventCase>,
}

/// Key parts and what `generate-key` must answer (exactly one of the four).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeyCase {
    /// The parts.
    pub parts: Vec<String>,
    /// The key.
    pub key: Option<String>,
    /// A `wrong-arity` error with this message.
    pub wrong_arity: Option<String>,
    /// An `invalid-part` error with this message.
    pub invalid_part: Option<String>,
    /// An `other` error with this message.
    pub other: Option<String>,
}

/// A value and the verdict on it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ValidateCase {
    /// The value as JSON (converted as a JSON client's value would be).
    pub json: Option<String>,
    /// The value as hex MessagePack, for inputs JSON cannot express.
    pub msgpack: Option<String>,
    /// Every reason, in order; empty (or absent) means accepted.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The host refuses the value before the plugin sees it, with this text.
    pub host: Option<String>,
}

/// An event and what it must invalidate (or the error it must give).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EventCase {
    /// The event name.
    pub name: String,
    /// The payload as JSON.
    pub payload: Option<String>,
    /// The payload as hex MessagePack.
    pub payload_msgpack: Option<String>,
    /// Exact keys, in order.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Patterns, in order.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Dependent caches named in the answer.
    #[serde(default)]
    pub dependent_caches: Vec<String>,
    /// Whether the invalidation cascades.
    #[serde(default)]
    pub cascade: bool,
    /// The reason text, when given.
    pub reason: Option<String>,
    /// An `unknown-event` error with this message instead.
    pub unknown_event: Option<String>,
    /// A `bad-payload` error with this message (a trailing `...` is a prefix).
    pub bad_payload: Option<String>,
    /// An `other` error with this message.
    pub other: Option<String>,
    /// The host refuses the payload before the plugin sees it, with this text.
    pub host: Option<String>,
}

/// The outcome of running a suite.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases that passed.
    pub passed: usize,
    /// One line per failed case: which case, expected, got.
    pub failures: Vec<String>,
    /// Cases the host answered instead of the plugin (still passes).
    pub host_answered: usize,
}

impl Report {
    /// Whether every case passed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} cases passed",
            self.passed,
            self.passed + self.failures.len()
        )?;
        if self.host_answered > 0 {
            write!(
                f,
                " ({} refused by the host before the plugin)",
                self.host_answered
            )?;
        }
        for failure in &self.failures {
            write!(f, "\n  FAIL {failure}")?;
        }
        Ok(())
    }
}

impl Suite {
    /// Reads and checks a suite file.
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
            path: label.clone(),
            source,
        })?;
        Suite::parse(&text).map_err(|message| SuiteError::Format {
            path: label,
            message,
        })
    }

    /// Parses suite text, checking that every case says one thing.
    pub fn parse(text: &str) -> Result<Suite, String> {
        let suite: Suite = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, case) in suite.key.iter().enumerate() {
            let set = [
                &case.key,
                &case.wrong_arity,
                &case.invalid_part,
                &case.other,
            ]
            .iter()
            .filter(|o| o.is_some())
            .count();
            if set != 1 {
                return Err(format!(
                    "key case {} {:?}: give exactly one of key, wrong-arity, invalid-part, other",
                    i + 1,
                    case.parts
                ));
            }
        }
        for (i, case) in suite.validate.iter().enumerate() {
            if case.json.is_some() == case.msgpack.is_some() {
                return Err(format!(
                    "validate case {}: give exactly one of json, msgpack",
                    i + 1
                ));
            }
            if case.host.is_some() && !case.reasons.is_empty() {
                return Err(format!(
                    "validate case {}: give reasons or host, not both",
                    i + 1
                ));
            }
            case.value()
                .map_err(|e| format!("validate case {}: {e}", i + 1))?;
        }
        for (i, case) in suite.event.iter().enumerate() {
            if case.payload.is_some() == case.payload_msgpack.is_some() {
                return Err(format!(
                    "event case {} ({}): give exactly one of payload, payload-msgpack",
                    i + 1,
                    case.name
                ));
            }
            if case.host.is_some() && (case.expects_error() || !case.keys.is_empty()) {
                return Err(format!(
                    "event case {} ({}): give a plugin answer or host, not both",
                    i + 1,
                    case.name
                ));
            }
            case.payload()
                .map_err(|e| format!("event case {} ({}): {e}", i + 1, case.name))?;
        }
        Ok(suite)
    }

    /// Number of cases, the describe check counting as one.
    pub fn len(&self) -> usize {
        1 + self.key.len() + self.validate.len() + self.event.len()
    }

    /// Whether the suite has no cases beyond the describe check.
    pub fn is_empty(&self) -> bool {
        self.key.is_empty() && self.validate.is_empty() && self.event.is_empty()
    }

    /// Runs every case against `subject`.
    pub fn run(&self, subject: &mut dyn Subject) -> Report {
        let mut report = Report::default();
        let mut record = |label: String, outcome: Result<bool, String>| match outcome {
            Ok(host) => {
                report.passed += 1;
                report.host_answered += usize::from(host);
            }
            Err(why) => report.failures.push(format!("{label}: {why}")),
        };
        record(
            "describe".into(),
            self.check_describe(subject).map(|()| false),
        );
        for case in &self.key {
            record(format!("key {:?}", case.parts), case.check(subject));
        }
        for case in &self.validate {
            let label = match (&case.json, &case.msgpack) {
                (Some(json), _) => format!("validate {json}"),
                (_, Some(hex)) => format!("validate msgpack {hex}"),
                _ => "validate".into(),
            };
            record(label, case.check(subject));
        }
        for case in &self.event {
            let payload = case
                .payload
                .clone()
                .or_else(|| {
                    case.payload_msgpack
                        .as_ref()
                        .map(|h| format!("msgpack {h}"))
                })
                .unwrap_or_default();
            record(
                format!("event {} {payload}", case.name),
                case.check(subject),
            );
        }
        report
    }

    fn check_describe(&self, subject: &mut dyn Subject) -> Result<(), String> {
        let got = subject.describe().map_err(|e| e.to_string())?;
        let mut wrong = Vec::new();
        let mut expected = self.describe.clone();
        expected.insert("name".into(), toml::Value::String(self.cache.clone()));
        for (field, want) in &expected {
            let want = serde_json::to_value(want).map_err(|e| e.to_string())?;
            match got.get(field) {
                Some(have) if *have == want => {}
                Some(have) => wrong.push(format!("{field}: expected {want}, got {have}")),
                None => wrong.push(format!("{field}: expected {want}, missing")),
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("; "))
        }
    }
}

impl KeyCase {
    fn expected(&self) -> Result<String, KeyError> {
        match (
            &self.key,
            &self.wrong_arity,
            &self.invalid_part,
            &self.other,
        ) {
            (Some(key), ..) => Ok(key.clone()),
            (_, Some(m), ..) => Err(KeyError::WrongArity(m.clone())),
            (_, _, Some(m), _) => Err(KeyError::InvalidPart(m.clone())),
            (_, _, _, Some(m)) => Err(KeyError::Other(m.clone())),
            _ => Err(KeyError::Other(String::new())),
        }
    }

    fn check(&self, subject: &mut dyn Subject) -> Result<bool, String> {
        let want = self.expected();
        match subject.key(&self.parts).map_err(|e| e.to_string())? {
            Answer::Host(_) if want.is_err() => Ok(true),
            Answer::Host(why) => Err(format!("expected {want:?}, host refused: {why}")),
            Answer::Plugin(got) if got == want => Ok(false),
            Answer::Plugin(got) => Err(format!("expected {want:?}, got {got:?}")),
        }
    }
}

impl ValidateCase {
    /// The value as MessagePack, as written: the subject (a server, or
    /// `plugin check`) applies the host's rules itself.
    pub fn value(&self) -> Result<Vec<u8>, String> {
        match (&self.json, &self.msgpack) {
            (Some(json), _) => {
                transcode::json_to_msgpack(json.as_bytes()).map_err(|e| e.to_string())
            }
            (_, Some(hex)) => from_hex(hex),
            _ => Err("no value".into()),
        }
    }

    /// `Ok(true)` when the host, not the plugin, refused as expected.
    fn check(&self, subject: &mut dyn Subject) -> Result<bool, String> {
        let value = self.value()?;
        let got = subject.validate(&value).map_err(|e| e.to_string())?;
        if let Some(want) = &self.host {
            return host_refused(want, got);
        }
        match got {
            Verdict::Host(why) if self.reasons.is_empty() => {
                Err(format!("expected acceptance, host refused: {why}"))
            }
            Verdict::Host(why) => Err(format!(
                "expected the plugin's refusal {:?}, host refused: {why}",
                self.reasons
            )),
            Verdict::Plugin(Ok(())) if self.reasons.is_empty() => Ok(false),
            Verdict::Plugin(Ok(())) => Err(format!(
                "expected refusal {:?}, got acceptance",
                self.reasons
            )),
            Verdict::Plugin(Err(reasons)) => {
                let same = reasons.len() == self.reasons.len()
                    && reasons
                        .iter()
                        .zip(&self.reasons)
                        .all(|(got, want)| matches(want, got));
                if same {
                    Ok(false)
                } else {
                    Err(format!("expected {:?}, got {reasons:?}", self.reasons))
                }
            }
        }
    }
}

impl EventCase {
    /// The payload as MessagePack, as written (see [`ValidateCase::value`]).
    pub fn payload(&self) -> Result<Vec<u8>, String> {
        match (&self.payload, &self.payload_msgpack) {
            (Some(json), _) => {
                transcode::json_to_msgpack(json.as_bytes()).map_err(|e| e.to_string())
            }
            (_, Some(hex)) => from_hex(hex),
            _ => Err("no payload".into()),
        }
    }

    fn check(&self, subject: &mut dyn Subject) -> Result<bool, String> {
        let payload = self.payload()?;
        let answer = subject
            .plan(&self.name, &payload)
            .map_err(|e| e.to_string())?;
        if let Some(want) = &self.host {
            return host_refused(want, answer);
        }
        let got = match answer {
            Plan::Host(why) => {
                return Err(format!(
                    "expected {}, host refused: {why}",
                    self.describe_expected()
                ));
            }
            Plan::Plugin(answer) => answer,
        };
        let fits = match (&got, &self.unknown_event, &self.bad_payload, &self.other) {
            (Err(EventError::UnknownEvent(m)), Some(want), _, _)
            | (Err(EventError::BadPayload(m)), _, Some(want), _)
            | (Err(EventError::Other(m)), _, _, Some(want)) => matches(want, m),
            (Err(_), ..) => false,
            (Ok(_), ..) if self.expects_error() => false,
            (Ok(inv), ..) => {
                inv.keys == self.keys
                    && inv.patterns == self.patterns
                    && inv.dependent_caches == self.dependent_caches
                    && inv.cascade == self.cascade
                    && self.reason.as_ref().is_none_or(|r| matches(r, &inv.reason))
            }
        };
        if fits {
            Ok(false)
        } else {
            Err(format!(
                "expected {}, got {got:?}",
                self.describe_expected()
            ))
        }
    }

    fn expects_error(&self) -> bool {
        self.unknown_event.is_some() || self.bad_payload.is_some() || self.other.is_some()
    }

    fn describe_expected(&self) -> String {
        match (&self.unknown_event, &self.bad_payload, &self.other) {
            (Some(m), ..) => format!("unknown-event {m:?}"),
            (_, Some(m), _) => format!("bad-payload {m:?}"),
            (_, _, Some(m)) => format!("other {m:?}"),
            _ => format!(
                "keys {:?} patterns {:?} dependent-caches {:?} cascade {} reason {:?}",
                self.keys, self.patterns, self.dependent_caches, self.cascade, self.reason
            ),
        }
    }
}

/// `Ok(true)` when the host refused with the text `want`. A server's reply
/// starts with its error code (`ERR invalid MessagePack: ...`); the code is
/// not part of the text.
fn host_refused<T: fmt::Debug>(want: &str, got: Answer<T>) -> Result<bool, String> {
    match got {
        Answer::Host(why) => {
            let text = match why.split_once(' ') {
                Some((code, rest)) if code.bytes().all(|b| b.is_ascii_uppercase()) => rest,
                _ => why.as_str(),
            };
            if matches(want, text) {
                Ok(true)
            } else {
                Err(format!(
                    "expected the host to refuse with {want:?}, got {why:?}"
                ))
            }
        }
        Answer::Plugin(answer) => Err(format!(
            "expected the host to refuse with {want:?}, but the plugin answered {answer:?}"
        )),
    }
}

/// Exact text, or a prefix when the expectation ends in `...`.
fn matches(want: &str, got: &str) -> bool {
    match want.strip_suffix("...") {
        Some(prefix) => got.starts_with(prefix),
        None => want == got,
    }
}

fn from_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("{hex:?} is not hex (odd length)"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("{hex:?} is not hex"))
        })
        .collect()
}

/// A definition's fields as `CACHE.INFO` names them, for `[describe]`.
pub fn descriptor_fields(d: &Definition) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), d.name.clone().into());
    m.insert("id".into(), d.versioned_id().into());
    m.insert("description".into(), d.description.clone().into());
    m.insert("version".into(), d.version.to_string().into());
    m.insert("default-ttl-ms".into(), d.default_ttl_ms.into());
    m.insert("max-ttl-ms".into(), d.max_ttl_ms.into());
    let expiration = match d.expiry {
        ExpiryMode::Absolute => "absolute",
        ExpiryMode::Sliding => "sliding",
    };
    m.insert("expiration".into(), expiration.into());
    let eviction = match d.eviction {
        Policy::Lru => "lru",
        Policy::Lfu => "lfu",
    };
    m.insert("eviction".into(), eviction.into());
    m.insert("max-items".into(), d.max_items.into());
    m.insert("allow-null".into(), d.allow_null.into());
    m.insert(
        "compress-threshold".into(),
        d.compress_threshold.map_or(Value::Null, Value::from),
    );
    m.insert("encrypt".into(), d.encrypt.into());
    m.insert("pure-keys".into(), d.pure_keys.into());
    m.insert(
        "invalidation-events".into(),
        d.invalidation_events.clone().into(),
    );
    m.insert("dependent-caches".into(), d.dependent_caches.clone().into());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subject with fixed answers, to test the runner's judging.
    struct Canned;

    impl Subject for Canned {
        fn describe(&mut self) -> Result<Map<String, Value>, SubjectError> {
            let mut m = Map::new();
            m.insert("name".into(), "C".into());
            m.insert("max-items".into(), 10.into());
            Ok(m)
        }
        fn key(&mut self, parts: &[String]) -> Result<KeyAnswer, SubjectError> {
            Ok(Answer::Plugin(match parts {
                [one] => Ok(format!("C:{one}")),
                _ => Err(KeyError::WrongArity("one part".into())),
            }))
        }
        fn validate(&mut self, msgpack: &[u8]) -> Result<Verdict, SubjectError> {
            Ok(match msgpack {
                [0xc0] => Verdict::Plugin(Err(vec!["null is not a C: use a map".into()])),
                [0xc1] => Verdict::Host("ERR invalid MessagePack: byte 0xc1".into()),
                _ => Verdict::Plugin(Ok(())),
            })
        }
        fn plan(&mut self, event: &str, _: &[u8]) -> Result<Plan, SubjectError> {
            Ok(Plan::Plugin(match event {
                "Changed" => Ok(Invalidation {
                    patterns: vec!["C:*".into()],
                    reason: "all".into(),
                    ..Invalidation::default()
                }),
                _ => Err(EventError::UnknownEvent(format!("no {event}"))),
            }))
        }
    }

    const SUITE: &str = r#"
cache = "C"
[describe]
max-items = 10
[[key]]
parts = ["1"]
key = "C:1"
[[key]]
parts = ["1", "2"]
wrong-arity = "one part"
[[validate]]
json = "null"
reasons = ["null is not a C..."]
[[validate]]
msgpack = "c1"
host = "invalid MessagePack..."
[[validate]]
json = '{"a": 1}'
reasons = []
[[event]]
name = "Changed"
payload = "{}"
patterns = ["C:*"]
reason = "all"
[[event]]
name = "Other"
payload = "{}"
unknown-event = "no Other"
"#;

    #[test]
    fn a_matching_subject_passes_every_case() {
        let suite = Suite::parse(SUITE).unwrap();
        let report = suite.run(&mut Canned);
        assert!(report.ok(), "{report}");
        assert_eq!(report.passed, suite.len());
        assert_eq!(report.host_answered, 1);
    }

    #[test]
    fn each_kind_of_mismatch_is_reported_with_expected_and_got() {
        let wrong = SUITE
            .replace("key = \"C:1\"", "key = \"C-1\"")
            .replace("max-items = 10", "max-items = 11")
            .replace("reasons = []", "reasons = [\"no\"]")
            .replace("patterns = [\"C:*\"]", "patterns = [\"D:*\"]")
            .replace("unknown-event = \"no Other\"", "bad-payload = \"no Other\"");
        let report = Suite::parse(&wrong).unwrap().run(&mut Canned);
        assert_eq!(report.failures.len(), 5, "{report}");
        let text = report.to_string();
        assert!(text.contains("max-items: expected 11, got 10"), "{text}");
        assert!(
            text.contains(r#"expected Ok("C-1"), got Ok("C:1")"#),
            "{text}"
        );
    }

    #[test]
    fn a_host_refusal_counts_only_where_the_suite_expects_it() {
        let plugin_expected = SUITE.replace(
            "host = \"invalid MessagePack...\"",
            "reasons = [\"anything...\"]",
        );
        let report = Suite::parse(&plugin_expected).unwrap().run(&mut Canned);
        assert_eq!(report.failures.len(), 1, "{report}");
        assert!(report.to_string().contains("host refused"), "{report}");

        let wrong_text = SUITE.replace("invalid MessagePack...", "invalid JSON...");
        let report = Suite::parse(&wrong_text).unwrap().run(&mut Canned);
        assert_eq!(report.failures.len(), 1, "{report}");

        let host_expected = SUITE.replace("reasons = []", "host = \"x\"");
        let report = Suite::parse(&host_expected).unwrap().run(&mut Canned);
        assert!(
            report
                .to_string()
                .contains("but the plugin answered Ok(())"),
            "{report}"
        );
        let both = "cache = \"C\"\n[[validate]]\njson = \"1\"\nreasons = [\"a\"]\nhost = \"b\"\n";
        assert!(Suite::parse(both).unwrap_err().contains("not both"));
    }

    #[test]
    fn ambiguous_cases_are_refused_when_the_suite_is_read() {
        let both = "cache = \"C\"\n[[key]]\nparts = []\nkey = \"a\"\nother = \"b\"\n";
        assert!(Suite::parse(both).unwrap_err().contains("exactly one"));
        let bad_hex = "cache = \"C\"\n[[validate]]\nmsgpack = \"zz\"\nreasons = []\n";
        assert!(Suite::parse(bad_hex).unwrap_err().contains("not hex"));
        let unknown = "cache = \"C\"\nwat = 1\n";
        assert!(Suite::parse(unknown).is_err());
    }

    #[test]
    fn a_trailing_ellipsis_matches_a_prefix_only() {
        assert!(matches("abc...", "abcdef"));
        assert!(!matches("abc...", "ab"));
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abcd"));
    }
}
