// MessagePack values through the stock @msgpack/msgpack decoder and encoder,
// with the one distinction JavaScript numbers lose kept: a float that holds a whole
// number (1.0) stays a float, so `version: 1.0` is not an integer. 64-bit
// integers decode to BigInts, smaller ones to numbers.
//
// componentize-js resolves relative paths only, not package names, hence
// the path into node_modules (the package is pinned in package.json).

import { Decoder, Encoder, ExtData } from '../node_modules/@msgpack/msgpack/dist.esm/index.mjs';

/** A MessagePack float (float 32 or float 64). */
export class Float {
  constructor(value) {
    this.value = value;
  }
}

class TypedDecoder extends Decoder {
  readF32() {
    return new Float(super.readF32());
  }

  readF64() {
    return new Float(super.readF64());
  }
}

const decoder = new TypedDecoder({ useBigInt64: true });
const encoder = new Encoder();

/** The one value in `bytes`, or undefined when the decoder refuses them. */
export function decode(bytes) {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** `value` (strings and plain objects here) as MessagePack. */
export function encode(value) {
  return encoder.encode(value);
}

/** A decoded value's MessagePack type, as error texts name it in every language. */
export function kind(value) {
  if (value === null) return 'nil';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number' || typeof value === 'bigint') return 'an integer';
  if (typeof value === 'string') return 'a string';
  if (value instanceof Float) return 'a float';
  if (value instanceof Uint8Array) return 'binary data';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof ExtData) return 'an extension value';
  return 'a map';
}
