import { FrameSpec, IPPROTO_TCP, PcapWriter, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, frameBytesFor, ipLengthBytes, writeFrame } from './pcap-writer.js';
import { ConnectionOutcome as Outcome } from '../../src/flow/flow-record.js';
import { Xorshift32 } from './traffic-generator.js';
import { canonicalAddress } from './tshark-truth.js';

/**
 * A TCP connection rush with known truth, for the connection metrics of issue 7: every connection
 * has a known outcome, handshake RTT split, server response time per turn, retransmissions,
 * out-of-order segments, TTL and size ranges, packets and IP octets per direction. Frames come from
 * pcap-writer (zero payloads, correct checksums) and are written in timestamp order.
 *
 * Times are as seen at the probe (µs, integers): serverRttUs = last SYN → SYN/ACK, clientRttUs =
 * SYN/ACK → ACK; their sum is what tshark calls tcp.analysis.initial_rtt (it measures from the most
 * recent SYN). serverResponseUs = last request packet (a retransmission if the request was resent)
 * → first response packet. Loss is modelled downstream of the probe: the probe sees the original
 * and, one RTO later, the resend with the same sequence number. The RTO exceeds the initial RTT, so
 * tshark calls it a retransmission, not out-of-order; no duplicate ACKs are sent, so never a
 * "fast" retransmission, and nothing resent was acked, so never "spurious".
 */

export type ConnectionOutcome = 'completed' | 'reset_by_server' | 'reset_by_client' | 'rejected' | 'syn_unanswered' | 'mid_stream';
export const CONNECTION_OUTCOMES: readonly ConnectionOutcome[] = ['completed', 'reset_by_server', 'reset_by_client', 'rejected', 'syn_unanswered', 'mid_stream'];

/** The flow table's ConnectionOutcome code each generated outcome must come out as. */
export const RUSH_OUTCOME_CODES: Readonly<Record<ConnectionOutcome, number>> = {
  completed: Outcome.COMPLETED,
  reset_by_server: Outcome.RESET_BY_SERVER,
  reset_by_client: Outcome.RESET_BY_CLIENT,
  rejected: Outcome.REJECTED,
  syn_unanswered: Outcome.SYN_UNANSWERED,
  mid_stream: Outcome.MID_STREAM,
};

/** What one direction of a connection carried, as the probe saw it. */
export interface DirectionTruth {
  packets: number;
  /** IPv4 total length or 40 + IPv6 payload length, summed. */
  ipOctets: number;
  /** Segments that resend sequence space already seen (SYN retries included, like tshark). */
  retransmittedPackets: number;
  /** TCP payload bytes of those segments. */
  retransmittedBytes: number;
  /** Segments seen after a segment with a higher sequence number (tshark: tcp.analysis.out_of_order). */
  outOfOrderPackets: number;
  minTtl: number;
  maxTtl: number;
  minIpBytes: number;
  maxIpBytes: number;
}

export interface ConnectionTruth {
  index: number;
  ipVersion: 4 | 6;
  /** 0 = untagged, else the 802.1Q VLAN id of both directions. */
  vlanId: number;
  /** Canonical text (IPv6 compressed, lower case), as tshark prints it. */
  clientAddr: string;
  clientPort: number;
  serverAddr: string;
  serverPort: number;
  outcome: ConnectionOutcome;
  /** SYNs sent after the first (for syn_unanswered and for some handshakes that then succeed). */
  synRetries: number;
  /** null when no SYN/ACK was seen (rejected, syn_unanswered, mid_stream). */
  serverRttUs: number | null;
  clientRttUs: number | null;
  /** One entry per request/response turn that got a response. */
  serverResponseUs: number[];
  firstPacketUs: number;
  lastPacketUs: number;
  /** Client → server. */
  toServer: DirectionTruth;
  /** Server → client. */
  toClient: DirectionTruth;
}

