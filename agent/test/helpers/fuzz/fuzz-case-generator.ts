import { seededRandom } from '../../unit/export/export-test-kit.js';
import { captureLayout } from './capture-layout.js';
import type { FuzzSeed } from './fuzz-seeds.js';
import { MUTATIONS, type Mutation, type Random, mutate, pick } from './mutations.js';
import { randomBytes, randomPcapRecords, randomPcapngBlocks } from './random-captures.js';

/**
 * Case `index` of campaign `seed`: its bytes depend on (seed, index) and the seed files only, so
 * any single case can be rebuilt to reproduce a failure without running the ones before it.
 */
export interface FuzzCase {
  index: number;
  /** 'encap/x.pcap' (mutated), 'random-bytes', or 'random-pcap' / 'random-pcapng' (valid framing, random contents). */
  source: string;
  mutations: Mutation[];
  bytes: Uint8Array;
}

/** Share of cases built from random bytes rather than from a seed capture (all of them without seeds). */
const RANDOM_SHARE = 0.15;
const MAX_MUTATIONS = 4;
const MAX_RANDOM_BYTES = 2048;

/** A distinct PRNG state per case (golden-ratio step keeps neighbouring indexes apart). */
export function caseRandom(seed: number, index: number): Random {
  return seededRandom((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

export function generateFuzzCase(seed: number, index: number, seeds: readonly FuzzSeed[]): FuzzCase {
  const random = caseRandom(seed, index);
  if (seeds.length === 0 || random() < RANDOM_SHARE) {
    const choice = random();
    if (choice < 0.4) return { index, source: 'random-pcap', mutations: [], bytes: randomPcapRecords(random) };
    if (choice < 0.7) return { index, source: 'random-pcapng', mutations: [], bytes: randomPcapngBlocks(random) };
    return { index, source: 'random-bytes', mutations: [], bytes: randomBytes(random, MAX_RANDOM_BYTES) };
  }
  const base = pick(seeds, random);
  const other = pick(seeds, random).bytes;
  const mutations: Mutation[] = [];
  let bytes = base.bytes;
  const count = 1 + Math.floor(random() * MAX_MUTATIONS);
  for (let i = 0; i < count; i++) {
    const mutation = pick(MUTATIONS, random);
    mutations.push(mutation);
    bytes = mutate(mutation, bytes, random, other, captureLayout(bytes));
  }
  return { index, source: base.name, mutations, bytes: bytes === base.bytes ? bytes.slice() : bytes };
}
