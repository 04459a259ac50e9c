// UserDb in JavaScript: the same rules and origin mapping as the Rust
// example (plugins/examples/user-db), built with `hoard plugin build`, which
// picks hoard:definition@0.2.0's `origin-plugin` world because package.json
// says `"hoard": {"world": "origin-plugin"}`.
//
// The plugin only maps: key parts to an origin request, the origin's
// response to a value, a value to a write. The host runs the request against
// the origin its operator configured, and refuses anything not allowed (a
// statement that was not declared, a path outside the base).
//
// The statements it expects (see README, "Origins"):
// - `user_by_id`: `SELECT id::text AS id, email, name FROM users WHERE id = $1`
// - `upsert_user`: an `INSERT … ON CONFLICT (id) DO UPDATE … WHERE users.version < $4`
// Over HTTP: `GET users/{id}` (200 with a JSON user, 404 when there is none)
// and `PUT users/{id}` with the JSON user.
//
// componentize-js names the exports in camelCase; the `origin` interface is
// an exported object of that name. Variants are `{ tag, val }` objects,
// enums are strings ('sql', 'http'), u64 and s64 are BigInts, `list<u8>` is
// a Uint8Array. A `result` export returns its ok value and throws its error.

import './keep-bom.js'; // first: fixes how the bindings decode strings

import { checkPart } from './key-parts.js';
import { decode, encode, kind } from './values.js';

const MINUTE_MS = 60_000n;
const I64_MAX = 2n ** 63n - 1n;

/** The id of `["42"]`; throws why the parts are not a UserDb key. */
function userId(parts) {
  if (parts.length !== 1) {
    throw `UserDb keys take [id], got ${parts.length} parts`;
  }
  const error = checkPart('id', parts[0]);
  if (error !== null) {
    throw error;
  }
  return parts[0];
}

/** `userId` with the reason turned into a key-error. */
function keyId(parts) {
  try {
    return userId(parts);
  } catch (reason) {
    throw { tag: 'invalid-part', val: reason };
  }
}

/**
 * The user in `value` (`{id, email, name?}`, any other fields ignored) as
 * `{ id, email, name }` with `name` null when absent; throws why it is not one.
 */
function userOf(value) {
  if (value === undefined) {
    throw 'not valid MessagePack';
  }
  if (kind(value) !== 'a map') {
    throw `expected a user map, found ${kind(value)}`;
  }
  for (const field of ['id', 'email']) {
    if (!Object.hasOwn(value, field)) {
      throw `missing field \`${field}\``;
    }
    if (typeof value[field] !== 'string') {
      throw `\`${field}\` is ${kind(value[field])}, not a string`;
    }
  }
  const name = Object.hasOwn(value, 'name') ? value.name : null;
  if (name !== null && typeof name !== 'string') {
    throw `\`name\` is ${kind(name)}, not a string`;
  }
  return { id: value.id, email: value.email, name };
}

/** The user as stored: `{id, email}` plus `name` when there is one. */
function record(user) {
  const out = { id: user.id, email: user.email };
  if (user.name !== null) {
    out.name = user.name;
  }
  return out;
}

export function describe() {
  return {
    id: 'user-db',
    name: 'UserDb',
    description: 'User records read through from the users table (or API), written through to it.',
    version: '1.0.0',
    defaultTtlMs: 5n * MINUTE_MS,
    maxTtlMs: 60n * MINUTE_MS,
    expiration: 'absolute',
    eviction: 'lru',
    maxItems: 100_000n,
    // "No such user" is cached too (negative caching).
    allowNull: true,
    compress: undefined,
    encrypt: false,
    pureKeys: true,
    invalidationEvents: ['UserUpdated', 'UserDeleted'],
    dependentCaches: [],
    metadata: [['owner', 'identity-team']],
  };
}

export function generateKey(parts) {
  return `UserDb:${keyId(parts)}`;
}

export function validate(bytes) {
  let user;
  try {
    user = userOf(decode(bytes));
  } catch (reason) {
    throw [`The value is not a user ({id, email, name?}): ${reason}.`];
  }
  const errors = [];
  if (user.id === '') {
    errors.push('`id` must not be empty.');
  }
  if (user.email.split('@').length !== 2) {
    errors.push("`email` must have exactly one '@'.");
  }
  if (errors.length > 0) {
    throw errors;
  }
}

