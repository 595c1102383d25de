/**
 * Shared test tools for the export layer: a seeded generator of random FlowRecords, the values an
 * independent reader should see for them (computed here from what was generated, not by the
 * encoder), and a transport that records copies of the messages it is given.
 */
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { emptyTransportStats, type MessageTransport } from '../../../src/export/message-transport.js';

/** mulberry32: small, seeded, reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A plain snapshot of a FlowRecord (FlowRecord itself is reused). */
export interface FlowSnapshot {
  ipVersion: number;
  srcAddr: number[];
  dstAddr: number[];
  srcPort: number;
  dstPort: number;
  protocol: number;
  icmpTypeCode: number;
  octets: number;
  packets: number;
  tcpFlags: number;
  tos: number;
  minTtl: number;
  maxTtl: number;
  srcMac: number;
  dstMac: number;
  vlanId: number;
  ingressInterface: number;
  startMs: number;
  endMs: number;
  endReason: number;
}

export function fillRecord(rec: FlowRecord, flow: FlowSnapshot): FlowRecord {
  const { srcAddr, dstAddr, ...scalars } = flow;
  Object.assign(rec, scalars);
  rec.srcAddr.set(srcAddr);
  rec.dstAddr.set(dstAddr);
  return rec;
}

export function randomFlows(count: number, seed = 1): FlowSnapshot[] {
  const random = seededRandom(seed);
  const int = (below: number) => Math.floor(random() * below);
  const u32 = () => int(4_294_967_296);
  const flows: FlowSnapshot[] = [];
  for (let i = 0; i < count; i++) {
    const ipVersion = random() < 0.3 ? 6 : 4;
    const protocol = [6, 6, 17, ipVersion === 6 ? 58 : 1, 47][int(5)] ?? 6;
    const isIcmp = protocol === 1 || protocol === 58;
    const hasPorts = protocol === 6 || protocol === 17;
    const minTtl = 1 + int(255);
    const startMs = 1_700_000_000_000 + int(86_400_000);
    // Mostly small counters, some beyond 2^32 and near 2^53 to exercise both 32-bit halves.
    const bigness = random();
    const octets = bigness < 0.8 ? 40 + int(1_000_000) : bigness < 0.95 ? 4_294_967_296 + int(1e12) : Number.MAX_SAFE_INTEGER - int(1000);
    flows.push({
      ipVersion,
      srcAddr: ipVersion === 6 ? [0x20010db8, int(3) === 0 ? 0 : u32(), 0, u32()] : [u32(), 0, 0, 0],
      dstAddr: ipVersion === 6 ? [0xfe800000, 0, u32(), int(2) === 0 ? 0 : u32()] : [u32(), 0, 0, 0],
      srcPort: hasPorts ? int(65_536) : 0,
      dstPort: hasPorts ? int(65_536) : 0,
      protocol,
      icmpTypeCode: isIcmp ? (int(256) << 8) | int(16) : 0,
      octets,
      packets: 1 + int(bigness < 0.95 ? 10_000 : 4_294_967_296 * 4),
      tcpFlags: protocol === 6 ? int(256) : 0,
      tos: int(256),
      minTtl,
      maxTtl: minTtl + int(256 - minTtl),
      srcMac: int(2 ** 48),
      dstMac: random() < 0.05 ? 2 ** 48 - 1 : int(2 ** 48),
      vlanId: random() < 0.5 ? 0 : int(4096),
      ingressInterface: random() < 0.1 ? 4_294_967_295 : int(64),
      startMs,
      endMs: startMs + int(3_600_000),
      endReason: 1 + int(5),
    });
  }
  return flows;
}

function ipv4Text(word: number): string {
  return [word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff].join('.');
}

