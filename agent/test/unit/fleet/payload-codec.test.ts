/**
 * The fleet payload codec: its MessagePack is standard (read back by @msgpack/msgpack, an
 * independent decoder, and walked byte by byte here to show plain maps and arrays only — no
 * msgpackr record extension), its JSON is plain JSON, and decodePayload picks the format by
 * content type or first byte and fails with a PayloadDecodeError that says which format and why.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { CONTENT_TYPES, decodePayload, encodePayload, PayloadDecodeError } from '../../../src/fleet/payload-codec.js';

/** What MessagePack's header bytes say, for the structural walk below. */
interface Heads {
  maps: number;
  arrays: number;
  /** Header bytes of extension types (fixext 0xd4-0xd8, ext 0xc7-0xc9) with their type byte. */
  extensions: { head: number; type: number }[];
}

/**
 * Walks a MessagePack encoding by the spec's header bytes (github.com/msgpack/msgpack spec.md),
 * counting maps, arrays and extensions, and checks it is exactly one complete value.
 */
function walkMessagePack(bytes: Uint8Array): Heads {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const heads: Heads = { maps: 0, arrays: 0, extensions: [] };
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new Error(`truncated at ${at}`);
  };
  const u8 = () => (need(1), view.getUint8(at++));
  const u16 = () => (need(2), (at += 2), view.getUint16(at - 2));
  const u32 = () => (need(4), (at += 4), view.getUint32(at - 4));
  const skip = (n: number) => (need(n), (at += n));
  const extension = (head: number, dataBytes: number) => {
    heads.extensions.push({ head, type: u8() });
    skip(dataBytes);
  };
  const value = (): void => {
    const head = u8();
    if (head <= 0x7f || head >= 0xe0 || head === 0xc0 || head === 0xc2 || head === 0xc3) return;
    if (head <= 0x8f) return container('map', head & 0x0f);
    if (head <= 0x9f) return container('array', head & 0x0f);
    if (head <= 0xbf) return void skip(head & 0x1f);
    switch (head) {
      case 0xc4: return void skip(u8());
      case 0xc5: return void skip(u16());
      case 0xc6: return void skip(u32());
      case 0xc7: { const n = u8(); return extension(head, n); }
      case 0xc8: { const n = u16(); return extension(head, n); }
      case 0xc9: { const n = u32(); return extension(head, n); }
      case 0xca: case 0xce: case 0xd2: return void skip(4);
      case 0xcb: case 0xcf: case 0xd3: return void skip(8);
      case 0xcc: case 0xd0: return void skip(1);
      case 0xcd: case 0xd1: return void skip(2);
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return extension(head, 1 << (head - 0xd4));
      case 0xd9: return void skip(u8());
      case 0xda: return void skip(u16());
      case 0xdb: return void skip(u32());
      case 0xdc: return container('array', u16());
      case 0xdd: return container('array', u32());
      case 0xde: return container('map', u16());
      case 0xdf: return container('map', u32());
      default: throw new Error(`never-used header 0x${head.toString(16)} at ${at - 1}`);
    }
  };
  const container = (kind: 'map' | 'array', entries: number): void => {
    if (kind === 'map') heads.maps++;
    else heads.arrays++;
    for (let i = 0; i < (kind === 'map' ? 2 * entries : entries); i++) value();
  };
  value();
  assert.equal(at, bytes.length, 'exactly one MessagePack value, nothing after it');
  return heads;
}

/** Plain objects and arrays in a value, for comparison with the maps and arrays its encoding holds. */
function countContainers(value: unknown): { maps: number; arrays: number } {
  const counts = { maps: 0, arrays: 0 };
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      counts.arrays++;
      v.forEach(visit);
    } else if (typeof v === 'object' && v !== null) {
      counts.maps++;
      Object.values(v).forEach(visit);
    }
  };
  visit(value);
  return counts;
}

const INTEGERS = [
  0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 7, 2 ** 53 - 1, 2 ** 53,
  -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 40) - 7, -(2 ** 53 - 1), -(2 ** 53),
];
const FLOATS = [0.5, -0.25, 1.1, -3.75, Math.PI, 1e-300, 1.7976931348623157e308, Number.MIN_VALUE];
const STRINGS = ['', 'a', 'é', 'naïve café', '日本語のテキスト', 'emoji 🚀🛰️ and ZWJ 👩‍💻', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(255), 'ü'.repeat(200), 'w'.repeat(70_000)];

