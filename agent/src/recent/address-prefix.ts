/**
 * An IPv4 or IPv6 address prefix given as text (`192.0.2.7`, `192.0.2.0/24`, `2001:db8::/32`,
 * `::ffff:192.0.2.1`), in the word layout flow records use (IPv4 in word 0; IPv6 as four
 * big-endian words), and the test of an address against it. A bare address is a full-length
 * prefix; host bits after the prefix length are ignored (`192.0.2.7/24` is `192.0.2.0/24`).
 * IPv4-mapped IPv6 text stays IPv6: it matches IPv6 records only, as records keep IPv4 as IPv4.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface AddressPrefix {
  ipVersion: 4 | 6;
  /** The prefix's address with host bits cleared, zero-padded to four words. */
  words: Uint32Array;
  prefixLength: number;
}

/** The prefix `text` names, or null when it is not an address or address/length. */
export function parseAddressPrefix(text: string): AddressPrefix | null {
  const parts = text.trim().split('/');
  if (parts.length > 2) return null;
  const address = parts[0]!;
  const words = new Uint32Array(4);
  let ipVersion: 4 | 6;
  if (isIPv4(address)) {
    ipVersion = 4;
    words[0] = ipv4Word(address);
  } else if (isIPv6(address) && !address.includes('%')) {
    ipVersion = 6;
    if (!fillIpv6Words(address, words)) return null;
  } else {
    return null;
  }
  const maxLength = ipVersion === 4 ? 32 : 128;
  let prefixLength = maxLength;
  if (parts.length === 2) {
    if (!/^\d{1,3}$/.test(parts[1]!)) return null;
    prefixLength = Number(parts[1]);
    if (prefixLength > maxLength) return null;
  }
  for (let i = 0; i < 4; i++) words[i] = words[i]! & wordMask(prefixLength, i);
  return { ipVersion, words, prefixLength };
}

/** True when the address of `ipVersion` in words[offset..offset+3] lies inside the prefix. */
export function prefixContains(prefix: AddressPrefix, ipVersion: number, words: Uint32Array, offset: number): boolean {
  if (ipVersion !== prefix.ipVersion) return false;
  for (let i = 0; i < 4; i++) {
    const mask = wordMask(prefix.prefixLength, i);
    if (mask === 0) return true;
    if ((words[offset + i]! & mask) >>> 0 !== prefix.words[i]) return false;
  }
  return true;
}

/** The mask of word `index` (0-3) under a prefix of `prefixLength` bits. */
function wordMask(prefixLength: number, index: number): number {
  const bits = Math.max(0, Math.min(32, prefixLength - index * 32));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

function ipv4Word(text: string): number {
  const octets = text.split('.').map(Number);
  return ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
}

/** Fills four words from IPv6 text that node:net already accepted (so the syntax is valid). */
function fillIpv6Words(text: string, words: Uint32Array): boolean {
  let body = text;
  // A trailing dotted quad (::ffff:192.0.2.1) stands for the last two groups: rewrite it as them.
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const word = ipv4Word(tail);
    body = `${body.slice(0, lastColon + 1)}${(word >>> 16).toString(16)}:${(word & 0xffff).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const rest = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const zeros = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (zeros < 0 || head.length + zeros + rest.length !== 8) return false;
  const groups = [...head.map((group) => parseInt(group, 16)), ...new Array<number>(zeros).fill(0), ...rest.map((group) => parseInt(group, 16))];
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return true;
}