export function onEvent(name, payload) {
  const id = payloadId(payload);
  if (name !== 'UserUpdated' && name !== 'UserDeleted') {
    throw { tag: 'unknown-event', val: `UserDb does not handle ${name}` };
  }
  return {
    keys: [`UserDb:${id}`],
    patterns: [],
    dependentCaches: [],
    cascade: false,
    reason: `${name}: user ${id}`,
  };
}

/** The `id` of a payload like `{"id": "1"}`, usable as a key part. */
function payloadId(payload) {
  const bad = (reason) => ({
    tag: 'bad-payload',
    val: `${reason}; expected a map like {"id": "1"}`,
  });
  const value = decode(payload);
  if (value === undefined) {
    throw bad('payload is not valid MessagePack');
  }
  if (kind(value) !== 'a map') {
    throw bad(`payload is ${kind(value)}, not a map`);
  }
  if (!Object.hasOwn(value, 'id')) {
    throw bad('id is missing');
  }
  if (typeof value.id !== 'string') {
    throw bad(`id is ${kind(value.id)}, not a string`);
  }
  const error = checkPart('id', value.id);
  if (error !== null) {
    throw bad(error);
  }
  return value.id;
}

/** The text of column `name` in `row`, null when it is NULL or absent. */
function column(columns, row, name) {
  const index = columns.indexOf(name);
  const value = index < 0 ? undefined : row[index];
  if (value === undefined || value.tag === 'null') {
    return null;
  }
  if (value.tag === 'text') {
    return value.val;
  }
  if (value.tag === 'integer') {
    return value.val.toString();
  }
  throw `column \`${name}\` is not text`;
}

/** The JSON user an HTTP origin answered. */
function userOfJson(body) {
  let value;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body));
  } catch (e) {
    throw `the API's user is not valid JSON: ${e.message}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw "the API's user is not valid JSON: expected an object";
  }
  try {
    return userOf(value);
  } catch (reason) {
    throw `the API's user is not valid JSON: ${reason}`;
  }
}

export const origin = {
  loadRequest(originKind, parts, _key) {
    const id = userId(parts);
    if (originKind === 'sql') {
      return {
        tag: 'sql',
        val: { statement: 'user_by_id', params: [{ tag: 'text', val: id }] },
      };
    }
    return {
      tag: 'http',
      val: {
        method: 'get',
        path: `users/${id}`,
        headers: [['accept', 'application/json']],
        body: new Uint8Array(),
      },
    };
  },

  loadResponse(_parts, response) {
    let user;
    if (response.tag === 'sql') {
      const { columns, rows } = response.val;
      if (rows.length === 0) {
        return { tag: 'not-found' };
      }
      const text = (name) => column(columns, rows[0], name);
      const id = text('id');
      if (id === null) {
        throw 'the row has no `id`';
      }
      const email = text('email');
      if (email === null) {
        throw 'the row has no `email`';
      }
      user = { id, email, name: text('name') };
    } else {
      const { status, body } = response.val;
      if (status === 404) {
        return { tag: 'not-found' };
      }
      if (status !== 200) {
        throw `the API answered HTTP ${status}`;
      }
      user = userOfJson(body);
    }
    return { tag: 'value', val: encode(record(user)) };
  },

  writeRequest(originKind, parts, value, sequence) {
    const id = userId(parts);
    const user = userOf(decode(value));
    if (user.id !== id) {
      throw `the value's id \`${user.id}\` is not the key's \`${id}\``;
    }
    if (originKind === 'sql') {
      return {
        tag: 'sql',
        val: {
          statement: 'upsert_user',
          params: [
            { tag: 'text', val: user.id },
            { tag: 'text', val: user.email },
            user.name === null ? { tag: 'null' } : { tag: 'text', val: user.name },
            { tag: 'integer', val: sequence < I64_MAX ? sequence : I64_MAX },
          ],
        },
      };
    }
    return {
      tag: 'http',
      val: {
        method: 'put',
        path: `users/${id}`,
        headers: [['content-type', 'application/json']],
        body: new TextEncoder().encode(JSON.stringify(record(user))),
      },
    };
  },
};
