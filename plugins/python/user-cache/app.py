"""``UserCache``: hoard's example cache definition, in Python.

Entries are user records (``{id, email, name?, createdAt?, version?}`` in
MessagePack) keyed ``User:{id}`` or ``User:{id}:v{version}``; user events
invalidate a user's keys and cascade to ``UserPermissions``.

This is a port of the Rust reference (``plugins/examples/user-cache``) and
passes the same conformance suite. Values arrive as MessagePack that the host
has already checked (one value, string keys without repeats, UTF-8 strings,
bounded depth), so the stock ``msgpack`` package decodes them; it is a
dependency in pyproject.toml that ``hoard plugin build`` installs in its
pure-Python form. componentize-py
generates the ``wit_world`` package from the WIT contract (world ``plugin``)
at build time; the component's exports are the methods of the
``WitWorld`` class below. A WIT ``result`` error is returned by raising
``componentize_py_types.Err(...)``.
"""

from componentize_py_types import Err

import wit_world
from wit_world.imports import host
from wit_world.imports.host import LogLevel
from wit_world.imports.types import (
    Compression,
    Descriptor,
    EventError_BadPayload,
    EventError_UnknownEvent,
    EvictionPolicy,
    Expiration,
    Invalidation,
    KeyError_InvalidPart,
    KeyError_WrongArity,
)

import msgpack

from key_parts import KeyPartError, check_part, parse_version, space_or_control
from rfc3339 import parse_rfc3339_ms

MINUTE_MS = 60_000
#: How far ``createdAt`` may lie ahead of the host's clock.
CLOCK_SKEW_MS = 5_000
#: What a bad event payload should have looked like, appended to its error.
PAYLOAD_HINT = '; expected a map like {"userId": "u1"}'


class WitWorld(wit_world.WitWorld):
    def describe(self) -> Descriptor:
        return Descriptor(
            id="user-cache",
            name="UserCache",
            description=(
                "User records by id, invalidated when a user is updated, changed or deleted."
            ),
            version="1.0.0",
            default_ttl_ms=30 * MINUTE_MS,
            max_ttl_ms=24 * 60 * MINUTE_MS,
            expiration=Expiration.ABSOLUTE,
            eviction=EvictionPolicy.LRU,
            max_items=10_000,
            allow_null=False,
            compress=Compression(threshold_bytes=1024),
            encrypt=True,
            pure_keys=True,
            invalidation_events=["UserUpdated", "ProfileChanged", "UserDeleted", "PermissionsChanged"],
            dependent_caches=["UserPermissions"],
            metadata=[("owner", "identity-team"), ("language", "python")],
        )

    def generate_key(self, parts: list[str]) -> str:
        if len(parts) not in (1, 2):
            raise Err(KeyError_WrongArity(
                "UserCache keys take [id] (User:{id}) or [id, version] "
                f"(User:{{id}}:v{{version}}), got {len(parts)} parts"
            ))
        user_id = parts[0]
        try:
            check_part("id", user_id)
        except KeyPartError as e:
            raise Err(KeyError_InvalidPart(str(e)))
        if len(parts) == 1:
            return f"User:{user_id}"
        version = parse_version(parts[1])
        if version is None:
            raise Err(KeyError_InvalidPart("version must be a non-negative integer"))
        return f"User:{user_id}:v{version}"

    def validate(self, value: bytes) -> None:
        try:
            record = decode(value)
        except Exception:  # whatever the decoder raises
            raise Err(["The value is not valid MessagePack."])
        if not isinstance(record, dict):
            raise Err([f"The value must be a map, not {kind(record)}."])

        errors: list[str] = []
        for name, required, problem_of in FIELD_RULES:
            if name not in record:
                if required:
                    errors.append(f"`{name}` is required.")
            elif (problem := problem_of(record[name])) is not None:
                errors.append(f"`{name}` {problem}.")
        if errors:
            raise Err(errors)

    def on_event(self, name: str, payload: bytes) -> Invalidation:
        if name in ("UserUpdated", "ProfileChanged"):
            user_id, _ = user_payload(payload, with_role=False)
            return Invalidation(
                keys=[f"User:{user_id}"],
                patterns=[f"User:{user_id}:*"],
                dependent_caches=[],
                cascade=True,
                reason=f"{name}: user {user_id} changed",
            )
        if name == "UserDeleted":
            user_id, _ = user_payload(payload, with_role=False)
            return Invalidation(
                keys=[f"User:{user_id}"],
                patterns=[
                    f"User:{user_id}:*",
                    f"UserSessions:{user_id}:*",
                    f"UserActivity:{user_id}:*",
                ],
                dependent_caches=[],
                cascade=True,
                reason=f"{name}: user {user_id} was deleted",
            )
        if name == "PermissionsChanged":
            user_id, role = user_payload(payload, with_role=True)
            return Invalidation(
                keys=[] if role is None else [f"Permissions:{user_id}:role:{role}"],
                patterns=[f"Permissions:{user_id}:*"],
                dependent_caches=[],
                cascade=False,
                reason=f"{name}: permissions of user {user_id} changed",
            )
        host.log(LogLevel.DEBUG, f"UserCache ignores {name}")
        raise Err(EventError_UnknownEvent(f"UserCache does not handle {name}"))