export interface ConnectionRushOptions {
  seed: number;
  connections: number;
  /** Share of connections to the IPv6 services, 0..1. */
  ipv6Share: number;
  /** Share of connections carried in an 802.1Q tag, 0..1. */
  vlanShare: number;
  /** Capture start, µs since the epoch (default 2026-11-20 19:00 UTC). */
  startUs?: number;
  /** Connections start uniformly within this window (default 20 s). */
  durationUs?: number;
  /** Relative weights of the outcomes (default: a rush with mostly completed sessions). */
  outcomeWeights?: Partial<Record<ConnectionOutcome, number>>;
  /** Chance that a request or response loses (and resends) one segment (default 0.15). */
  retransmitShare?: number;
  /** Chance that a response of 3+ segments has two segments swapped (default 0.1). */
  outOfOrderShare?: number;
}

const DEFAULT_WEIGHTS: Record<ConnectionOutcome, number> = { completed: 55, reset_by_server: 12, reset_by_client: 8, rejected: 8, syn_unanswered: 10, mid_stream: 7 };
const RUSH_VLAN_IDS = [101, 102, 203];
const MIN_RTT_US = 200;
const MAX_RTT_US = 80_000;
const MIN_RTO_US = 200_000;
const FIRST_SYN_RETRY_US = 1_000_000;

export interface RushService { ipVersion: 4 | 6; addr: number[]; port: number }
/** The services of the rush: one IPv4 and one IPv6 address (documentation prefixes), HTTPS and HTTP. */
export const RUSH_SERVICES: readonly RushService[] = [
  { ipVersion: 4, addr: [192, 0, 2, 10], port: 443 },
  { ipVersion: 4, addr: [192, 0, 2, 10], port: 80 },
  { ipVersion: 4, addr: [192, 0, 2, 20], port: 443 },
  { ipVersion: 6, addr: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10], port: 443 },
  { ipVersion: 6, addr: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10], port: 80 },
];

interface Pending { tsUs: number; order: number; frame: Uint8Array }

/** Writes the rush to `path` (classic pcap, µs) and returns the truth of every connection. */
export function writeConnectionRush(path: string, options: ConnectionRushOptions): ConnectionTruth[] {
  const rng = new Xorshift32(options.seed);
  const startUs = options.startUs ?? Date.UTC(2026, 10, 20, 19, 0, 0) * 1000;
  const durationUs = options.durationUs ?? 20_000_000;
  const weights = { ...DEFAULT_WEIGHTS, ...options.outcomeWeights };
  const totalWeight = CONNECTION_OUTCOMES.reduce((sum, o) => sum + weights[o], 0);
  const pending: Pending[] = [];
  const scratch = new Uint8Array(frameBytesFor(1600));
  const usedTuples = new Set<string>();
  const truths: ConnectionTruth[] = [];
  const ctx = { rng, pending, scratch, spec: new FrameSpec(), order: 0, retransmitShare: options.retransmitShare ?? 0.15, outOfOrderShare: options.outOfOrderShare ?? 0.1 };

  for (let i = 0; i < options.connections; i++) {
    const v6 = rng.next() < options.ipv6Share;
    const services = RUSH_SERVICES.filter((s) => (s.ipVersion === 6) === v6);
    const service = services[rng.int(services.length)]!;
    const vlanId = rng.next() < options.vlanShare ? RUSH_VLAN_IDS[rng.int(RUSH_VLAN_IDS.length)]! : 0;
    let roll = rng.next() * totalWeight;
    const outcome = CONNECTION_OUTCOMES.find((o) => (roll -= weights[o]) < 0) ?? 'completed';
    // Many connections per client host, as in a rush; the 4-tuple stays unique so tshark keeps one stream each.
    const host = rng.int(Math.max(1, Math.ceil(options.connections / 3)));
    const clientAddr = v6 ? [0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, (host >> 8) & 0xff, host & 0xff] : [host & 0x100 ? 203 : 198, host & 0x100 ? 0 : 51, host & 0x100 ? 113 : 100, 1 + (host & 0xff) % 254];
    let clientPort = 0;
    do clientPort = 32_768 + rng.int(28_000);
    while (usedTuples.has(`${clientAddr.join('.')}|${clientPort}|${service.addr.join('.')}|${service.port}`));
    usedTuples.add(`${clientAddr.join('.')}|${clientPort}|${service.addr.join('.')}|${service.port}`);

    const c = new RushConnection(ctx, i, service, clientAddr, clientPort, vlanId, outcome);
    c.play(startUs + rng.int(durationUs));
    truths.push(c.truth);
  }

  pending.sort((a, b) => a.tsUs - b.tsUs || a.order - b.order);
  const writer = new PcapWriter(path);
  for (const p of pending) writer.writePacket(p.frame, p.frame.length, p.tsUs);
  writer.close();
  return truths;
}

