// UserCache, hoard's example cache definition, in JavaScript: a port of the
// Rust reference (plugins/examples/user-cache) that passes the same
// conformance suite. Entries are user records (`{id, email, name?, createdAt?,
// version?}` in MessagePack) keyed `User:{id}` or `User:{id}:v{version}`;
// user events invalidate a user's keys and cascade to `UserPermissions`.
//
// The exports implement the WIT world `plugin` of hoard:definition@0.1.0
// (componentize-js names them in camelCase). A `result` export returns its
// ok value and throws its error value: a `{ tag, val }` variant for
// key-error and event-error, a list of sentences for validate.
//
// Values and payloads arrive as MessagePack the host has already checked
// (one value, string keys without repeats, UTF-8 strings, bounded depth), so
// the stock @msgpack/msgpack decodes them.

import './keep-bom.js'; // first: fixes how the bindings decode strings
import { log, nowMs } from 'hoard:definition/host@0.1.0';

import { checkPart, isControl, isWhitespace, parseVersion } from './key-parts.js';
import { decode, kind } from './values.js';
import { parseRfc3339Ms } from './rfc3339.js';

const MINUTE_MS = 60_000n;
/** How far `createdAt` may lie ahead of the host's clock. */
const CLOCK_SKEW_MS = 5_000n;
const I64_MAX = 2n ** 63n - 1n;

const EVENTS = ['UserUpdated', 'ProfileChanged', 'UserDeleted', 'PermissionsChanged'];

/** Describes the cache; u64 fields are BigInts. */
export function describe() {
  return {
    id: 'user-cache',
    name: 'UserCache',
    description: 'User records by id, invalidated when a user is updated, changed or deleted.',
    version: '1.0.0',
    defaultTtlMs: 30n * MINUTE_MS,
    maxTtlMs: 24n * 60n * MINUTE_MS,
    expiration: 'absolute',
    eviction: 'lru',
    maxItems: 10_000n,
    allowNull: false,
    compress: { thresholdBytes: 1024 },
    encrypt: true,
    pureKeys: true,
    invalidationEvents: [...EVENTS],
    dependentCaches: ['UserPermissions'],
    metadata: [
      ['owner', 'identity-team'],
      ['language', 'javascript'],
    ],
  };
}

/** `["42"]` -> `User:42`, `["42", "007"]` -> `User:42:v7`. */
export function generateKey(parts) {
  if (parts.length !== 1 && parts.length !== 2) {
    throw {
      tag: 'wrong-arity',
      val: `UserCache keys take [id] (User:{id}) or [id, version] (User:{id}:v{version}), got ${parts.length} parts`,
    };
  }
  const [id, versionPart] = parts;
  const idError = checkPart('id', id);
  if (idError !== null) {
    throw { tag: 'invalid-part', val: idError };
  }
  if (parts.length === 1) {
    return `User:${id}`;
  }
  const version = parseVersion(versionPart);
  if (version === null) {
    throw { tag: 'invalid-part', val: 'version must be a non-negative integer' };
  }
  return `User:${id}:v${version}`;
}

/** Checks a user record; throws every reason it is refused, in field order. */
export function validate(bytes) {
  const value = decode(bytes);
  if (value === undefined) {
    throw ['The value is not valid MessagePack.'];
  }
  if (kind(value) !== 'a map') {
    throw [`The value must be a map, not ${kind(value)}.`];
  }
  const errors = [];
  // `rule` returns why a present field is wrong, or null when it is fine.
  const check = (name, required, rule) => {
    if (!Object.hasOwn(value, name)) {
      if (required) errors.push(`\`${name}\` is required.`);
    } else {
      const error = rule(value[name]);
      if (error !== null) errors.push(`\`${name}\` ${error}.`);
    }
  };
  const isString = (v) => typeof v === 'string';
  check('id', true, (v) => (isString(v) && v !== '' ? null : 'must be a non-empty string'));
  check('email', true, (v) =>
    isString(v) && isEmail(v)
      ? null
      : "must be a string with exactly one '@' and a dot in the domain");
  check('name', false, (v) => (isString(v) ? null : 'must be a string'));
  check('version', false, (v) =>
    kind(v) === 'an integer' && v >= 0 ? null : 'must be a non-negative integer');
  check('createdAt', false, (v) => {
    const ms = isString(v) ? parseRfc3339Ms(v) : null;
    if (ms === null) {
      return 'must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z';
    }
    // As the Rust reference: the u64 clock saturates to i64, and so does the sum.
    const latest = atMostI64Max(atMostI64Max(nowMs()) + CLOCK_SKEW_MS);
    return BigInt(ms) > latest ? 'must not be in the future' : null;
  });
  if (errors.length > 0) {
    throw errors;
  }
}

