/**
 * Synthetic flow records for the recent-flow ring's tests, and the truth about them computed
 * here, independently of the query code: a brute-force filter over the generated values (address
 * prefixes checked with node:net's BlockList) and the result record each should produce.
 */
import { BlockList, isIPv4 } from 'node:net';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { seededRandom } from '../export/export-test-kit.js';

export interface SyntheticFlow {
  id: number;
  ipVersion: 4 | 6;
  srcWords: number[];
  dstWords: number[];
  srcText: string;
  dstText: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  packets: number;
  octets: number;
  reversePackets: number;
  reverseOctets: number;
  startMs: number;
  endMs: number;
  reverseStartMs: number;
  reverseEndMs: number;
  ingressInterface: number;
  reverseIngressInterface: number;
  endReason: number;
  tcpFlags: number;
  reverseTcpFlags: number;
  vlanId: number;
}

/** A whole minute (ms since the epoch) near 2023-11-14. */
export const T0_MS = 28_333_334 * 60_000;
export const SPREAD_MS = 10 * 60_000;
export const INTERFACES = [0, 1, 2, 3];
export const END_REASON_NAMES = ['reserved', 'idleTimeout', 'activeTimeout', 'endOfFlow', 'forcedEnd', 'lackOfResources'];
const PORT_POOL = [80, 443, 53, 22];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function ipv4(random: () => number): { words: number[]; text: string } {
  const pools = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
  const octets = random() < 0.8 ? [...pick(random, pools), 1 + Math.floor(random() * 20)] : [10, 1 + Math.floor(random() * 254), Math.floor(random() * 256), 1 + Math.floor(random() * 254)];
  const word = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  return { words: [word, 0, 0, 0], text: octets.join('.') };
}

/** Pool addresses 2001:db8:<a|b>::<n> (RFC 5952 text), or all-non-zero groups (no compression). */
function ipv6(random: () => number): { words: number[]; text: string } {
  let groups: number[];
  if (random() < 0.8) groups = [0x2001, 0xdb8, pick(random, [0xa, 0xb]), 0, 0, 0, 0, 1 + Math.floor(random() * 15)];
  else groups = Array.from({ length: 8 }, () => 1 + Math.floor(random() * 0xfffe));
  const zeroRun = groups[3] === 0;
  const text = zeroRun ? `${groups.slice(0, 3).map((g) => g.toString(16)).join(':')}::${groups[7]!.toString(16)}` : groups.map((g) => g.toString(16)).join(':');
  const words = [0, 1, 2, 3].map((i) => ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0);
  return { words, text };
}

export function syntheticFlows(count: number, seed: number, firstId = 0): SyntheticFlow[] {
  const random = seededRandom(seed);
  const flows: SyntheticFlow[] = [];
  for (let n = 0; n < count; n++) {
    const ipVersion = random() < 0.6 ? 4 : 6;
    const src = ipVersion === 4 ? ipv4(random) : ipv6(random);
    const dst = ipVersion === 4 ? ipv4(random) : ipv6(random);
    const protocolRoll = random();
    const protocol = protocolRoll < 0.5 ? 6 : protocolRoll < 0.8 ? 17 : protocolRoll < 0.9 ? (ipVersion === 4 ? 1 : 58) : 47;
    const hasPorts = protocol === 6 || protocol === 17;
    // ICMP keeps type/code in the destination port: sometimes a value that equals a pool port.
    const srcPort = hasPorts ? (random() < 0.3 ? pick(random, PORT_POOL) : 1024 + Math.floor(random() * 64000)) : 0;
    const dstPort = hasPorts ? pick(random, PORT_POOL) : protocol === 47 ? 0 : pick(random, [0x0800, 80, 443]);
    // Whole seconds half of the time, so records start and end exactly on window boundaries.
    const whole = random() < 0.5;
    const startOffset = Math.floor(random() * SPREAD_MS);
    const start = T0_MS + (whole ? startOffset - (startOffset % 1000) : startOffset);
    const duration = random() < 0.3 ? 0 : Math.floor(random() * 120) * (whole ? 1000 : 997);
    const directions = random();
    const forward = directions >= 0.05; // 5 %: only the reverse direction spoke
    const reverse = directions < 0.75;
    const interfaceA = pick(random, INTERFACES);
    const interfaceB = random() < 0.7 ? interfaceA : pick(random, INTERFACES);
    const reverseStart = start + Math.floor(random() * 50);
    flows.push({
      id: firstId + n,
      ipVersion,
      srcWords: src.words,
      dstWords: dst.words,
      srcText: src.text,
      dstText: dst.text,
      srcPort,
      dstPort,
      protocol,
      packets: forward ? firstId + n + 1 : 0,
      octets: forward ? (firstId + n + 1) * 1500 + 4_000_000_000 : 0,
      reversePackets: reverse ? 1 + Math.floor(random() * 1000) : 0,
      reverseOctets: reverse ? Math.floor(random() * 1e10) : 0,
      // An empty direction has no times (the flow table writes 0) but keeps an interface number.
      startMs: forward ? start : 0,
      endMs: forward ? start + duration : 0,
      reverseStartMs: reverse ? reverseStart : 0,
      reverseEndMs: reverse ? Math.max(reverseStart, start + duration - Math.floor(random() * 50)) : 0,
      ingressInterface: interfaceA,
      reverseIngressInterface: interfaceB,
      endReason: 1 + Math.floor(random() * 5),
      tcpFlags: protocol === 6 ? Math.floor(random() * 256) : 0,
      reverseTcpFlags: protocol === 6 && reverse ? Math.floor(random() * 256) : 0,
      vlanId: random() < 0.3 ? 100 + Math.floor(random() * 3) : 0,
    });
  }
  return flows;
}