interface RushContext {
  rng: Xorshift32;
  pending: Pending[];
  scratch: Uint8Array;
  spec: FrameSpec;
  order: number;
  retransmitShare: number;
  outOfOrderShare: number;
}

function emptyDirection(): DirectionTruth {
  return { packets: 0, ipOctets: 0, retransmittedPackets: 0, retransmittedBytes: 0, outOfOrderPackets: 0, minTtl: 0, maxTtl: 0, minIpBytes: 0, maxIpBytes: 0 };
}

function addressText(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return canonicalAddress(groups.join(':'));
}

/** One connection: sequence numbers, per-direction TTL, and the truth it accumulates as it writes. */
class RushConnection {
  readonly truth: ConnectionTruth;
  private clientSeq: number;
  private serverSeq: number;
  private readonly clientTtl: number;
  private readonly serverTtl: number;
  private readonly serverRtt: number;
  private readonly clientRtt: number;
  private readonly mss: number;
  private ipId = 0;
  private t = 0;

  constructor(private readonly ctx: RushContext, index: number, private readonly service: RushService, private readonly clientAddr: number[], clientPort: number, vlanId: number, outcome: ConnectionOutcome) {
    const rng = ctx.rng;
    this.clientSeq = rng.nextU32();
    this.serverSeq = rng.nextU32();
    this.clientTtl = 40 + rng.int(25); // a client some hops away
    this.serverTtl = 62 + rng.int(3); // the servers sit a hop or two behind the probe
    this.serverRtt = MIN_RTT_US + rng.int(MAX_RTT_US - MIN_RTT_US + 1);
    this.clientRtt = MIN_RTT_US + rng.int(MAX_RTT_US - MIN_RTT_US + 1);
    this.ipId = rng.int(0x10000);
    this.mss = service.ipVersion === 6 ? 1428 : 1448;
    this.truth = {
      index, ipVersion: service.ipVersion, vlanId, clientAddr: addressText(clientAddr), clientPort, serverAddr: addressText(service.addr), serverPort: service.port,
      outcome, synRetries: 0, serverRttUs: null, clientRttUs: null, serverResponseUs: [], firstPacketUs: 0, lastPacketUs: 0, toServer: emptyDirection(), toClient: emptyDirection(),
    };
  }

  /** Writes the whole connection, starting at startUs. */
  play(startUs: number): void {
    const rng = this.ctx.rng;
    const outcome = this.truth.outcome;
    this.t = startUs;
    if (outcome === 'mid_stream') {
      this.turns(1 + rng.int(3));
      this.close();
      return;
    }
    const synRetries = outcome === 'syn_unanswered' ? 1 + rng.int(3) : outcome === 'rejected' ? 0 : rng.next() < 0.1 ? 1 : 0;
    let backoffUs = FIRST_SYN_RETRY_US;
    this.send(true, TCP_SYN, 0);
    for (let r = 0; r < synRetries; r++) {
      this.t += backoffUs;
      backoffUs *= 2;
      this.send(true, TCP_SYN, 0, { resend: true, seqBack: 1 });
    }
    this.truth.synRetries = synRetries;
    if (outcome === 'syn_unanswered') return;
    this.t += this.serverRtt;
    if (outcome === 'rejected') {
      this.send(false, TCP_RST | TCP_ACK, 0, { seqZero: true });
      return;
    }
    this.send(false, TCP_SYN | TCP_ACK, 0);
    this.t += this.clientRtt;
    this.send(true, TCP_ACK, 0);
    this.truth.serverRttUs = this.serverRtt;
    this.truth.clientRttUs = this.clientRtt;
    this.t += 20 + rng.int(2_000);
    if (outcome === 'reset_by_server') {
      this.turns(rng.int(2));
      this.request();
      this.t += this.serverRtt + 1_000 + rng.int(300_000);
      this.send(false, TCP_RST | TCP_ACK, 0);
    } else if (outcome === 'reset_by_client') {
      this.turns(rng.int(2));
      this.request();
      this.response(3 + rng.int(8), true);
    } else {
      this.turns(1 + rng.int(3));
      this.close();
    }
  }

