/**
 * Turn one IPFIX field's bytes into a readable value, by the element's abstract type (RFC 7011 §6,
 * including reduced-size encoding of integers and float64). Used by the parser (inspect, tests);
 * not on the packet path, so it may allocate.
 *
 * Value conventions (documented for `inspect --json`):
 * - integers: numbers; an unsigned64 above 2^53 as a decimal string (exact);
 * - dateTime*: milliseconds since the Unix epoch as a number (fractional for micro/nano, which
 *   use the NTP-format encoding of RFC 7011 §6.1.9-10);
 * - ipv4Address 'a.b.c.d', ipv6Address RFC 5952 text, macAddress 'aa:bb:cc:dd:ee:ff';
 * - string: UTF-8 text; boolean: true/false (1/2);
 * - octetArray, lists, unknown elements and any length that does not fit the type: lowercase hex.
 */
import type { IpfixAbstractType } from './information-elements.js';

export type IpfixValue = number | string | boolean;

const TWO_POW_32 = 4_294_967_296;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_TO_UNIX_SECONDS = 2_208_988_800;
const utf8 = new TextDecoder('utf-8', { fatal: false });

function readUnsigned(bytes: Uint8Array, offset: number, length: number): number | string {
  if (length <= 6) {
    let value = 0;
    for (let i = 0; i < length; i++) value = value * 256 + (bytes[offset + i] ?? 0);
    return value;
  }
  let big = 0n;
  for (let i = 0; i < length; i++) big = (big << 8n) | BigInt(bytes[offset + i] ?? 0);
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big.toString();
}

function readSigned(bytes: Uint8Array, offset: number, length: number): number | string {
  let big = 0n;
  for (let i = 0; i < length; i++) big = (big << 8n) | BigInt(bytes[offset + i] ?? 0);
  const value = BigInt.asIntN(length * 8, big);
  const safe = value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER);
  return safe ? Number(value) : value.toString();
}

export function hexString(bytes: Uint8Array, offset: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += (bytes[offset + i] ?? 0).toString(16).padStart(2, '0');
  return text;
}

export function formatMac(bytes: Uint8Array, offset: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((bytes[offset + i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset] ?? 0}.${bytes[offset + 1] ?? 0}.${bytes[offset + 2] ?? 0}.${bytes[offset + 3] ?? 0}`;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (>= 2) of zero groups as '::'. */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function ntpToUnixMs(bytes: Uint8Array, offset: number): number {
  const seconds = readUnsigned(bytes, offset, 4) as number;
  const fraction = readUnsigned(bytes, offset + 4, 4) as number;
  return (seconds - NTP_TO_UNIX_SECONDS) * 1000 + (fraction / TWO_POW_32) * 1000;
}

export function decodeFieldValue(type: IpfixAbstractType, bytes: Uint8Array, offset: number, length: number): IpfixValue {
  switch (type) {
    case 'unsigned8':
    case 'unsigned16':
    case 'unsigned32':
    case 'unsigned64':
      if (length >= 1 && length <= 8) return readUnsigned(bytes, offset, length);
      break;
    case 'signed8':
    case 'signed16':
    case 'signed32':
    case 'signed64':
      if (length >= 1 && length <= 8) return readSigned(bytes, offset, length);
      break;
    case 'float32':
    case 'float64':
      if (length === 4) return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getFloat32(0);
      if (length === 8) return new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getFloat64(0);
      break;
    case 'boolean':
      if (length === 1) return bytes[offset] === 1 ? true : bytes[offset] === 2 ? false : (bytes[offset] ?? 0);
      break;
    case 'macAddress':
      if (length === 6) return formatMac(bytes, offset);
      break;
    case 'ipv4Address':
      if (length === 4) return formatIpv4(bytes, offset);
      break;
    case 'ipv6Address':
      if (length === 16) return formatIpv6(bytes, offset);
      break;
    case 'string':
      return utf8.decode(bytes.subarray(offset, offset + length));
    case 'dateTimeSeconds':
      if (length === 4) return (readUnsigned(bytes, offset, 4) as number) * 1000;
      break;
    case 'dateTimeMilliseconds':
      if (length === 8) return readUnsigned(bytes, offset, 8);
      break;
    case 'dateTimeMicroseconds':
    case 'dateTimeNanoseconds':
      if (length === 8) return ntpToUnixMs(bytes, offset);
      break;
    default:
      break;
  }
  return hexString(bytes, offset, length);
}