/** A payload shaped like health and summary messages: nested maps, arrays of same-shaped maps, nulls. */
function healthLike(): Record<string, unknown> {
  return {
    schema: 'tapflow.health/1',
    probeId: 'edge-ü-1',
    seq: 42,
    at: 1_763_665_200_123,
    final: false,
    traffic: { packets: 2 ** 53, octets: 123_456_789_012, packetsPerSecond: 0, malformed: { truncated: 3, 'bad-ipv4': 0 } },
    capture: null,
    system: { cpuPercent: 12.5, load: [0.25, 0.5, 1.75], temperatureC: null, timedOut: [], disks: null },
    talkers: Array.from({ length: 20 }, (_, i) => ({ address: `192.0.2.${i}`, value: i * 1_000_003, error: 0 })),
    wide: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, i - 10])),
  };
}

describe('encodePayload: MessagePack', () => {
  const cases: [string, unknown][] = [
    ['integers from 0 to 2^53 and down to -2^53', { integers: INTEGERS }],
    ['floats', { floats: FLOATS, special: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN] }],
    ['strings with unicode, of every length class', { strings: STRINGS, 'ключ ✓': 'unicode key' }],
    ['null, booleans, empty containers', { none: null, yes: true, no: false, empty: {}, nothing: [] }],
    ['nested maps and arrays', { a: { b: { c: { d: [1, [2, [3, { e: 'deep' }]]] } } } }],
    ['a health-like payload', healthLike()],
    ['an array of 70 000 numbers (array 32)', { many: Array.from({ length: 70_000 }, (_, i) => i * 3 - 1_000) }],
  ];
  for (const [name, value] of cases) {
    it(`${name}: @msgpack/msgpack decodes it to the same value`, () => {
      const bytes = encodePayload(value, 'msgpack');
      assert.ok(Buffer.isBuffer(bytes));
      assert.deepEqual(decode(bytes), value);
    });
  }

  it('integers are exact, each one alone too (the top level is not special)', () => {
    for (const n of INTEGERS) assert.equal(decode(encodePayload(n, 'msgpack')), n, String(n));
  });

  it('plain objects are plain maps: no msgpackr record extension (0x72) nor any other extension', () => {
    for (const value of [healthLike(), { integers: INTEGERS, floats: FLOATS, strings: STRINGS }, { list: [{ a: 1 }, { a: 2 }, { a: 3 }] }]) {
      // Twice: msgpackr would switch same-shaped objects to records on repeated use if records were on.
      for (let round = 0; round < 2; round++) {
        const bytes = encodePayload(value, 'msgpack');
        const heads = walkMessagePack(bytes);
        assert.deepEqual(heads.extensions, [], 'no extension headers (0xd4-0xd8, 0xc7-0xc9)');
        assert.deepEqual({ maps: heads.maps, arrays: heads.arrays }, countContainers(value), 'one map per object, one array per array');
        assert.ok((bytes[0]! >= 0x80 && bytes[0]! <= 0x8f) || bytes[0] === 0xde || bytes[0] === 0xdf, 'the payload is a map');
      }
    }
  });

  it('the same value always gives the same bytes (no state shared between payloads)', () => {
    const first = encodePayload(healthLike(), 'msgpack');
    encodePayload({ other: [{ shape: 1 }, { shape: 2 }] }, 'msgpack');
    assert.deepEqual(encodePayload(healthLike(), 'msgpack'), first);
  });

  it('decodePayload reads it back, with and without the content type', () => {
    const value = healthLike();
    const bytes = encodePayload(value, 'msgpack');
    assert.deepEqual(decodePayload(bytes, CONTENT_TYPES.msgpack), value);
    assert.deepEqual(decodePayload(bytes), value);
  });
});

describe('encodePayload: JSON', () => {
  it('is JSON.stringify of the value, and decodePayload reads it back by content type and by first byte', () => {
    const value = { ...healthLike(), strings: STRINGS.slice(0, 8), integers: INTEGERS, floats: FLOATS };
    const bytes = encodePayload(value, 'json');
    assert.equal(bytes.toString('utf8'), JSON.stringify(value));
    assert.deepEqual(JSON.parse(bytes.toString('utf8')), value);
    assert.deepEqual(decodePayload(bytes, CONTENT_TYPES.json), value);
    assert.deepEqual(decodePayload(bytes), value);
  });

  it('the content types are the registered ones', () => {
    assert.deepEqual(CONTENT_TYPES, { msgpack: 'application/msgpack', json: 'application/json' });
  });
});