  private turns(count: number): void {
    for (let k = 0; k < count; k++) {
      this.request();
      this.response(1 + this.ctx.rng.int(8), false);
      this.t += this.clientRtt;
      this.send(true, TCP_ACK, 0); // acks the whole response, after any resend
      this.t += 1_000 + this.ctx.rng.int(150_000); // the client reads, then asks again
    }
  }

  /** One request of 1–2 segments; maybe the last one is lost after the probe and resent one RTO later. */
  private request(): void {
    const rng = this.ctx.rng;
    const segments = rng.next() < 0.25 ? 2 : 1;
    let lastBytes = 0;
    for (let s = 0; s < segments; s++) {
      if (s > 0) this.t += 30 + rng.int(300);
      lastBytes = 120 + rng.int(900);
      this.send(true, TCP_ACK | (s === segments - 1 ? TCP_PSH : 0), lastBytes);
    }
    if (rng.next() < this.ctx.retransmitShare) {
      this.t += this.rtoUs();
      this.send(true, TCP_ACK | TCP_PSH, lastBytes, { resend: true, seqBack: lastBytes });
    }
  }

  /** The response to the last request; with clientAborts the client resets after a few segments. */
  private response(segments: number, clientAborts: boolean): void {
    const rng = this.ctx.rng;
    const lastRequestUs = this.t;
    this.t += this.serverRtt + 500 + rng.int(400_000); // the server thinks (slowly, it is a rush)
    this.truth.serverResponseUs.push(this.t - lastRequestUs);
    const sizes: number[] = [];
    for (let s = 0; s < segments; s++) sizes.push(s < segments - 1 ? this.mss : 100 + rng.int(this.mss - 100));
    if (clientAborts) {
      // The client gives up while the response streams in: RST some time after the first segment.
      const abortUs = this.t + this.clientRtt + rng.int(2_000);
      this.send(false, TCP_ACK, sizes[0]!);
      for (let s = 1; s < segments; s++) {
        const nextUs = this.t + 20 + rng.int(300);
        if (nextUs >= abortUs) break;
        this.t = nextUs;
        this.send(false, TCP_ACK, sizes[s]!);
      }
      this.t = abortUs;
      this.send(true, TCP_RST | TCP_ACK, 0);
      return;
    }
    const swapAt = segments >= 3 && rng.next() < this.ctx.outOfOrderShare ? rng.int(segments - 1) : -1;
    const seqAt: number[] = [];
    let seq = this.serverSeq;
    for (const size of sizes) {
      seqAt.push(seq);
      seq = (seq + size) >>> 0;
    }
    for (let s = 0; s < segments; s++) {
      if (s > 0) this.t += 20 + rng.int(300);
      // With a swap, segment swapAt+1 overtakes swapAt; the late one is the out-of-order packet.
      const k = swapAt < 0 ? s : s === swapAt ? s + 1 : s === swapAt + 1 ? s - 1 : s;
      this.send(false, TCP_ACK | (k === segments - 1 ? TCP_PSH : 0), sizes[k]!, { seq: seqAt[k]!, outOfOrder: s === swapAt + 1 && swapAt >= 0 });
    }
    this.serverSeq = seq;
    if (swapAt < 0 && rng.next() < this.ctx.retransmitShare) {
      const k = rng.int(segments);
      this.t += this.rtoUs();
      this.send(false, TCP_ACK | (k === segments - 1 ? TCP_PSH : 0), sizes[k]!, { seq: seqAt[k]!, resend: true });
    }
  }

  /** FIN both ways: the client closes first, or the server does. */
  private close(): void {
    const clientFirst = this.ctx.rng.next() < 0.7;
    this.t += 1_000 + this.ctx.rng.int(50_000);
    this.send(clientFirst, TCP_FIN | TCP_ACK, 0);
    this.t += clientFirst ? this.serverRtt : this.clientRtt;
    this.send(!clientFirst, TCP_FIN | TCP_ACK, 0);
    this.t += clientFirst ? this.clientRtt : this.serverRtt;
    this.send(clientFirst, TCP_ACK, 0);
  }

