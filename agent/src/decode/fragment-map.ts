import type { PacketView } from './packet-view.js';
import { IpProtocol } from './transport.js';

/** Counters of FragmentMap, plain numbers read by health/stats snapshots. */
export interface FragmentMapStats {
  /** Non-first fragments that got their ports from a remembered first fragment. */
  attributed: number;
  /** Non-first fragments with no (live) first fragment: metered with ports 0. */
  unattributed: number;
  /** First fragments remembered (duplicates update the entry and are not counted again). */
  stored: number;
  /** Entries overwritten while still live because the map was full (oldest first). */
  evictions: number;
  /** Entries dropped because they outlived timeoutUs. */
  expired: number;
}

const WORDS_PER_ADDRESS_PAIR = 8;
const EMPTY_BUCKET = 0;

/**
 * Gives non-first IP fragments the ports of their first fragment, so a fragmented datagram stays
 * in one flow without reassembly.
 *
 * First fragments (offset 0, more-fragments set) are remembered with their ports; a later fragment
 * with the same key takes them. The key is RFC 791's (src, dst, protocol, id) for IPv4 and
 * RFC 8200 §4.5's (src, dst, id) for IPv6, where the protocol after the fragment header of a
 * non-first fragment need not be the transport, so the remembered protocol is copied too.
 *
 * Fragments that arrive before their first fragment (reordering, or the first was lost or never
 * captured) stay unattributed: they are counted, reported, and exported with ports 0.
 *
 * Bounded and allocation-free: entries live in preallocated columns used as a ring in arrival
 * order, so the oldest entry is always the next one to expire or to be overwritten when full;
 * an open-addressing index (linear probing, at most half full, backward-shift deletion) finds them.
 */
export class FragmentMap {
  readonly stats: FragmentMapStats = { attributed: 0, unattributed: 0, stored: 0, evictions: 0, expired: 0 };

  private readonly maxEntries: number;
  private readonly timeoutUs: number;
  private readonly seed: number;

  private readonly ipVersion: Uint8Array;
  private readonly protocol: Uint8Array;
  private readonly addresses: Uint32Array;
  private readonly fragmentId: Uint32Array;
  private readonly srcPort: Uint16Array;
  private readonly dstPort: Uint16Array;
  private readonly storedUs: Float64Array;
  /** int32 hashes: an int32 return value is never boxed, an unsigned one >= 2^31 would be. */
  private readonly hash: Int32Array;
  /** Ring position of the oldest entry and the number of entries after it. */
  private oldest = 0;
  private count = 0;

  /** slot + 1, or EMPTY_BUCKET. */
  private readonly buckets: Int32Array;
  private readonly bucketMask: number;

