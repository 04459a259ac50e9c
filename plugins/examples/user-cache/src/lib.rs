//! `UserCache`: the design's example definition. Entries are user records
//! (`{id, email, name?, createdAt?, version?}` in MessagePack) keyed
//! `User:{id}` or `User:{id}:v{version}`; user events invalidate a user's
//! keys and cascade to `UserPermissions`.

wit_bindgen::generate!({ path: "../../../wit", world: "plugin" });

use hoard::definition::host::{self, LogLevel};
use hoard::definition::types::{Compression, EvictionPolicy, Expiration};
use hoard_guest::{Field, Slot, Value, check_part, decode, field, parse_rfc3339_ms, record};

const MINUTE_MS: u64 = 60_000;
/// How far `createdAt` may lie ahead of the host's clock.
const CLOCK_SKEW_MS: i64 = 5_000;

struct Component;

impl Guest for Component {
    fn describe() -> Descriptor {
        Descriptor {
            id: "user-cache".into(),
            name: "UserCache".into(),
            description:
                "User records by id, invalidated when a user is updated, changed or deleted.".into(),
            version: "1.0.0".into(),
            default_ttl_ms: 30 * MINUTE_MS,
            max_ttl_ms: 24 * 60 * MINUTE_MS,
            expiration: Expiration::Absolute,
            eviction: EvictionPolicy::Lru,
            max_items: 10_000,
            allow_null: false,
            compress: Some(Compression {
                threshold_bytes: 1024,
            }),
            encrypt: true,
            pure_keys: true,
            invalidation_events: [
                "UserUpdated",
                "ProfileChanged",
                "UserDeleted",
                "PermissionsChanged",
            ]
            .map(String::from)
            .to_vec(),
            dependent_caches: vec!["UserPermissions".into()],
            metadata: vec![("owner".into(), "identity-team".into())],
        }
    }

    fn generate_key(parts: Vec<String>) -> Result<String, KeyError> {
        match parts.as_slice() {
            [id] => {
                check_part("id", id).map_err(KeyError::InvalidPart)?;
                Ok(format!("User:{id}"))
            }
            [id, version] => {
                check_part("id", id).map_err(KeyError::InvalidPart)?;
                let version = parse_version(version).ok_or_else(|| {
                    KeyError::InvalidPart("version must be a non-negative integer".into())
                })?;
                Ok(format!("User:{id}:v{version}"))
            }
            _ => Err(KeyError::WrongArity(format!(
                "UserCache keys take [id] (User:{{id}}) or [id, version] (User:{{id}}:v{{version}}), got {} parts",
                parts.len()
            ))),
        }
    }

    fn validate(value: Vec<u8>) -> Result<(), Vec<String>> {
        let fields = match record(&value, FIELDS) {
            Some(fields) => fields,
            // Not one well-formed map: the full decoder says why.
            None => {
                let value = decode(&value).map_err(|e| vec![format!("The value is {e}.")])?;
                let Some(entries) = value.as_map() else {
                    return Err(vec![format!(
                        "The value must be a map, not {}.",
                        value.kind()
                    )]);
                };
                FIELDS.map(|name| Slot::from(field(entries, name)))
            }
        };
        check_fields(fields)
    }

    fn on_event(name: String, payload: Vec<u8>) -> Result<Invalidation, EventError> {
        let invalidation = |keys: Vec<String>,
                            patterns: Vec<String>,
                            cascade: bool,
                            reason: String| Invalidation {
            keys,
            patterns,
            dependent_caches: Vec::new(),
            cascade,
            reason,
        };
        match name.as_str() {
            "UserUpdated" | "ProfileChanged" => {
                let (id, _) = user_payload(&payload, false)?;
                Ok(invalidation(
                    vec![format!("User:{id}")],
                    vec![format!("User:{id}:*")],
                    true,
                    format!("{name}: user {id} changed"),
                ))
            }
            "UserDeleted" => {
                let (id, _) = user_payload(&payload, false)?;
                Ok(invalidation(
                    vec![format!("User:{id}")],
                    vec![
                        format!("User:{id}:*"),
                        format!("UserSessions:{id}:*"),
                        format!("UserActivity:{id}:*"),
                    ],
                    true,
                    format!("{name}: user {id} was deleted"),
                ))
            }
            "PermissionsChanged" => {
                let (id, role) = user_payload(&payload, true)?;
                let keys = role
                    .iter()
                    .map(|r| format!("Permissions:{id}:role:{r}"))
                    .collect();
                Ok(invalidation(
                    keys,
                    vec![format!("Permissions:{id}:*")],
                    false,
                    format!("{name}: permissions of user {id} changed"),
                ))
            }
            _ => {
                host::log(LogLevel::Debug, &format!("UserCache ignores {name}"));
                Err(EventError::UnknownEvent(format!(
                    "UserCache does not handle {name}"
                )))
            }
        }
    }
}