  /** Loss detection by timer: at least 200 ms and always above the initial RTT (tshark's out-of-order limit). */
  private rtoUs(): number {
    return MIN_RTO_US + 2 * (this.serverRtt + this.clientRtt) + this.ctx.rng.int(50_000);
  }

  /**
   * Writes one segment at this.t. Sequence: the direction's next one, or `seq` (explicit, does not
   * advance), or next − seqBack for a resend of the last segment; seqZero for a RST answering a SYN.
   */
  private send(fromClient: boolean, flags: number, payloadBytes: number, how: { resend?: boolean; seqBack?: number; seq?: number; seqZero?: boolean; outOfOrder?: boolean } = {}): void {
    const { spec, rng } = this.ctx;
    const truth = this.truth;
    spec.ipVersion = this.service.ipVersion;
    spec.protocol = IPPROTO_TCP;
    spec.vlanId = truth.vlanId;
    spec.srcAddr.fill(0).set(fromClient ? this.clientAddr : this.service.addr);
    spec.dstAddr.fill(0).set(fromClient ? this.service.addr : this.clientAddr);
    spec.srcMac = fromClient ? 0x02_00_00_00_00_01 : 0x02_00_00_00_00_02;
    spec.dstMac = fromClient ? 0x02_00_00_00_00_02 : 0x02_00_00_00_00_01;
    spec.srcPort = fromClient ? truth.clientPort : truth.serverPort;
    spec.dstPort = fromClient ? truth.serverPort : truth.clientPort;
    // Some client packets take a path one hop longer (ECMP in the rush): the TTL range is not a point.
    spec.ttl = fromClient ? this.clientTtl - (rng.next() < 0.1 ? 1 : 0) : this.serverTtl;
    this.ipId = (this.ipId + 1) & 0xffff;
    spec.ipId = this.ipId;
    spec.tcpFlags = flags;
    const next = fromClient ? this.clientSeq : this.serverSeq;
    spec.tcpSeq = how.seqZero ? 0 : how.seq ?? (how.seqBack !== undefined ? (next - how.seqBack) >>> 0 : next);
    spec.tcpAck = flags & TCP_ACK ? (fromClient ? this.serverSeq : this.clientSeq) : 0;
    if (how.seqZero) spec.tcpAck = this.clientSeq; // RST answering a SYN: seq 0, acks the SYN
    spec.payloadBytes = payloadBytes;
    if (how.seq === undefined && !how.resend && !how.seqZero) {
      const used = payloadBytes + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
      if (fromClient) this.clientSeq = (this.clientSeq + used) >>> 0;
      else this.serverSeq = (this.serverSeq + used) >>> 0;
    }
    const frameBytes = writeFrame(this.ctx.scratch, spec);
    this.ctx.pending.push({ tsUs: this.t, order: this.ctx.order++, frame: this.ctx.scratch.slice(0, frameBytes) });

    const dir = fromClient ? truth.toServer : truth.toClient;
    const ipBytes = ipLengthBytes(spec);
    if (dir.packets === 0) {
      dir.minTtl = dir.maxTtl = spec.ttl;
      dir.minIpBytes = dir.maxIpBytes = ipBytes;
    }
    dir.packets++;
    dir.ipOctets += ipBytes;
    dir.minTtl = Math.min(dir.minTtl, spec.ttl);
    dir.maxTtl = Math.max(dir.maxTtl, spec.ttl);
    dir.minIpBytes = Math.min(dir.minIpBytes, ipBytes);
    dir.maxIpBytes = Math.max(dir.maxIpBytes, ipBytes);
    if (how.resend) {
      dir.retransmittedPackets++;
      dir.retransmittedBytes += payloadBytes;
    }
    if (how.outOfOrder) dir.outOfOrderPackets++;
    if (truth.toServer.packets + truth.toClient.packets === 1) truth.firstPacketUs = this.t;
    truth.lastPacketUs = this.t;
  }
}
