import {
  FrameSpec, IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_BYTES, IPV6_HEADER_BYTES, PcapWriter, TCP_ACK, TCP_FIN, TCP_HEADER_BYTES, TCP_PSH, TCP_SYN,
  UDP_HEADER_BYTES, frameBytesFor, ipLengthBytes, writeFrame,
} from './pcap-writer.js';

/**
 * Synthetic captures for tests and benchmarks: each scenario writes a classic pcap and returns the
 * ground truth it wrote (per flow and in total), deterministically from a seed.
 *
 * A flow is bidirectional and keyed by (ipVersion, src, dst, protocol, srcPort, dstPort, vlanId);
 * "forward" is the direction of the flow's first packet. Octets are IP bytes (IPv4 total length,
 * IPv6 40 + payload length), as flow probes count them. Addresses come from documentation and
 * benchmarking ranges: clients 10.0.0.0/8 and 2001:db8:c::/48, servers 198.18.0.0/15 (RFC 2544)
 * and 2001:db8:5::/48.
 */

export interface FlowTruth {
  ipVersion: 4 | 6;
  src: string;
  dst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  vlanId: number;
  packetsFwd: number;
  octetsFwd: number;
  packetsRev: number;
  octetsRev: number;
}

export interface CaptureTruth {
  path: string;
  scenario: 'long-lived-flows' | 'new-flow-per-packet' | 'imix';
  seed: number;
  packets: number;
  /** Sum of IP lengths. */
  ipOctets: number;
  /** Sum of frame lengths (what the pcap records hold). */
  frameBytes: number;
  ipv6Packets: number;
  vlanPackets: number;
  tcpPackets: number;
  udpPackets: number;
  flowCount: number;
  firstTsUs: number;
  lastTsUs: number;
  /** Per flow, keyed by flowTruthKey of the forward direction; null when options.truth is 'totals'. */
  flows: Map<string, FlowTruth> | null;
}

export interface ScenarioOptions {
  path: string;
  packets: number;
  seed?: number;
  /** 'flows' (default) also returns the per-flow map; 'totals' skips it for multi-million-flow benches. */
  truth?: 'flows' | 'totals';
  /** Inter-packet gap is uniform in [1, maxStepUs] µs (default 1000). */
  maxStepUs?: number;
  /** First timestamp, µs since the epoch (default 2024-01-01T00:00:00Z). */
  startUs?: number;
  resolution?: 'us' | 'ns';
  /** Share of flows that are IPv6 / carry an 802.1Q tag (defaults per scenario). */
  ipv6Share?: number;
  vlanShare?: number;
}

export const DEFAULT_START_US = Date.UTC(2024, 0, 1) * 1000;

export function flowTruthKey(ipVersion: number, src: string, dst: string, protocol: number, srcPort: number, dstPort: number, vlanId: number): string {
  return `${ipVersion}|${src}|${dst}|${protocol}|${srcPort}|${dstPort}|${vlanId}`;
}

/** One entry per direction that carried packets, keyed by flowTruthKey of that direction. */
export function directionalTotals(flows: Map<string, FlowTruth>): Map<string, { packets: number; octets: number }> {
  const out = new Map<string, { packets: number; octets: number }>();
  for (const f of flows.values()) {
    out.set(flowTruthKey(f.ipVersion, f.src, f.dst, f.protocol, f.srcPort, f.dstPort, f.vlanId), { packets: f.packetsFwd, octets: f.octetsFwd });
    if (f.packetsRev > 0) out.set(flowTruthKey(f.ipVersion, f.dst, f.src, f.protocol, f.dstPort, f.srcPort, f.vlanId), { packets: f.packetsRev, octets: f.octetsRev });
  }
  return out;
}