/** Maps a user event to the keys and patterns it makes stale. */
export function onEvent(name, payload) {
  switch (name) {
    case 'UserUpdated':
    case 'ProfileChanged': {
      const { id } = userPayload(payload, false);
      return invalidation([`User:${id}`], [`User:${id}:*`], true, `${name}: user ${id} changed`);
    }
    case 'UserDeleted': {
      const { id } = userPayload(payload, false);
      return invalidation(
        [`User:${id}`],
        [`User:${id}:*`, `UserSessions:${id}:*`, `UserActivity:${id}:*`],
        true,
        `${name}: user ${id} was deleted`,
      );
    }
    case 'PermissionsChanged': {
      const { id, role } = userPayload(payload, true);
      return invalidation(
        role === null ? [] : [`Permissions:${id}:role:${role}`],
        [`Permissions:${id}:*`],
        false,
        `${name}: permissions of user ${id} changed`,
      );
    }
    default:
      log('debug', `UserCache ignores ${name}`);
      throw { tag: 'unknown-event', val: `UserCache does not handle ${name}` };
  }
}

function atMostI64Max(n) {
  return n < I64_MAX ? n : I64_MAX;
}

/** An invalidation that cascades to the descriptor's dependent caches. */
function invalidation(keys, patterns, cascade, reason) {
  return { keys, patterns, dependentCaches: [], cascade, reason };
}

/** One '@' with a non-empty local part, and a domain with an inner dot. */
function isEmail(s) {
  const at = s.indexOf('@');
  if (at < 0) {
    return false;
  }
  const [local, domain] = [s.slice(0, at), s.slice(at + 1)];
  return (
    local !== '' &&
    !domain.includes('@') &&
    domain.includes('.') &&
    !domain.startsWith('.') &&
    !domain.endsWith('.') &&
    ![...s].some((ch) => isWhitespace(ch) || isControl(ch))
  );
}

/**
 * `userId` (required) and, when `withRole`, `roleId` (optional) from an
 * event payload; both must be usable as key parts. Throws a bad-payload
 * event-error otherwise.
 * @returns {{ id: string, role: string | null }}
 */
function userPayload(payload, withRole) {
  const bad = (reason) => ({
    tag: 'bad-payload',
    val: `${reason}; expected a map like {"userId": "u1"}`,
  });
  const value = decode(payload);
  if (value === undefined) {
    throw bad('payload is not valid MessagePack');
  }
  if (kind(value) !== 'a map') {
    throw bad(`payload is ${kind(value)}, not a map`);
  }
  const id = stringField(value, 'userId', bad);
  if (id === null) {
    throw bad('userId is missing');
  }
  const idError = checkPart('userId', id);
  if (idError !== null) {
    throw bad(idError);
  }
  if (!withRole) {
    return { id, role: null };
  }
  const role = stringField(value, 'roleId', bad, { nilIsMissing: true });
  if (role !== null) {
    const roleError = checkPart('roleId', role);
    if (roleError !== null) {
      throw bad(roleError);
    }
  }
  return { id, role };
}

/**
 * A string field of a payload map, or null when it is missing (or nil, with
 * `nilIsMissing`); throws `bad(...)` when it is not a string.
 */
function stringField(map, name, bad, { nilIsMissing = false } = {}) {
  if (!Object.hasOwn(map, name)) {
    return null;
  }
  const value = map[name];
  if (typeof value === 'string') {
    return value;
  }
  if (value === null && nilIsMissing) {
    return null;
  }
  throw bad(`${name} is ${kind(value)}, not a string`);
}
