/**
 * Address text for summaries, from the word layout flow records use (IPv4 in word 0; IPv6 as
 * four big-endian words). The text itself comes from the IPFIX field decoder's formatters
 * (dotted quad; RFC 5952 compressed IPv6), so `inspect` and the summary print addresses alike.
 * Runs once per reported entry, not per record; it allocates the string.
 */
import { formatIpv4, formatIpv6 } from '../export/ipfix/field-decoder.js';

/** Scratch for one address's bytes; only used synchronously inside formatAddressWords. */
const scratch = new Uint8Array(16);

/** Formats the address of `ipVersion` (4 or 6) stored in words[offset..offset+3]. */
export function formatAddressWords(ipVersion: number, words: Uint32Array, offset: number): string {
  const count = ipVersion === 6 ? 4 : 1;
  for (let i = 0; i < count; i++) {
    const word = words[offset + i]!;
    scratch[4 * i] = word >>> 24;
    scratch[4 * i + 1] = word >>> 16;
    scratch[4 * i + 2] = word >>> 8;
    scratch[4 * i + 3] = word;
  }
  return ipVersion === 6 ? formatIpv6(scratch, 0) : formatIpv4(scratch, 0);
}