/** xorshift32 (Marsaglia 2003): tiny, fast, and the same sequence on every run for a seed. */
export class Xorshift32 {
  private state: number;
  constructor(seed: number) {
    this.state = (seed ^ 0x9e3779b9) >>> 0 || 1;
  }
  nextU32(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (this.state = x >>> 0);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Distinct client hosts scramble24 can give (flows per scenario are capped by it). */
const MAX_HOSTS = 0x1000000;

/** A bijection on 24-bit integers, so distinct flow indexes give distinct, random-looking hosts. */
function scramble24(i: number, seed: number): number {
  let x = (i ^ seed) & 0xffffff;
  x = Math.imul(x, 0x9e3779) & 0xffffff | 0; // odd multiplier: invertible mod 2^24
  x ^= x >>> 12;
  x = Math.imul(x, 0x5bd1e5) & 0xffffff; // odd too
  return x ^ (x >>> 11);
}

/** Per-flow endpoints, in typed arrays: addresses are 16 bytes a flow (IPv4 in the first 4). */
class Endpoints {
  readonly version: Uint8Array;
  readonly vlan: Uint16Array;
  readonly protocol: Uint8Array;
  readonly clientAddr: Uint8Array;
  readonly serverAddr: Uint8Array;
  readonly clientPort: Uint16Array;
  readonly serverPort: Uint16Array;
  readonly seqClient: Uint32Array;
  readonly seqServer: Uint32Array;
  constructor(flows: number) {
    this.version = new Uint8Array(flows);
    this.vlan = new Uint16Array(flows);
    this.protocol = new Uint8Array(flows);
    this.clientAddr = new Uint8Array(flows * 16);
    this.serverAddr = new Uint8Array(flows * 16);
    this.clientPort = new Uint16Array(flows);
    this.serverPort = new Uint16Array(flows);
    this.seqClient = new Uint32Array(flows);
    this.seqServer = new Uint32Array(flows);
  }

  /** Fills flow `f` with a unique client host (from f), a server from a pool, random ports and ISNs. */
  assign(f: number, rng: Xorshift32, seed: number, v6: boolean, protocol: number, vlanId: number, serverPorts: readonly number[]): void {
    this.version[f] = v6 ? 6 : 4;
    this.vlan[f] = vlanId;
    this.protocol[f] = protocol;
    setHostAddress(this.clientAddr, f * 16, v6, true, scramble24(f, seed));
    setHostAddress(this.serverAddr, f * 16, v6, false, rng.int(512));
    this.clientPort[f] = 1024 + rng.int(64_512);
    this.serverPort[f] = serverPorts[rng.int(serverPorts.length)]!;
    this.seqClient[f] = rng.nextU32();
    this.seqServer[f] = rng.nextU32();
  }

  /** Copies flow f's addresses, ports, VLAN and MACs into spec for a packet in the given direction. */
  load(spec: FrameSpec, f: number, fromClient: boolean): void {
    spec.ipVersion = this.version[f] === 6 ? 6 : 4;
    spec.vlanId = this.vlan[f]!;
    spec.protocol = this.protocol[f]!;
    const a = fromClient ? this.clientAddr : this.serverAddr;
    const b = fromClient ? this.serverAddr : this.clientAddr;
    spec.srcAddr.set(a.subarray(f * 16, f * 16 + 16));
    spec.dstAddr.set(b.subarray(f * 16, f * 16 + 16));
    spec.srcPort = fromClient ? this.clientPort[f]! : this.serverPort[f]!;
    spec.dstPort = fromClient ? this.serverPort[f]! : this.clientPort[f]!;
    spec.srcMac = fromClient ? CLIENT_MAC : GATEWAY_MAC;
    spec.dstMac = fromClient ? GATEWAY_MAC : CLIENT_MAC;
    spec.ttl = fromClient ? 64 : 57;
  }
}

const CLIENT_MAC = 0x02_00_00_00_00_01;
const GATEWAY_MAC = 0x02_00_00_00_00_02;
const TCP_SERVER_PORTS = [443, 443, 443, 80, 8080, 8443] as const;
const UDP_SERVER_PORTS = [53, 443, 4500, 5060, 8125] as const;

function setHostAddress(out: Uint8Array, at: number, v6: boolean, client: boolean, host: number): void {
  out.fill(0, at, at + 16);
  if (!v6) {
    out[at] = client ? 10 : 198;
    out[at + 1] = client ? host >>> 16 : 18 + (host >>> 16);
    out[at + 2] = host >>> 8;
    out[at + 3] = client ? host : host + 1;
    return;
  }
  out.set([0x20, 0x01, 0x0d, 0xb8, 0x00, client ? 0x0c : 0x05], at);
  out[at + 13] = host >>> 16;
  out[at + 14] = host >>> 8;
  out[at + 15] = client ? host : host + 1;
}

/** Writes frames, advances the clock and counts everything a scenario emits. */
class CaptureEmitter {
  readonly spec = new FrameSpec();
  readonly rng: Xorshift32;
  private readonly frame = new Uint8Array(frameBytesFor(65_535));
  private readonly writer: PcapWriter;
  private readonly maxStepUs: number;
  private tsUs: number;
  private readonly truth: CaptureTruth;
  /** Forward key per flow id (flows mode); flow ids may be first used in any order. */
  private readonly keys: (string | undefined)[] | null;
  private firstFromClient = new Uint8Array(1024);
  private counts = new Float64Array(4 * 1024); // per flow: packetsFwd, octetsFwd, packetsRev, octetsRev

  constructor(scenario: CaptureTruth['scenario'], options: ScenarioOptions) {
    const seed = options.seed ?? 1;
    this.rng = new Xorshift32(seed);
    this.writer = new PcapWriter(options.path, { resolution: options.resolution ?? 'us' });
    this.maxStepUs = options.maxStepUs ?? 1000;
    this.tsUs = options.startUs ?? DEFAULT_START_US;
    this.keys = options.truth === 'totals' ? null : [];
    this.truth = {
      path: options.path, scenario, seed, packets: 0, ipOctets: 0, frameBytes: 0, ipv6Packets: 0, vlanPackets: 0, tcpPackets: 0, udpPackets: 0,
      flowCount: 0, firstTsUs: this.tsUs, lastTsUs: this.tsUs, flows: null,
    };
  }

  /** Writes the packet in `spec` as flow `flowId`'s next packet (ids are small integers, any order). */
  emit(flowId: number, fromClient: boolean): void {
    const spec = this.spec;
    const t = this.truth;
    spec.ipId = (spec.ipId + 1) & 0xffff;
    const length = writeFrame(this.frame, spec);
    const ipBytes = ipLengthBytes(spec);
    this.tsUs += t.packets === 0 ? 0 : 1 + this.rng.int(this.maxStepUs);
    this.writer.writePacket(this.frame, length, this.tsUs);

    if (flowId >= this.firstFromClient.length) this.grow(flowId);
    const c = flowId * 4;
    if (this.counts[c] === 0 && this.counts[c + 2] === 0) {
      t.flowCount++;
      this.firstFromClient[flowId] = fromClient ? 1 : 0;
      if (this.keys !== null) this.keys[flowId] = this.describe();
    }
    const d = (this.firstFromClient[flowId] === 1) === fromClient ? c : c + 2;
    this.counts[d]!++;
    this.counts[d + 1]! += ipBytes;
    t.packets++;
    t.ipOctets += ipBytes;
    t.frameBytes += length;
    if (spec.ipVersion === 6) t.ipv6Packets++;
    if (spec.vlanId !== 0) t.vlanPackets++;
    if (spec.protocol === IPPROTO_TCP) t.tcpPackets++;
    else if (spec.protocol === IPPROTO_UDP) t.udpPackets++;
  }

  finish(): CaptureTruth {
    this.writer.close();
    const t = this.truth;
    t.lastTsUs = this.tsUs;
    if (this.keys !== null) {
      t.flows = new Map();
      this.keys.forEach((key, flowId) => {
        if (key === undefined) return;
        const [v, src, dst, protocol, srcPort, dstPort, vlanId] = key.split('|');
        const c = this.counts.subarray(flowId * 4, flowId * 4 + 4);
        t.flows!.set(key, {
          ipVersion: v === '6' ? 6 : 4, src: src!, dst: dst!, protocol: Number(protocol), srcPort: Number(srcPort), dstPort: Number(dstPort), vlanId: Number(vlanId),
          packetsFwd: c[0]!, octetsFwd: c[1]!, packetsRev: c[2]!, octetsRev: c[3]!,
        });
      });
    }
    return t;
  }

  private describe(): string {
    const s = this.spec;
    return flowTruthKey(s.ipVersion, formatAddress(s.srcAddr, s.ipVersion), formatAddress(s.dstAddr, s.ipVersion), s.protocol, s.srcPort, s.dstPort, s.vlanId);
  }

  private grow(flowId: number): void {
    let size = this.firstFromClient.length;
    while (size <= flowId) size *= 2;
    const first = new Uint8Array(size);
    first.set(this.firstFromClient);
    const counts = new Float64Array(size * 4);
    counts.set(this.counts);
    this.firstFromClient = first;
    this.counts = counts;
  }
}

/** Dotted quad, or RFC 5952 text for IPv6 (WHATWG URL serialises hosts that way). */
export function formatAddress(bytes: Uint8Array, ipVersion: number): string {
  if (ipVersion === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function share(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${v}`);
  return v;
}

const vlanFor = (rng: Xorshift32, vlanShare: number): number => (rng.next() < vlanShare ? 100 + rng.int(8) : 0);
const mssFor = (v6: boolean): number => (v6 ? 1440 : 1460);

/**
 * `flows` TCP connections open at once, each with handshake, data both ways and FIN/ACK close;
 * every packet belongs to a random still-open connection, so connections interleave and all stay
 * open for most of the capture. Packets are split evenly (at least 7 a connection).
 */
export function longLivedFlows(options: ScenarioOptions & { flows: number }): CaptureTruth {
  const { flows, packets } = options;
  const perFlow = Math.floor(packets / flows);
  if (!(flows >= 1 && flows <= MAX_HOSTS && perFlow >= 7)) throw new RangeError(`longLivedFlows needs 1 <= flows <= 2^24 and packets >= 7 * flows (got ${flows}, ${packets})`);
  const e = new CaptureEmitter('long-lived-flows', options);
  const { rng } = e;
  const ipv6Share = share(options.ipv6Share, 0.1, 'ipv6Share');
  const vlanShare = share(options.vlanShare, 0, 'vlanShare');
  const hostSeed = rng.nextU32() & 0xffffff;
  const ends = new Endpoints(flows);
  const length = new Int32Array(flows);
  const sent = new Int32Array(flows);
  const open = new Int32Array(flows);
  for (let f = 0; f < flows; f++) {
    ends.assign(f, rng, hostSeed, rng.next() < ipv6Share, IPPROTO_TCP, vlanFor(rng, vlanShare), TCP_SERVER_PORTS);
    length[f] = perFlow + (f < packets - perFlow * flows ? 1 : 0);
    open[f] = f;
  }
  let openCount = flows;
  while (openCount > 0) {
    const j = rng.int(openCount);
    const f = open[j]!;
    const i = sent[f]!++;
    const last = length[f]! - 1;
    // Handshake (SYN, SYN-ACK, ACK), data, then FIN-ACK, ACK, FIN-ACK, ACK.
    const fromClient = i === 0 || i === 2 || i === last - 3 || i === last ? true : i === 1 || i >= last - 2 ? false : rng.next() < 0.4;
    const v6 = ends.version[f] === 6;
    let flags = TCP_ACK;
    let payloadBytes = 0;
    if (i === 0) flags = TCP_SYN;
    else if (i === 1) flags = TCP_SYN | TCP_ACK;
    else if (i === last - 3 || i === last - 1) flags = TCP_FIN | TCP_ACK;
    else if (i > 2 && i < last - 3) {
      payloadBytes = fromClient ? rng.int(300) : rng.next() < 0.7 ? mssFor(v6) : rng.int(mssFor(v6));
      if (payloadBytes > 0) flags = TCP_PSH | TCP_ACK;
    }
    sendTcp(e, ends, f, fromClient, flags, payloadBytes);
    if (i === last) open[j] = open[--openCount]!;
  }
  return e.finish();
}

/** Fills spec with flow f's next TCP segment in one direction and advances that side's sequence number. */
function sendTcp(e: CaptureEmitter, ends: Endpoints, f: number, fromClient: boolean, flags: number, payloadBytes: number): void {
  const spec = e.spec;
  ends.load(spec, f, fromClient);
  const mySeq = fromClient ? ends.seqClient : ends.seqServer;
  const theirSeq = fromClient ? ends.seqServer : ends.seqClient;
  spec.tcpFlags = flags;
  spec.tcpSeq = mySeq[f]!;
  spec.tcpAck = flags & TCP_ACK ? theirSeq[f]! : 0;
  spec.payloadBytes = payloadBytes;
  mySeq[f] = mySeq[f]! + payloadBytes + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0); // SYN and FIN use one sequence number
  e.emit(f, fromClient);
}

/**
 * A SYN scan/flood: every packet is a TCP SYN from a new source address (unique up to 2^24
 * packets) and random source port, to one of 16 targets on a random port below 1024.
 */
export function newFlowPerPacket(options: ScenarioOptions): CaptureTruth {
  const { packets } = options;
  if (!(packets >= 1 && packets <= MAX_HOSTS)) throw new RangeError(`newFlowPerPacket supports 1 to 2^24 packets, got ${packets}`);
  const e = new CaptureEmitter('new-flow-per-packet', options);
  const { rng, spec } = e;
  const ipv6Share = share(options.ipv6Share, 0, 'ipv6Share');
  const vlanShare = share(options.vlanShare, 0, 'vlanShare');
  const hostSeed = rng.nextU32() & 0xffffff;
  const ends = new Endpoints(1); // one slot, refilled per packet
  for (let i = 0; i < packets; i++) {
    const v6 = rng.next() < ipv6Share;
    ends.assign(0, rng, hostSeed, v6, IPPROTO_TCP, vlanFor(rng, vlanShare), TCP_SERVER_PORTS);
    setHostAddress(ends.clientAddr, 0, v6, true, scramble24(i, hostSeed));
    setHostAddress(ends.serverAddr, 0, v6, false, rng.int(16));
    ends.serverPort[0] = 1 + rng.int(1023);
    ends.load(spec, 0, true);
    spec.tcpFlags = TCP_SYN;
    spec.tcpSeq = ends.seqClient[0]!;
    spec.tcpAck = 0;
    spec.tcpWindow = 1024;
    spec.payloadBytes = 0;
    e.emit(i, true);
  }
  return e.finish();
}

/** IMIX IP packet sizes 40/576/1500 bytes in proportion 7:4:1 (raised to the smallest header stack). */
const IMIX_IP_BYTES = [40, 40, 40, 40, 40, 40, 40, 576, 576, 576, 576, 1500] as const;

/**
 * IMIX traffic over `flows` (default 2000) TCP and UDP flows already established when the capture
 * starts: each packet picks a random flow and direction. Defaults: 20 % IPv6, 30 % UDP, 10 % VLAN.
 */
export function imix(options: ScenarioOptions & { flows?: number; udpShare?: number }): CaptureTruth {
  const flows = options.flows ?? 2000;
  if (!(flows >= 1 && flows <= MAX_HOSTS && options.packets >= 1)) throw new RangeError('imix needs 1 <= flows <= 2^24 and packets >= 1');
  const e = new CaptureEmitter('imix', options);
  const { rng, spec } = e;
  const ipv6Share = share(options.ipv6Share, 0.2, 'ipv6Share');
  const vlanShare = share(options.vlanShare, 0.1, 'vlanShare');
  const udpShare = share(options.udpShare, 0.3, 'udpShare');
  const hostSeed = rng.nextU32() & 0xffffff;
  const ends = new Endpoints(flows);
  for (let f = 0; f < flows; f++) {
    const udp = rng.next() < udpShare;
    ends.assign(f, rng, hostSeed, rng.next() < ipv6Share, udp ? IPPROTO_UDP : IPPROTO_TCP, vlanFor(rng, vlanShare), udp ? UDP_SERVER_PORTS : TCP_SERVER_PORTS);
  }
  for (let i = 0; i < options.packets; i++) {
    const f = rng.int(flows);
    const fromClient = rng.next() < 0.5;
    const v6 = ends.version[f] === 6;
    const udp = ends.protocol[f] === IPPROTO_UDP;
    const headerBytes = (v6 ? IPV6_HEADER_BYTES : IPV4_HEADER_BYTES) + (udp ? UDP_HEADER_BYTES : TCP_HEADER_BYTES);
    const ipBytes = Math.max(IMIX_IP_BYTES[rng.int(IMIX_IP_BYTES.length)]!, headerBytes);
    const payloadBytes = ipBytes - headerBytes;
    if (udp) {
      ends.load(spec, f, fromClient);
      spec.payloadBytes = payloadBytes;
      e.emit(f, fromClient);
    } else {
      sendTcp(e, ends, f, fromClient, payloadBytes > 0 ? TCP_PSH | TCP_ACK : TCP_ACK, payloadBytes);
    }
  }
  return e.finish();
}
