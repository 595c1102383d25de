/**
 * A seeded 32-bit hash of a flow key that is the same for both directions of a connection.
 *
 * The seed is random per process, so traffic crafted to collide in the table (a hash-flooding
 * attack on a mirror port) cannot be prepared offline. Mixing follows MurmurHash3's 32-bit
 * block and finalisation steps (public domain), written here over numbers with Math.imul.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mix(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // Signed: an int32 stays a small integer in V8, where a uint32 above 2^31 returned from a call
  // that is not inlined is boxed on the heap (one allocation per packet).
  return h | 0;
}

/**
 * -1, 0 or 1 comparing endpoint (addrA, portA) with (addrB, portB); used to put the lower
 * endpoint first so that both directions hash the same.
 */
export function compareEndpoints(addrA: Uint32Array, portA: number, addrB: Uint32Array, portB: number): number {
  for (let i = 0; i < 4; i++) {
    const a = addrA[i]!;
    const b = addrB[i]!;
    if (a !== b) return a < b ? -1 : 1;
  }
  return portA === portB ? 0 : portA < portB ? -1 : 1;
}

/** Hash of (version, protocol, vlan, interface, lower endpoint, higher endpoint) with the seed, as an int32. */
export function hashFlowKey(
  seed: number,
  ipVersion: number,
  protocol: number,
  vlanId: number,
  interfaceId: number,
  srcAddr: Uint32Array,
  srcPort: number,
  dstAddr: Uint32Array,
  dstPort: number,
): number {
  const srcFirst = compareEndpoints(srcAddr, srcPort, dstAddr, dstPort) <= 0;
  const loAddr = srcFirst ? srcAddr : dstAddr;
  const hiAddr = srcFirst ? dstAddr : srcAddr;
  const loPort = srcFirst ? srcPort : dstPort;
  const hiPort = srcFirst ? dstPort : srcPort;
  let h = seed | 0;
  h = mix(h, (ipVersion << 24) | (protocol << 16) | vlanId);
  h = mix(h, interfaceId);
  h = mix(h, loAddr[0]!);
  h = mix(h, hiAddr[0]!);
  if (ipVersion === 6) {
    h = mix(h, loAddr[1]!);
    h = mix(h, loAddr[2]!);
    h = mix(h, loAddr[3]!);
    h = mix(h, hiAddr[1]!);
    h = mix(h, hiAddr[2]!);
    h = mix(h, hiAddr[3]!);
  }
  h = mix(h, (loPort << 16) | hiPort);
  return finish(h ^ (ipVersion === 6 ? 40 : 16));
}
