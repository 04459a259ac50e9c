"""``UserDb`` in Python: the same rules and origin mapping as the Rust
example (``plugins/examples/user-db``), built with ``hoard plugin build``.

The plugin only maps: key parts to an origin request, the origin's
response to a value, a value to a write. The host runs the request against
the origin its operator configured, and refuses anything not allowed (a
statement that was not declared, a path outside the base).
"""

import json

from componentize_py_types import Err

import wit_world
from wit_world.exports import origin as o
from wit_world.imports.types import (
    Descriptor,
    EventError_BadPayload,
    EventError_UnknownEvent,
    EvictionPolicy,
    Expiration,
    Invalidation,
    KeyError_InvalidPart,
)

import msgpack

from key_parts import KeyPartError, check_part

MINUTE_MS = 60_000


def user_id(parts: list[str]) -> str:
    if len(parts) != 1:
        raise ValueError(f"UserDb keys take [id], got {len(parts)} parts")
    check_part("id", parts[0])
    return parts[0]


class WitWorld(wit_world.WitWorld):
    def describe(self) -> Descriptor:
        return Descriptor(
            id="user-db",
            name="UserDb",
            description="User records read through from the users table (or API), written through to it.",
            version="1.0.0",
            default_ttl_ms=5 * MINUTE_MS,
            max_ttl_ms=60 * MINUTE_MS,
            expiration=Expiration.ABSOLUTE,
            eviction=EvictionPolicy.LRU,
            max_items=100_000,
            allow_null=True,
            compress=None,
            encrypt=False,
            pure_keys=True,
            invalidation_events=["UserUpdated", "UserDeleted"],
            dependent_caches=[],
            metadata=[("owner", "identity-team")],
        )

    def generate_key(self, parts: list[str]) -> str:
        try:
            return f"UserDb:{user_id(parts)}"
        except (KeyPartError, ValueError) as e:
            raise Err(KeyError_InvalidPart(str(e)))

    def validate(self, value: bytes) -> None:
        user = msgpack.unpackb(value)
        errors = []
        if not isinstance(user, dict):
            raise Err(["The value is not a user ({id, email, name?})."])
        if not isinstance(user.get("id"), str) or not user["id"]:
            errors.append("`id` must not be empty.")
        if not isinstance(user.get("email"), str) or user["email"].count("@") != 1:
            errors.append("`email` must have exactly one '@'.")
        if errors:
            raise Err(errors)

    def on_event(self, name: str, payload: bytes) -> Invalidation:
        if name not in ("UserUpdated", "UserDeleted"):
            raise Err(EventError_UnknownEvent(f"UserDb does not handle {name}"))
        event = msgpack.unpackb(payload)
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise Err(EventError_BadPayload('expected a map like {"id": "1"}'))
        return Invalidation([f"UserDb:{event['id']}"], [], [], False, f"{name}: user {event['id']}")


class Origin(wit_world.exports.Origin):
    def load_request(self, kind: o.OriginKind, parts: list[str], key: str) -> o.Request:
        try:
            uid = user_id(parts)
        except (KeyPartError, ValueError) as e:
            raise Err(str(e))
        if kind == o.OriginKind.SQL:
            return o.Request_Sql(o.SqlCall("user_by_id", [o.SqlValue_Text(uid)]))
        return o.Request_Http(
            o.HttpCall(o.HttpMethod.GET, f"users/{uid}", [("accept", "application/json")], b"")
        )

    def load_response(self, parts: list[str], response: o.Response) -> o.Loaded:
        if isinstance(response, o.Response_Sql):
            rows = response.value
            if not rows.rows:
                return o.Loaded_NotFound()
            row = dict(zip(rows.columns, rows.rows[0]))

            def text(name):
                v = row.get(name)
                if isinstance(v, o.SqlValue_Text):
                    return v.value
                if isinstance(v, o.SqlValue_Integer):
                    return str(v.value)
                return None

            user = {"id": text("id"), "email": text("email")}
            if text("name") is not None:
                user["name"] = text("name")
        else:
            http = response.value
            if http.status == 404:
                return o.Loaded_NotFound()
            if http.status != 200:
                raise Err(f"the API answered HTTP {http.status}")
            try:
                user = json.loads(http.body)
            except ValueError as e:
                raise Err(f"the API's user is not valid JSON: {e}")
        return o.Loaded_Value(msgpack.packb(user))

    def write_request(
        self, kind: o.OriginKind, parts: list[str], value: bytes, sequence: int
    ) -> o.Request:
        uid = user_id(parts)
        user = msgpack.unpackb(value)
        if user.get("id") != uid:
            raise Err(f"the value's id {user.get('id')!r} is not the key's {uid!r}")
        if kind == o.OriginKind.SQL:
            name = user.get("name")
            return o.Request_Sql(
                o.SqlCall(
                    "upsert_user",
                    [
                        o.SqlValue_Text(uid),
                        o.SqlValue_Text(user["email"]),
                        o.SqlValue_Null() if name is None else o.SqlValue_Text(name),
                        o.SqlValue_Integer(sequence),
                    ],
                )
            )
        return o.Request_Http(
            o.HttpCall(
                o.HttpMethod.PUT,
                f"users/{uid}",
                [("content-type", "application/json")],
                json.dumps(user).encode(),
            )
        )
