/**
 * Test tools for the summary: a Zipf sampler and a generator of flow records whose ground truth
 * (which endpoint is the client, which the server, how the TCP connection ended) is decided first
 * and the record's flags and direction are then built to match, so a test can compare the summary
 * with what the generator knows rather than with the summary's own reading of the record.
 */
import { ConnectionOutcome, FlowEndReason, FlowRecord } from '../../../src/flow/flow-record.js';
import type { TcpOutcomes } from '../../../src/fleet/fleet-messages.js';
import { ipv4Text, ipv6Text, seededRandom } from '../export/export-test-kit.js';

export { seededRandom };

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

/** Draws 0..n-1 with P(i) ∝ 1 / (i + 1)^s (inverse CDF by binary search). */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  return () => {
    const target = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface Host {
  version: 4 | 6;
  words: number[];
  text: string;
}

export type Outcome = keyof TcpOutcomes;
export const OUTCOMES: readonly Outcome[] = ['completed', 'resetByClient', 'resetByServer', 'rejected', 'synUnanswered', 'idle', 'openAtEnd', 'midStream'];
/** The flow table's ConnectionOutcome for each summary outcome (on a final record). */
const CONNECTION_OUTCOME_OF: Record<Outcome, number> = {
  completed: ConnectionOutcome.COMPLETED,
  resetByClient: ConnectionOutcome.RESET_BY_CLIENT,
  resetByServer: ConnectionOutcome.RESET_BY_SERVER,
  rejected: ConnectionOutcome.REJECTED,
  synUnanswered: ConnectionOutcome.SYN_UNANSWERED,
  idle: ConnectionOutcome.IDLE,
  openAtEnd: ConnectionOutcome.OPEN_AT_ACTIVE_TIMEOUT,
  midStream: ConnectionOutcome.MID_STREAM,
};

export function emptyOutcomes(): Record<Outcome, number> {
  return { completed: 0, resetByClient: 0, resetByServer: 0, rejected: 0, synUnanswered: 0, idle: 0, openAtEnd: 0, midStream: 0 };
}

/** One generated record and what the generator knows about it. */
export interface GeneratedFlow {
  client: Host;
  server: Host;
  protocol: number;
  /** 0 for protocols without ports (ICMP carries its type/code in dstPort, as the flow table does). */
  clientPort: number;
  serverPort: number;
  /** Whether the record's forward direction (src) is the client. */
  forwardIsClient: boolean;
  packets: number;
  reversePackets: number;
  octets: number;
  reverseOctets: number;
  tcpFlags: number;
  reverseTcpFlags: number;
  endReason: number;
  /** Set for final TCP records. */
  outcome: Outcome | null;
  final: boolean;
  hasPorts: boolean;
  /** A TCP closing record: final, no packets in either direction (not an exported record). */
  closing: boolean;
  // TCP connection fields, as the flow table fills them (0 for other protocols).
  connectionOutcome: number;
  handshakeServerRttUs: number;
  handshakeClientRttUs: number;
  serverResponseCount: number;
  serverResponseSumUs: number;
  retransmittedPackets: number;
  reverseRetransmittedPackets: number;
}

function makeHost(version: 4 | 6, random: () => number): Host {
  const u32 = () => Math.floor(random() * 4_294_967_296);
  if (version === 4) {
    const words = [u32(), 0, 0, 0];
    return { version, words, text: ipv4Text(words[0]!) };
  }
  // Some zero words, so compressed forms ('::') of several shapes appear.
  const words = [0x20010db8, random() < 0.4 ? 0 : u32(), random() < 0.5 ? 0 : u32(), u32()];
  return { version, words, text: ipv6Text(words) };
}

const TCP_SERVER_PORTS = [22, 25, 80, 443, 993, 3306, 5432, 8080];
const UDP_SERVER_PORTS = [53, 123, 161, 443, 500, 514, 1194, 4789];
const END_REASONS = [FlowEndReason.IDLE_TIMEOUT, FlowEndReason.END_OF_FLOW, FlowEndReason.FORCED_END, FlowEndReason.LACK_OF_RESOURCES];

export interface GeneratorOptions {
  seed: number;
  clients: number;
  servers: number;
  /** Zipf exponent for picking hosts and ports. */
  skew: number;
}

/**
 * Returns a function producing random flows: IPv4 and IPv6, TCP (handshakes, mid-stream parts,
 * every outcome), UDP, SCTP, ICMP, GRE, about 30 % active-timeout parts, a few records whose two
 * ends are the same host. Server ports are below every client port (≥ 32768), so the lower-port
 * rule names the right server when no SYN tells.
 */
export function flowGenerator(options: GeneratorOptions): () => GeneratedFlow {
  const random = seededRandom(options.seed);
  const int = (below: number) => Math.floor(random() * below);
  const pick = <T>(list: readonly T[]) => list[int(list.length)]!;
  const pools = (count: number) => ({
    4: Array.from({ length: count }, () => makeHost(4, random)),
    6: Array.from({ length: count }, () => makeHost(6, random)),
  });
  const clients = pools(options.clients);
  const servers = pools(options.servers);
  const clientIndex = zipfSampler(options.clients, options.skew, random);
  const serverIndex = zipfSampler(options.servers, options.skew, random);
  const portIndex = zipfSampler(TCP_SERVER_PORTS.length, options.skew, random);

  return () => {
    const version: 4 | 6 = random() < 0.35 ? 6 : 4;
    const server = servers[version][serverIndex()]!;
    const client = random() < 0.01 ? server : clients[version][clientIndex()]!;
    const kind = random();
    const protocol = kind < 0.6 ? 6 : kind < 0.82 ? 17 : kind < 0.85 ? 132 : kind < 0.95 ? (version === 6 ? 58 : 1) : 47;
    const hasPorts = protocol === 6 || protocol === 17 || protocol === 132;
    const final = random() >= 0.3;
    const flow: GeneratedFlow = {
      client,
      server,
      protocol,
      clientPort: hasPorts ? 32_768 + int(28_000) : 0,
      serverPort: hasPorts ? (protocol === 6 ? TCP_SERVER_PORTS : UDP_SERVER_PORTS)[portIndex()]! : protocol === 47 ? 0 : 0x0800,
      forwardIsClient: random() < 0.5,
      packets: 1 + int(1000),
      reversePackets: random() < 0.15 ? 0 : 1 + int(1000),
      octets: 0,
      reverseOctets: 0,
      tcpFlags: 0,
      reverseTcpFlags: 0,
      endReason: final ? pick(END_REASONS) : FlowEndReason.ACTIVE_TIMEOUT,
      outcome: null,
      final,
      hasPorts,
      closing: false,
      connectionOutcome: 0,
      handshakeServerRttUs: 0,
      handshakeClientRttUs: 0,
      serverResponseCount: 0,
      serverResponseSumUs: 0,
      retransmittedPackets: 0,
      reverseRetransmittedPackets: 0,
    };
    if (protocol === 6) shapeTcp(flow, random);
    flow.octets = flow.packets === 0 ? 0 : flow.packets * (40 + int(1460)) + (random() < 0.01 ? 10_000_000_000 : 0);
    flow.reverseOctets = flow.reversePackets === 0 ? 0 : flow.reversePackets * (40 + int(1460));
    return flow;
  };
}

/**
 * Picks what happened to a TCP connection, then sets what the flow table would put in the record:
 * connectionOutcome, flags and direction to match (the client sent the first SYN, so it is the
 * forward side unless mid-stream), handshake RTT halves (same in every part), response turns and
 * retransmissions of this record's span. About 8 % of final records are closing records.
 */
function shapeTcp(flow: GeneratedFlow, random: () => number): void {
  const int = (below: number) => Math.floor(random() * below);
  const handshake = () => {
    flow.forwardIsClient = true; // the client's SYN was the flow's first packet
    flow.handshakeServerRttUs = 50 + int(200_000);
    flow.handshakeClientRttUs = random() < 0.1 ? 0 : 20 + int(100_000); // 0: the client reset before its ACK
  };
  const outcome: Outcome = flow.final ? OUTCOMES[int(OUTCOMES.length)]! : random() < 0.15 ? 'midStream' : 'openAtEnd';
  if (flow.final) flow.outcome = outcome;
  flow.connectionOutcome = CONNECTION_OUTCOME_OF[outcome];
  if (!flow.final && outcome !== 'midStream' && random() < 0.3) flow.connectionOutcome = CONNECTION_OUTCOME_OF[(['completed', 'resetByServer', 'resetByClient'] as const)[int(3)]!]; // decided early
  switch (outcome) {
    case 'synUnanswered':
      flow.forwardIsClient = true;
      flow.tcpFlags = random() < 0.5 ? SYN : SYN | 0xc0; // ECN-setup SYN has ECE|CWR
      flow.reversePackets = 0;
      flow.reverseTcpFlags = 0;
      break;
    case 'rejected':
      flow.forwardIsClient = true;
      flow.tcpFlags = SYN;
      flow.reversePackets = 1;
      flow.reverseTcpFlags = RST | ACK;
      break;
    case 'midStream':
      // No SYN seen: the ports tell the server (forwardIsClient stays as drawn).
      flow.tcpFlags = ACK | PSH | (flow.final && random() < 0.5 ? FIN : 0);
      flow.reverseTcpFlags = flow.reversePackets === 0 ? 0 : ACK;
      break;
    default:
      handshake();
      if (flow.reversePackets === 0) flow.reversePackets = 1;
      flow.tcpFlags = (random() < 0.5 ? SYN : 0) | ACK | PSH; // later parts carry no SYN
      flow.reverseTcpFlags = (flow.tcpFlags & SYN) | ACK | PSH;
      if (outcome === 'completed') {
        flow.tcpFlags |= FIN;
        flow.reverseTcpFlags |= FIN;
      }
      if (outcome === 'resetByClient') flow.tcpFlags |= RST;
      if (outcome === 'resetByServer') flow.reverseTcpFlags |= RST;
  }
  if (outcome !== 'synUnanswered' && outcome !== 'rejected') {
    flow.serverResponseCount = random() < 0.3 ? 0 : 1 + int(4);
    flow.serverResponseSumUs = flow.serverResponseCount * (100 + int(500_000)) + int(flow.serverResponseCount);
  }
  flow.retransmittedPackets = random() < 0.3 ? int(Math.min(flow.packets, 20)) : 0;
  flow.reverseRetransmittedPackets = random() < 0.3 ? int(Math.min(flow.reversePackets, 20)) : 0;
  if (flow.final && random() < 0.08) {
    // A closing record: silent since the last active-timeout part; only the connection values remain.
    flow.closing = true;
    flow.packets = flow.reversePackets = 0;
    flow.tcpFlags = flow.reverseTcpFlags = 0;
    flow.serverResponseCount = flow.serverResponseSumUs = 0;
    flow.retransmittedPackets = flow.reverseRetransmittedPackets = 0;
  }
}

/** Writes the generated flow into `rec` (forward = client or server as generated). */
export function fillFlowRecord(rec: FlowRecord, flow: GeneratedFlow): FlowRecord {
  const src = flow.forwardIsClient ? flow.client : flow.server;
  const dst = flow.forwardIsClient ? flow.server : flow.client;
  rec.ipVersion = flow.client.version;
  rec.srcAddr.set(src.words);
  rec.dstAddr.set(dst.words);
  const icmp = flow.protocol === 1 || flow.protocol === 58;
  if (icmp) {
    rec.srcPort = 0; // as the flow table keys ICMP: type/code in the destination port
    rec.dstPort = flow.serverPort;
  } else {
    rec.srcPort = flow.forwardIsClient ? flow.clientPort : flow.serverPort;
    rec.dstPort = flow.forwardIsClient ? flow.serverPort : flow.clientPort;
  }
  rec.protocol = flow.protocol;
  rec.icmpTypeCode = icmp ? flow.serverPort : 0;
  rec.packets = flow.packets;
  rec.octets = flow.octets;
  rec.tcpFlags = flow.tcpFlags;
  rec.reversePackets = flow.reversePackets;
  rec.reverseOctets = flow.reverseOctets;
  rec.reverseTcpFlags = flow.reverseTcpFlags;
  rec.endReason = flow.endReason;
  rec.connectionOutcome = flow.connectionOutcome;
  rec.handshakeServerRttUs = flow.handshakeServerRttUs;
  rec.handshakeClientRttUs = flow.handshakeClientRttUs;
  rec.serverResponseCount = flow.serverResponseCount;
  rec.serverResponseSumUs = flow.serverResponseSumUs;
  rec.retransmittedPackets = flow.retransmittedPackets;
  rec.reverseRetransmittedPackets = flow.reverseRetransmittedPackets;
  rec.startMs = 1_700_000_000_000;
  rec.endMs = 1_700_000_060_000;
  return rec;
}

/** -1/0/1 comparing two hosts' address words (unsigned). */
export function compareHosts(a: Host, b: Host): number {
  for (let i = 0; i < 4; i++) {
    if (a.words[i] !== b.words[i]) return a.words[i]! < b.words[i]! ? -1 : 1;
  }
  return 0;
}

/** The ceil(q·n)-th smallest sample, the rank rule of SlotHistograms. */
export function exactQuantile(samples: number[], q: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

/** The histogram's documented error: a bucket's middle is within 2^(1/8) of any value in it, then rounded to 1 µs. */
export function withinHistogramError(estimate: number | null, exact: number | null): boolean {
  if (estimate === null || exact === null) return estimate === exact;
  if (exact < 1) return estimate === 0;
  return estimate >= exact / 2 ** (1 / 8) - 0.5 && estimate <= exact * 2 ** (1 / 8) + 0.5;
}