/// The fields a user record may have, in the order their errors are listed.
const FIELDS: [&str; 5] = ["id", "email", "name", "version", "createdAt"];

/// Every reason the record's fields break the rules, one sentence each.
fn check_fields([id, email, name, version, created_at]: [Slot<'_>; 5]) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut check =
        |name: &str, required: bool, slot: Slot<'_>, rule: fn(&Value) -> Result<(), String>| {
            match slot {
                Slot::Missing if required => errors.push(format!("`{name}` is required.")),
                Slot::Missing => {}
                Slot::Duplicate => errors.push(format!("`{name}` appears more than once.")),
                Slot::Present(v) => {
                    if let Err(e) = rule(&v) {
                        errors.push(format!("`{name}` {e}."));
                    }
                }
            }
        };
    check("id", true, id, |v| match v.as_str() {
        Some(s) if !s.is_empty() => Ok(()),
        _ => Err("must be a non-empty string".into()),
    });
    check("email", true, email, |v| match v.as_str() {
        Some(s) if is_email(s) => Ok(()),
        _ => Err("must be a string with exactly one '@' and a dot in the domain".into()),
    });
    check("name", false, name, |v| match v {
        Value::Str(_) => Ok(()),
        _ => Err("must be a string".into()),
    });
    check("version", false, version, |v| match v {
        Value::UInt(_) => Ok(()),
        _ => Err("must be a non-negative integer".into()),
    });
    check("createdAt", false, created_at, |v| {
        let ms = v
            .as_str()
            .and_then(parse_rfc3339_ms)
            .ok_or("must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z")?;
        let now = i64::try_from(host::now_ms()).unwrap_or(i64::MAX);
        if ms > now.saturating_add(CLOCK_SKEW_MS) {
            Err("must not be in the future".into())
        } else {
            Ok(())
        }
    });
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A canonical non-negative integer (`007` becomes `7`), digits only.
fn parse_version(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// One '@' with a non-empty local part, and a domain with an inner dot.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

/// `userId` (required) and, when asked, `roleId` (optional) from an event
/// payload; both must be usable as key parts.
fn user_payload(payload: &[u8], with_role: bool) -> Result<(String, Option<String>), EventError> {
    let bad = |e: String| {
        EventError::BadPayload(format!("{e}; expected a map like {{\"userId\": \"u1\"}}"))
    };
    let value = decode(payload).map_err(|e| bad(format!("payload is {e}")))?;
    let entries = value
        .as_map()
        .ok_or_else(|| bad(format!("payload is {}, not a map", value.kind())))?;
    let id = match field(entries, "userId") {
        Field::Present(Value::Str(s)) => s,
        Field::Present(v) => return Err(bad(format!("userId is {}, not a string", v.kind()))),
        Field::Missing => return Err(bad("userId is missing".into())),
        Field::Duplicate => return Err(bad("userId appears more than once".into())),
    };
    check_part("userId", id).map_err(bad)?;
    let role = match (with_role, field(entries, "roleId")) {
        (false, _) | (true, Field::Missing | Field::Present(Value::Nil)) => None,
        (true, Field::Present(Value::Str(r))) => {
            check_part("roleId", r).map_err(bad)?;
            Some((*r).to_owned())
        }
        (true, Field::Present(v)) => {
            return Err(bad(format!("roleId is {}, not a string", v.kind())));
        }
        (true, Field::Duplicate) => return Err(bad("roleId appears more than once".into())),
    };
    Ok(((*id).to_owned(), role))
}

export!(Component);
