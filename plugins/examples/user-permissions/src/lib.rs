//! `UserPermissions`: a user's roles (`{userId, roles: [..]}` in
//! MessagePack, or nil for a cached "no permissions") keyed
//! `Permissions:{userId}` or `Permissions:{userId}:role:{roleId}`. A
//! dependent cache of `UserCache`: user events reach it by cascade.

wit_bindgen::generate!({ path: "../../../wit", world: "plugin" });

use hoard::definition::types::{EvictionPolicy, Expiration};
use hoard_guest::{Field, Value, check_part, decode, field};

const MINUTE_MS: u64 = 60_000;

struct Component;

impl Guest for Component {
    fn describe() -> Descriptor {
        Descriptor {
            id: "user-permissions".into(),
            name: "UserPermissions".into(),
            description: "Roles granted to a user, invalidated by permission and user events."
                .into(),
            version: "1.0.0".into(),
            default_ttl_ms: 10 * MINUTE_MS,
            max_ttl_ms: 60 * MINUTE_MS,
            expiration: Expiration::Sliding,
            eviction: EvictionPolicy::Lfu,
            max_items: 50_000,
            allow_null: true,
            compress: None,
            encrypt: false,
            pure_keys: true,
            invalidation_events: vec!["PermissionsChanged".into()],
            dependent_caches: Vec::new(),
            metadata: vec![("owner".into(), "identity-team".into())],
        }
    }

    fn generate_key(parts: Vec<String>) -> Result<String, KeyError> {
        match parts.as_slice() {
            [user] => {
                check_part("userId", user).map_err(KeyError::InvalidPart)?;
                Ok(format!("Permissions:{user}"))
            }
            [user, role] => {
                check_part("userId", user).map_err(KeyError::InvalidPart)?;
                check_part("roleId", role).map_err(KeyError::InvalidPart)?;
                Ok(format!("Permissions:{user}:role:{role}"))
            }
            _ => Err(KeyError::WrongArity(format!(
                "UserPermissions keys take [userId] (Permissions:{{userId}}) or [userId, roleId] \
                 (Permissions:{{userId}}:role:{{roleId}}), got {} parts",
                parts.len()
            ))),
        }
    }

    fn validate(value: Vec<u8>) -> Result<(), Vec<String>> {
        let value = decode(&value).map_err(|e| vec![format!("The value is {e}.")])?;
        let entries = match &value {
            Value::Nil => return Ok(()), // negative caching: "this user has no permissions"
            Value::Map(entries) => entries,
            other => {
                return Err(vec![format!(
                    "The value must be a map or nil, not {}.",
                    other.kind()
                )]);
            }
        };
        let mut errors = Vec::new();
        match field(entries, "userId") {
            Field::Present(Value::Str(s)) if !s.is_empty() => {}
            Field::Present(_) => errors.push("`userId` must be a non-empty string.".to_owned()),
            Field::Missing => errors.push("`userId` is required.".to_owned()),
            Field::Duplicate => errors.push("`userId` appears more than once.".to_owned()),
        }
        match field(entries, "roles") {
            Field::Present(Value::Array(roles)) => {
                if let Some(i) = roles.iter().position(|r| r.as_str().is_none()) {
                    errors.push(format!(
                        "`roles` must hold only strings; item {i} is {}.",
                        roles[i].kind()
                    ));
                }
            }
            Field::Present(_) => errors.push("`roles` must be an array of strings.".to_owned()),
            Field::Missing => errors.push("`roles` is required.".to_owned()),
            Field::Duplicate => errors.push("`roles` appears more than once.".to_owned()),
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn on_event(name: String, payload: Vec<u8>) -> Result<Invalidation, EventError> {
        if !matches!(
            name.as_str(),
            "UserUpdated" | "ProfileChanged" | "UserDeleted" | "PermissionsChanged"
        ) {
            return Err(EventError::UnknownEvent(format!(
                "UserPermissions does not handle {name:?}"
            )));
        }
        let user = user_id(&payload)?;
        Ok(Invalidation {
            keys: vec![format!("Permissions:{user}")],
            patterns: vec![format!("Permissions:{user}:*")],
            dependent_caches: Vec::new(),
            cascade: false,
            reason: format!("{name}: permissions of user {user} may have changed"),
        })
    }
}

/// The payload's `userId`, which must be usable as a key part.
fn user_id(payload: &[u8]) -> Result<String, EventError> {
    let bad = |e: String| {
        EventError::BadPayload(format!("{e}; expected a map like {{\"userId\": \"u1\"}}"))
    };
    let value = decode(payload).map_err(|e| bad(format!("payload is {e}")))?;
    let entries = value
        .as_map()
        .ok_or_else(|| bad(format!("payload is {}, not a map", value.kind())))?;
    match field(entries, "userId") {
        Field::Present(Value::Str(s)) => check_part("userId", s)
            .map(|()| (*s).to_owned())
            .map_err(bad),
        Field::Present(v) => Err(bad(format!("userId is {}, not a string", v.kind()))),
        Field::Missing => Err(bad("userId is missing".into())),
        Field::Duplicate => Err(bad("userId appears more than once".into())),
    }
}

export!(Component);