export function fillFlowRecord(rec: FlowRecord, flow: SyntheticFlow): FlowRecord {
  rec.ipVersion = flow.ipVersion;
  for (let i = 0; i < 4; i++) {
    rec.srcAddr[i] = flow.srcWords[i]!;
    rec.dstAddr[i] = flow.dstWords[i]!;
  }
  rec.srcPort = flow.srcPort;
  rec.dstPort = flow.dstPort;
  rec.protocol = flow.protocol;
  rec.icmpTypeCode = flow.protocol === 1 || flow.protocol === 58 ? flow.dstPort : 0;
  rec.packets = flow.packets;
  rec.octets = flow.octets;
  rec.reversePackets = flow.reversePackets;
  rec.reverseOctets = flow.reverseOctets;
  rec.startMs = flow.startMs;
  rec.endMs = flow.endMs;
  rec.reverseStartMs = flow.reverseStartMs;
  rec.reverseEndMs = flow.reverseEndMs;
  rec.ingressInterface = flow.ingressInterface;
  rec.reverseIngressInterface = flow.reverseIngressInterface;
  rec.endReason = flow.endReason;
  rec.tcpFlags = flow.tcpFlags;
  rec.reverseTcpFlags = flow.reverseTcpFlags;
  rec.vlanId = flow.vlanId;
  return rec;
}

/** flows.query arguments as a client sends them. */
export type QueryArgs = Record<string, unknown>;

const PROTOCOL_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, 'ipv6-icmp': 58, icmpv6: 58, gre: 47 };

/** The documented filter, written out plainly over the generated values. */
export function bruteForceMatches(flow: SyntheticFlow, args: QueryArgs): boolean {
  const fwd = flow.packets > 0;
  const rev = flow.reversePackets > 0;
  if (args.from !== undefined || args.to !== undefined) {
    const starts = [...(fwd ? [flow.startMs] : []), ...(rev ? [flow.reverseStartMs] : [])];
    const ends = [...(fwd ? [flow.endMs] : []), ...(rev ? [flow.reverseEndMs] : [])];
    if (args.from !== undefined && Math.max(...ends) < (args.from as number)) return false;
    if (args.to !== undefined && Math.min(...starts) >= (args.to as number)) return false;
  }
  if (args.interface !== undefined) {
    const seenOn = [...(fwd ? [flow.ingressInterface] : []), ...(rev ? [flow.reverseIngressInterface] : [])];
    if (!seenOn.includes(args.interface as number)) return false;
  }
  if (args.address !== undefined) {
    const [address, length] = (args.address as string).split('/');
    const family = isIPv4(address!) ? 'ipv4' : 'ipv6';
    const list = new BlockList();
    list.addSubnet(address!, length === undefined ? (family === 'ipv4' ? 32 : 128) : Number(length), family);
    const flowFamily = flow.ipVersion === 4 ? 'ipv4' : 'ipv6';
    if (flowFamily !== family || !(list.check(flow.srcText, flowFamily) || list.check(flow.dstText, flowFamily))) return false;
  }
  if (args.port !== undefined) {
    if (!(flow.protocol === 6 || flow.protocol === 17)) return false;
    if (flow.srcPort !== args.port && flow.dstPort !== args.port) return false;
  }
  if (args.protocol !== undefined) {
    const wanted = typeof args.protocol === 'string' ? PROTOCOL_NUMBERS[args.protocol] : args.protocol;
    if (flow.protocol !== wanted) return false;
  }
  if (args.endReason !== undefined && END_REASON_NAMES[flow.endReason] !== args.endReason) return false;
  return true;
}

/** The fields of the result record the generated values determine. */
export function expectedRecord(flow: SyntheticFlow): Record<string, unknown> {
  return {
    sourceAddress: flow.srcText,
    destinationAddress: flow.dstText,
    sourcePort: flow.srcPort,
    destinationPort: flow.dstPort,
    protocol: flow.protocol,
    packets: flow.packets,
    octets: flow.octets,
    reversePackets: flow.reversePackets,
    reverseOctets: flow.reverseOctets,
    flowStartMs: flow.startMs,
    flowEndMs: flow.endMs,
    endReason: END_REASON_NAMES[flow.endReason],
    ingressInterface: flow.ingressInterface,
    tcpFlags: flow.tcpFlags,
    reverseTcpFlags: flow.reverseTcpFlags,
    vlanId: flow.vlanId,
  };
}

export function pickExpectedKeys(record: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(expectedRecord(syntheticFlows(1, 1)[0]!));
  return Object.fromEntries(keys.map((key) => [key, record[key]]));
}