describe('decodePayload', () => {
  it('an empty payload is an empty map, whatever the content type', () => {
    for (const contentType of [undefined, CONTENT_TYPES.json, CONTENT_TYPES.msgpack]) assert.deepEqual(decodePayload(new Uint8Array(0), contentType), {});
  });

  it('by content type: JSON in any case and with parameters; anything else is MessagePack', () => {
    const json = Buffer.from('{"a":[1,"ü"]}');
    for (const contentType of ['application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'text/json']) {
      assert.deepEqual(decodePayload(json, contentType), { a: [1, 'ü'] }, contentType);
    }
    // encode(123) is the single byte 0x7b, '{': the content type decides, not the first byte.
    assert.equal(decodePayload(encode(123), CONTENT_TYPES.msgpack), 123);
    assert.deepEqual(decodePayload(encode({ a: 1 }), 'application/octet-stream'), { a: 1 });
    assert.throws(() => decodePayload(json, CONTENT_TYPES.msgpack), (error) => error instanceof PayloadDecodeError && /^not valid MessagePack: /.test(error.message));
    assert.throws(() => decodePayload(encode({ a: 1 }), CONTENT_TYPES.json), (error) => error instanceof PayloadDecodeError && /^not valid JSON: /.test(error.message));
  });

  it('by first byte without a content type: a JSON object (after whitespace) is JSON, anything else MessagePack', () => {
    assert.deepEqual(decodePayload(Buffer.from(' \t\r\n{"a":1}')), { a: 1 });
    assert.deepEqual(decodePayload(encode({ a: 1 })), { a: 1 });
    assert.deepEqual(decodePayload(encode([1, 2])), [1, 2]);
    // Only objects are sniffed as JSON: '[' (0x5b) is the MessagePack integer 91 with bytes after it.
    assert.throws(() => decodePayload(Buffer.from('[1,2]')), (error) => error instanceof PayloadDecodeError && /^not valid MessagePack: /.test(error.message));
    assert.throws(() => decodePayload(Buffer.from('{"a":')), (error) => error instanceof PayloadDecodeError && /^not valid JSON: /.test(error.message));
  });

  it('reads only the bytes of a view into a larger buffer', () => {
    const backing = Buffer.from('xxxx{"a":1}yyyy');
    assert.deepEqual(decodePayload(new Uint8Array(backing.buffer, backing.byteOffset + 4, 7)), { a: 1 });
    const packed = Buffer.concat([Buffer.from([0xc1, 0xc1]), encode({ b: 'ü' }), Buffer.from([0xc1])]);
    assert.deepEqual(decodePayload(packed.subarray(2, packed.length - 1)), { b: 'ü' });
  });

  it('PayloadDecodeError names the format and the reason', () => {
    const failures: [Uint8Array, string | undefined, RegExp][] = [
      [Buffer.from('{"oops"'), CONTENT_TYPES.json, /^not valid JSON: \S/],
      [Buffer.from('{"a":1}garbage'), undefined, /^not valid JSON: \S/],
      [encode({ key: 'a value long enough' }).subarray(0, 6), undefined, /^not valid MessagePack: \S/],
      [Buffer.from([0xc1, 0xc1, 0xff]), undefined, /^not valid MessagePack: \S/],
      [Buffer.from([0xd4, 0x05, 0x00]), CONTENT_TYPES.msgpack, /^not valid MessagePack: \S/], // unknown extension type 5
      [Buffer.concat([encode({ a: 1 }), encode(2)]), undefined, /^not valid MessagePack: \S/], // two values
    ];
    for (const [payload, contentType, message] of failures) {
      assert.throws(
        () => decodePayload(payload, contentType),
        (error: unknown) => {
          assert.ok(error instanceof PayloadDecodeError && error instanceof Error);
          assert.equal(error.name, 'PayloadDecodeError');
          assert.match(error.message, message);
          return true;
        },
        Buffer.from(payload).toString('hex'),
      );
    }
  });

  it('integers beyond 32 bits from other encoders (uint64 0xcf, int64 0xd3) decode as numbers', () => {
    for (const n of [2 ** 32, 2 ** 40, 2 ** 53 - 1, -(2 ** 31) - 1, -(2 ** 40)]) {
      const bytes = encode({ n });
      assert.ok(bytes.includes(0xcf) || bytes.includes(0xd3), 'encoded as a 64-bit integer');
      assert.deepEqual(decodePayload(bytes), { n }, String(n));
    }
  });

  it('the never-used MessagePack byte 0xC1 on its own is an error', () => {
    assert.throws(() => decodePayload(Buffer.from([0xc1])), PayloadDecodeError);
  });
});