/** IPv6 text via the WHATWG URL serializer (compressed, lowercase): independent of our formatter. */
function ipv6Text(words: number[]): string {
  const groups = words.flatMap((word) => [(word >>> 16).toString(16), (word & 0xffff).toString(16)]);
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function macText(mac: number): string {
  return mac.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

/** What a reader keyed by IANA names should decode for `flow` (message-parser conventions). */
export function expectedIpfixValues(flow: FlowSnapshot): Record<string, number | string> {
  const v6 = flow.ipVersion === 6;
  return {
    octetDeltaCount: flow.octets,
    packetDeltaCount: flow.packets,
    flowStartMilliseconds: flow.startMs,
    flowEndMilliseconds: flow.endMs,
    ...(v6
      ? { sourceIPv6Address: ipv6Text(flow.srcAddr), destinationIPv6Address: ipv6Text(flow.dstAddr) }
      : { sourceIPv4Address: ipv4Text(flow.srcAddr[0] ?? 0), destinationIPv4Address: ipv4Text(flow.dstAddr[0] ?? 0) }),
    ingressInterface: flow.ingressInterface,
    sourceMacAddress: macText(flow.srcMac),
    destinationMacAddress: macText(flow.dstMac),
    sourceTransportPort: flow.srcPort,
    destinationTransportPort: flow.dstPort,
    [v6 ? 'icmpTypeCodeIPv6' : 'icmpTypeCodeIPv4']: flow.icmpTypeCode,
    tcpControlBits: flow.tcpFlags,
    vlanId: flow.vlanId,
    protocolIdentifier: flow.protocol,
    ipClassOfService: flow.tos,
    minimumTTL: flow.minTtl,
    maximumTTL: flow.maxTtl,
    ipVersion: flow.ipVersion,
    flowEndReason: flow.endReason,
  };
}

export { ipv4Text, ipv6Text, macText };

/** Keeps a copy of every message (tests only). */
export class RecordingTransport implements MessageTransport {
  readonly stats = emptyTransportStats();
  readonly backlogged = false;
  readonly healthy = true;
  readonly problem = null;
  readonly messages: Uint8Array[] = [];
  /** The `records` argument of each send, in order. */
  readonly recordCounts: number[] = [];
  send(message: Uint8Array, length: number, records: number): void {
    this.messages.push(message.slice(0, length));
    this.recordCounts.push(records);
    this.stats.messages_total++;
    this.stats.octets_total += length;
  }
  whenSettled(): Promise<void> {
    return Promise.resolve();
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  concat(): Uint8Array {
    return Buffer.concat(this.messages);
  }
}

/** Does nothing: for allocation and speed tests. */
export class NullTransport implements MessageTransport {
  readonly stats = emptyTransportStats();
  readonly backlogged = false;
  readonly healthy = true;
  readonly problem = null;
  send(_message: Uint8Array, length: number): void {
    this.stats.messages_total++;
    this.stats.octets_total += length;
  }
  whenSettled(): Promise<void> {
    return Promise.resolve();
  }
  drain(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const latin1 = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** TCP connection metrics and a hint of each kind, so the connection/DNS templates and their texts are encoded. */
export function withConnection(rec: FlowRecord, i: number, random: () => number): FlowRecord {
  rec.protocol = i % 4 === 3 ? 17 : 6;
  rec.connectionOutcome = 1 + (i % 8);
  rec.synRetries = i % 5;
  rec.handshakeServerRttUs = Math.floor(random() * 4_294_967_295);
  rec.handshakeClientRttUs = Math.floor(random() * 1e6);
  rec.serverResponseCount = 3;
  rec.serverResponseSumUs = Number.MAX_SAFE_INTEGER - Math.floor(random() * 1e9);
  rec.retransmittedOctets = 2 ** 40 + i;
  rec.reverseRetransmittedOctets = 2 ** 41 + i;
  rec.minIpOctets = 40;
  rec.maxIpOctets = 1500;
  rec.appHintKind = 1 + (i % 3); // DNS, HTTP, TLS
  const name = latin1(`host-${i}.example.com`);
  rec.dnsQueryName.set(name);
  rec.dnsQueryNameLength = name.length;
  rec.httpRequestHost.set(name);
  rec.httpRequestHostLength = name.length;
  rec.httpRequestMethod.set(latin1('GET'));
  rec.httpRequestMethodLength = 3;
  rec.tlsServerName.set(name);
  rec.tlsServerNameLength = name.length;
  rec.tlsAlpn.set(latin1('h2'));
  rec.tlsAlpnLength = 2;
  return rec;
}