def decode(data: bytes):
    """One MessagePack value: strings as ``str``, binary as ``bytes``, maps as ``dict``."""
    return msgpack.unpackb(data, raw=False, strict_map_key=True)


def kind(value) -> str:
    """A value's MessagePack type, as error texts name it in every language."""
    if value is None:
        return "nil"
    for types, name in KINDS:
        if isinstance(value, types):
            return name
    return "an extension value"


#: Decoded Python types and their names; bool before int, as a bool is an int.
KINDS = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a float"),
    (str, "a string"),
    (bytes, "binary data"),
    (list, "an array"),
    (dict, "a map"),
)


# The field rules of `validate`: each returns what is wrong with a value, or None.


def id_problem(value) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def email_problem(value) -> str | None:
    if isinstance(value, str) and is_email(value):
        return None
    return "must be a string with exactly one '@' and a dot in the domain"


def name_problem(value) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def version_problem(value) -> str | None:
    # A MessagePack non-negative integer; a Python bool is an int, but not one of these.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    return "must be a non-negative integer"


def created_at_problem(value) -> str | None:
    """An RFC 3339 time, not later than the host's clock allows."""
    ms = parse_rfc3339_ms(value) if isinstance(value, str) else None
    if ms is None:
        return "must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z"
    if ms > host.now_ms() + CLOCK_SKEW_MS:
        return "must not be in the future"
    return None


#: (field, required, rule), checked in this order; the error list follows it.
FIELD_RULES = (
    ("id", True, id_problem),
    ("email", True, email_problem),
    ("name", False, name_problem),
    ("version", False, version_problem),
    ("createdAt", False, created_at_problem),
)


def is_email(text: str) -> bool:
    """One '@' with a non-empty local part, and a domain with an inner dot."""
    local, at, domain = text.partition("@")
    return (
        bool(at)
        and bool(local)
        and "@" not in domain
        and "." in domain
        and not domain.startswith(".")
        and not domain.endswith(".")
        and not any(space_or_control(c) for c in text)
    )


def user_payload(payload: bytes, with_role: bool) -> tuple[str, str | None]:
    """``userId`` (required) and, when asked, ``roleId`` (optional) of an event payload.

    Both must be usable as key parts; anything else raises ``Err(BadPayload)``.
    """

    def bad(problem: str) -> Err:
        return Err(EventError_BadPayload(problem + PAYLOAD_HINT))

    try:
        value = decode(payload)
    except Exception:  # whatever the decoder raises
        raise bad("payload is not valid MessagePack")
    if not isinstance(value, dict):
        raise bad(f"payload is {kind(value)}, not a map")

    if "userId" not in value:
        raise bad("userId is missing")
    user_id = value["userId"]
    if not isinstance(user_id, str):
        raise bad(f"userId is {kind(user_id)}, not a string")
    try:
        check_part("userId", user_id)
    except KeyPartError as e:
        raise bad(str(e))

    if not with_role:
        return user_id, None
    role = value.get("roleId")
    if role is None:
        return user_id, None
    if not isinstance(role, str):
        raise bad(f"roleId is {kind(role)}, not a string")
    try:
        check_part("roleId", role)
    except KeyPartError as e:
        raise bad(str(e))
    return user_id, role
