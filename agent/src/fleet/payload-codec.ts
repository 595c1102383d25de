import { C1, Packr } from 'msgpackr';

/**
 * Fleet payloads as standard MessagePack (default) or JSON. msgpackr's record extension is off
 * (`useRecords: false`): every payload is plain maps, arrays, strings and numbers that any
 * MessagePack decoder reads. Integers beyond 32 bits come out as float64, which every decoder
 * reads as a number (exact up to 2^53).
 */
export type PayloadFormat = 'msgpack' | 'json';

/** MQTT 5 content types; commands are decoded by theirs (or by their first byte on MQTT 3.1.1). */
export const CONTENT_TYPES: Record<PayloadFormat, string> = {
  msgpack: 'application/msgpack',
  json: 'application/json',
};

// int64AsType 'number': other encoders write uint64 for large counters; a BigInt would not survive
// a JSON reply (beyond 2^53 precision is lost, as in JavaScript numbers everywhere).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, int64AsType: 'number' });

/** True when a payload is to be read as JSON: by its content type, else when it starts like a JSON object. */
export function isJsonPayload(payload: Uint8Array, contentType?: string): boolean {
  return contentType !== undefined ? contentType.toLowerCase().includes('json') : looksLikeJson(payload);
}

export function encodePayload(value: unknown, format: PayloadFormat): Buffer {
  return format === 'json' ? Buffer.from(JSON.stringify(value)) : packr.pack(value);
}

export class PayloadDecodeError extends Error {
  override readonly name = 'PayloadDecodeError';
}

/**
 * Decodes a payload: by its content type when given, else JSON when it starts like a JSON object
 * (after whitespace), else MessagePack. An empty payload is an empty object (a bare command).
 * Throws PayloadDecodeError with the reason.
 */
export function decodePayload(payload: Uint8Array, contentType?: string): unknown {
  if (payload.length === 0) return {};
  const json = isJsonPayload(payload, contentType);
  let value: unknown;
  try {
    value = json ? JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8')) : packr.unpack(payload);
  } catch (error) {
    throw new PayloadDecodeError(`not valid ${json ? 'JSON' : 'MessagePack'}: ${(error as Error).message}`);
  }
  // msgpackr returns its C1 marker for the never-used byte 0xc1 instead of failing.
  if (value === C1) throw new PayloadDecodeError('not valid MessagePack: byte 0xc1 is never used');
  return value;
}

function looksLikeJson(payload: Uint8Array): boolean {
  for (const byte of payload) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b; // '{'
  }
  return false;
}
