/**
 * Test tools for the summary: a Zipf sampler and a generator of flow records whose ground truth
 * (which endpoint is the client, which the server, how the TCP connection ended) is decided first
 * and the record's flags and direction are then built to match, so a test can compare the summary
 * with what the generator knows rather than with the summary's own reading of the record.
 */
import { FlowEndReason, FlowRecord } from '../../../src/flow/flow-record.js';
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

export type Outcome = 'completed' | 'reset' | 'unanswered' | 'other';

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
    };
    if (protocol === 6) shapeTcp(flow, random);
    flow.octets = flow.packets * (40 + int(1460)) + (random() < 0.01 ? 10_000_000_000 : 0);
    flow.reverseOctets = flow.reversePackets === 0 ? 0 : flow.reversePackets * (40 + int(1460));
    return flow;
  };
}

/** Picks what happened to a TCP flow and sets flags/direction/reverse packets to match it. */
function shapeTcp(flow: GeneratedFlow, random: () => number): void {
  const variant = Math.floor(random() * 3);
  const handshake = () => {
    flow.forwardIsClient = true; // the client's SYN was the flow's first packet
    if (flow.reversePackets === 0) flow.reversePackets = 1;
  };
  if (!flow.final) {
    if (variant === 0) {
      handshake();
      flow.tcpFlags = SYN | ACK | PSH;
      flow.reverseTcpFlags = SYN | ACK | PSH;
    } else {
      flow.tcpFlags = ACK | PSH; // a middle part: no SYN, the ports tell
      flow.reverseTcpFlags = flow.reversePackets === 0 ? 0 : ACK;
    }
    return;
  }
  const outcomes: Outcome[] = ['completed', 'reset', 'unanswered', 'other'];
  const outcome = outcomes[Math.floor(random() * 4)]!;
  flow.outcome = outcome;
  switch (outcome) {
    case 'unanswered':
      flow.forwardIsClient = true;
      flow.tcpFlags = random() < 0.5 ? SYN : SYN | 0xc0; // ECN-setup SYN has ECE|CWR
      flow.reversePackets = 0;
      flow.reverseTcpFlags = 0;
      return;
    case 'reset':
      if (variant === 0) {
        handshake(); // refused: SYN answered by RST|ACK
        flow.tcpFlags = SYN;
        flow.reverseTcpFlags = RST | ACK;
      } else if (variant === 1) {
        handshake();
        flow.tcpFlags = SYN | ACK | PSH | RST;
        flow.reverseTcpFlags = SYN | ACK | PSH;
      } else {
        flow.tcpFlags = ACK | PSH;
        flow.reverseTcpFlags = flow.reversePackets === 0 ? 0 : ACK | RST;
        if (flow.reversePackets === 0) flow.tcpFlags |= RST;
      }
      return;
    case 'completed':
      if (flow.reversePackets === 0) flow.reversePackets = 1;
      if (variant === 0) {
        handshake();
        flow.tcpFlags = SYN | ACK | PSH | FIN;
        flow.reverseTcpFlags = SYN | ACK | PSH | FIN;
      } else {
        flow.tcpFlags = ACK | FIN; // the last part of a long connection
        flow.reverseTcpFlags = ACK | PSH | FIN;
      }
      return;
    case 'other':
      if (variant === 0) {
        handshake(); // half-closed
        flow.tcpFlags = SYN | ACK | PSH | FIN;
        flow.reverseTcpFlags = SYN | ACK | PSH;
      } else if (variant === 1) {
        // The destination (client) opened towards the source; the server's packet came first.
        flow.forwardIsClient = false;
        if (flow.reversePackets === 0) flow.reversePackets = 1;
        flow.tcpFlags = ACK;
        flow.reverseTcpFlags = SYN;
      } else {
        flow.tcpFlags = ACK | PSH; // idle mid-stream
        flow.reverseTcpFlags = flow.reversePackets === 0 ? 0 : ACK;
      }
      return;
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