  /** hashSeed is random by default so crafted fragment ids cannot be chosen to collide offline. */
  constructor(maxEntries: number, timeoutUs: number, hashSeed: number = (Math.random() * 0x1_0000_0000) >>> 0) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1 << 24) {
      throw new RangeError(`FragmentMap maxEntries must be an integer in [1, 2^24], got ${maxEntries}`);
    }
    if (!(timeoutUs > 0)) throw new RangeError(`FragmentMap timeoutUs must be > 0, got ${timeoutUs}`);
    this.maxEntries = maxEntries;
    this.timeoutUs = timeoutUs;
    this.seed = hashSeed | 0;
    this.ipVersion = new Uint8Array(maxEntries);
    this.protocol = new Uint8Array(maxEntries);
    this.addresses = new Uint32Array(maxEntries * WORDS_PER_ADDRESS_PAIR);
    this.fragmentId = new Uint32Array(maxEntries);
    this.srcPort = new Uint16Array(maxEntries);
    this.dstPort = new Uint16Array(maxEntries);
    this.storedUs = new Float64Array(maxEntries);
    this.hash = new Int32Array(maxEntries);
    let bucketCount = 2;
    while (bucketCount < maxEntries * 2) bucketCount *= 2;
    this.buckets = new Int32Array(bucketCount);
    this.bucketMask = bucketCount - 1;
  }

  /** Live entries (including expired ones not yet swept). */
  get size(): number {
    return this.count;
  }

  /**
   * Call after an OK decode of a fragment (view.isFragment = 1). A first fragment is remembered
   * (returns true: its ports are known); a later fragment gets the remembered ports and returns
   * true, or keeps ports 0 and returns false. Non-fragments return false and are left alone.
   */
  resolve(view: PacketView, nowUs: number): boolean {
    if (view.isFragment === 0) return false;
    if (view.fragmentOffset === 0) {
      this.remember(view, nowUs);
      return true;
    }
    const slot = this.find(view, this.keyHash(view));
    if (slot < 0 || this.storedUs[slot]! + this.timeoutUs <= nowUs) {
      this.stats.unattributed++;
      return false;
    }
    view.srcPort = this.srcPort[slot]!;
    view.dstPort = this.dstPort[slot]!;
    if (view.ipVersion === 6) view.protocol = this.protocol[slot]!;
    if (view.protocol === IpProtocol.ICMP || view.protocol === IpProtocol.ICMPV6) view.icmpTypeCode = view.dstPort;
    this.stats.attributed++;
    return true;
  }

  private remember(view: PacketView, nowUs: number): void {
    // Sweep first: the ring is in time order, so an expired entry for this key goes too.
    this.sweepExpired(nowUs);
    const hash = this.keyHash(view);
    const existing = this.find(view, hash);
    if (existing >= 0) {
      // A retransmitted or duplicated first fragment: refresh the ports, keep the ring order.
      this.srcPort[existing] = view.srcPort;
      this.dstPort[existing] = view.dstPort;
      return;
    }
    if (this.count === this.maxEntries) {
      this.dropOldest();
      this.stats.evictions++;
    }
    let slot = this.oldest + this.count;
    if (slot >= this.maxEntries) slot -= this.maxEntries;
    this.ipVersion[slot] = view.ipVersion;
    this.protocol[slot] = view.protocol;
    const base = slot * WORDS_PER_ADDRESS_PAIR;
    for (let word = 0; word < 4; word++) {
      this.addresses[base + word] = view.srcAddr[word]!;
      this.addresses[base + 4 + word] = view.dstAddr[word]!;
    }
    this.fragmentId[slot] = view.fragmentId;
    this.srcPort[slot] = view.srcPort;
    this.dstPort[slot] = view.dstPort;
    this.storedUs[slot] = nowUs;
    this.hash[slot] = hash;
    let bucket = hash & this.bucketMask;
    while (this.buckets[bucket] !== EMPTY_BUCKET) bucket = (bucket + 1) & this.bucketMask;
    this.buckets[bucket] = slot + 1;
    this.count++;
    this.stats.stored++;
  }

  /** Entries are in arrival order, so expired ones are all at the old end of the ring. */
  private sweepExpired(nowUs: number): void {
    while (this.count > 0 && this.storedUs[this.oldest]! + this.timeoutUs <= nowUs) {
      this.dropOldest();
      this.stats.expired++;
    }
  }

  private dropOldest(): void {
    this.removeFromIndex(this.oldest);
    this.oldest = this.oldest + 1 === this.maxEntries ? 0 : this.oldest + 1;
    this.count--;
  }

  /** The key's slot, or -1. The index is at most half full, so probing meets an empty bucket. */
  private find(view: PacketView, hash: number): number {
    const mask = this.bucketMask;
    for (let bucket = hash & mask; ; bucket = (bucket + 1) & mask) {
      const entry = this.buckets[bucket]!;
      if (entry === EMPTY_BUCKET) return -1;
      const slot = entry - 1;
      if (this.hash[slot] === hash && this.keyEquals(slot, view)) return slot;
    }
  }

  /** Backward-shift deletion keeps every probe chain unbroken without tombstones. */
  private removeFromIndex(slot: number): void {
    const mask = this.bucketMask;
    const buckets = this.buckets;
    let hole = this.hash[slot]! & mask;
    while (buckets[hole] !== slot + 1) hole = (hole + 1) & mask;
    for (let next = (hole + 1) & mask; buckets[next] !== EMPTY_BUCKET; next = (next + 1) & mask) {
      const home = this.hash[buckets[next]! - 1]! & mask;
      // The entry at `next` may fill the hole only if the hole lies on its probe path home → next.
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        buckets[hole] = buckets[next]!;
        hole = next;
      }
    }
    buckets[hole] = EMPTY_BUCKET;
  }

  private keyEquals(slot: number, view: PacketView): boolean {
    if (this.ipVersion[slot] !== view.ipVersion || this.fragmentId[slot] !== view.fragmentId) return false;
    if (view.ipVersion === 4 && this.protocol[slot] !== view.protocol) return false;
    const base = slot * WORDS_PER_ADDRESS_PAIR;
    for (let word = 0; word < 4; word++) {
      if (this.addresses[base + word] !== view.srcAddr[word]) return false;
      if (this.addresses[base + 4 + word] !== view.dstAddr[word]) return false;
    }
    return true;
  }

  /** MurmurHash3-style 32-bit mixing (public domain) of the key fields, with the seed. */
  private keyHash(view: PacketView): number {
    let h = this.seed;
    h = mix(h, (view.ipVersion << 8) | (view.ipVersion === 4 ? view.protocol : 0));
    h = mix(h, view.fragmentId);
    for (let word = 0; word < 4; word++) {
      h = mix(h, view.srcAddr[word]!);
      h = mix(h, view.dstAddr[word]!);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h;
  }
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
