/**
 * Per-interval traffic summary for the MQTT summary message (SummaryPayload), in memory fixed at
 * construction: exact totals and per-protocol counters, and Space-Saving sketches for the top-N
 * lists. The meter hands it every exported flow record (summarizingSink); take() turns the
 * interval into a payload and starts the next one.
 *
 * Semantics (README "Fleet channel" → summary):
 * - A flow record holds both directions of a flow; it counts packets + reversePackets and
 *   octets + reverseOctets. totals.records counts records.
 * - A connection is a record whose flowEndReason is not activeTimeout (2): the last part of a flow
 *   (a long flow is exported in parts every active timeout, the earlier parts end with 2). One
 *   exception: an activeTimeout part of a TCP flow whose SYNs were never answered also ends its
 *   connection (the flow stays in the table until its idle timeout and its empty last part is
 *   never exported); should that flow later see packets, it counts again. Issue 7's per-flow
 *   connection state replaces this rule.
 *   totals.connections counts those; TCP outcomes (totals.tcp and per service) are counted on the
 *   final records of TCP flows only (see classifyTcpOutcome).
 * - protocols: exact, one entry per protocol number seen, sorted by octets (descending; ties by number).
 * - talkers: each record adds its octets and 1 flow to each of its two addresses (once when both
 *   are the same address). "Flows" counts records: a long flow counts once per exported part.
 * - conversations: the unordered address pair of each record (the lower address is `a`), same weights.
 * - serverPorts: (protocol, server port) of each record of a protocol with ports (TCP, UDP,
 *   UDP-Lite, SCTP, DCCP); the server is chosen by serverSide(). Same weights.
 * - services: (server address, server port, protocol), ranked by connections: each final record
 *   counts 1 connection and adds its octets and TCP outcome. A non-final part adds its octets only
 *   when its service is already listed; it never creates an entry, so long-lived flows cannot push
 *   out services that have connections. `connections`, `octets` and the outcomes are what was
 *   counted while the service was listed (lower bounds; connections = value − error).
 * - TopEntry.value is the sketch count: an upper bound of the true total, overstated by at most
 *   `error` (0 while fewer than `capacity` distinct keys were seen: the list is then exact). A
 *   key whose true total exceeds (the list's interval total) / capacity is always tracked, so it
 *   is listed whenever its true total beats the last listed value. Lists hold at most topN
 *   entries, by value (descending; ties by key).
 * - Protocols without ports (ICMP, GRE, ESP, ...) appear in protocols, talkers and conversations only.
 * - Addresses are text: IPv4 dotted quad, IPv6 RFC 5952 (compressed, lowercase).
 *
 * Memory: about 0.5 KB per unit of `capacity` (seven sketches), allocated once.
 */
import { FlowEndReason, type FlowRecord, type FlowRecordSink } from '../flow/flow-record.js';
import type { SummaryPayload, TopEntry } from '../fleet/fleet-messages.js';
import { formatAddressWords } from './format-address.js';
import { SpaceSavingSketch } from './space-saving-sketch.js';
import { classifyTcpOutcome, serverSide, ServerSide, TcpOutcome } from './tcp-outcome.js';

export type SummaryTake = Omit<SummaryPayload, 'schema' | 'probeId' | 'seq'>;

export interface TrafficSummaryOptions {
  /** Entries per top list. */
  topN: number;
  /** Keys each sketch tracks (≥ topN); more makes the lists exact for longer and errors smaller. */
  capacity: number;
}

const PROTO_TCP = 6;
/** Key layouts (uint32 words). Host: version, address[4]. Pair: version, lower[4], higher[4]. */
const HOST_KEY_WORDS = 5;
const PAIR_KEY_WORDS = 9;
/** Server port: protocol << 16 | port. */
const PORT_KEY_WORDS = 1;
/** Service: version << 24 | protocol << 16 | port, address[4]. */
const SERVICE_KEY_WORDS = 5;
/** Service extra counters: the four TcpOutcome indexes, then octets. */
const SERVICE_OCTETS = 4;
const SERVICE_EXTRAS = 5;

const TOTAL_RECORDS = 0;
const TOTAL_CONNECTIONS = 1;
const TOTAL_PACKETS = 2;
const TOTAL_OCTETS = 3;
/** Per protocol: records, packets, octets at protocol * 3 + offset. */
const PROTOCOL_FIELDS = 3;

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 58: 'ipv6-icmp', 132: 'sctp' };
/** Protocols whose records carry real ports (ICMP's "destination port" is its type/code). */
const HAS_PORTS = new Uint8Array(256);
for (const protocol of [6, 17, 33, 132, 136]) HAS_PORTS[protocol] = 1;

export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? `proto-${protocol}`;
}

export class TrafficSummary {
  readonly topN: number;
  readonly capacity: number;
  private readonly totals = new Float64Array(4);
  private readonly tcpOutcomes = new Float64Array(4);
  private readonly protocols = new Float64Array(256 * PROTOCOL_FIELDS);
  private readonly talkersByOctets: SpaceSavingSketch;
  private readonly talkersByFlows: SpaceSavingSketch;
  private readonly conversationsByOctets: SpaceSavingSketch;
  private readonly conversationsByFlows: SpaceSavingSketch;
  private readonly serverPortsByOctets: SpaceSavingSketch;
  private readonly serverPortsByFlows: SpaceSavingSketch;
  private readonly services: SpaceSavingSketch;
  // Scratch keys, filled per record.
  private readonly hostKey = new Uint32Array(HOST_KEY_WORDS);
  private readonly pairKey = new Uint32Array(PAIR_KEY_WORDS);
  private readonly portKey = new Uint32Array(PORT_KEY_WORDS);
  private readonly serviceKey = new Uint32Array(SERVICE_KEY_WORDS);
  /** The record's octets, handed to the sketches through memory: a double argument could be boxed. */
  private readonly octetsScratch = new Float64Array(1);

  constructor(options: TrafficSummaryOptions) {
    const { topN, capacity } = options;
    if (!Number.isInteger(topN) || topN < 0) throw new RangeError(`topN must be an integer >= 0, got ${topN}`);
    if (!Number.isInteger(capacity) || capacity < Math.max(1, topN)) {
      throw new RangeError(`capacity must be an integer >= max(1, topN) (${Math.max(1, topN)}), got ${capacity}`);
    }
    this.topN = topN;
    this.capacity = capacity;
    this.talkersByOctets = new SpaceSavingSketch(HOST_KEY_WORDS, capacity);
    this.talkersByFlows = new SpaceSavingSketch(HOST_KEY_WORDS, capacity);
    this.conversationsByOctets = new SpaceSavingSketch(PAIR_KEY_WORDS, capacity);
    this.conversationsByFlows = new SpaceSavingSketch(PAIR_KEY_WORDS, capacity);
    this.serverPortsByOctets = new SpaceSavingSketch(PORT_KEY_WORDS, capacity);
    this.serverPortsByFlows = new SpaceSavingSketch(PORT_KEY_WORDS, capacity);
    this.services = new SpaceSavingSketch(SERVICE_KEY_WORDS, capacity, SERVICE_EXTRAS);
  }

  /** Counts one exported flow record; `rec` is borrowed. Allocates nothing. */
  add(rec: FlowRecord): void {
    const protocol = rec.protocol & 0xff;
    const version = rec.ipVersion === 6 ? 6 : 4;
    const packets = rec.packets + rec.reversePackets;
    const octets = rec.octets + rec.reverseOctets;
    // An active-timeout part whose SYNs were never answered ends its connection too: the flow
    // table keeps such a flow until its idle timeout, and its empty last part is never exported.
    const final = rec.endReason !== FlowEndReason.ACTIVE_TIMEOUT || (protocol === PROTO_TCP && classifyTcpOutcome(rec) === TcpOutcome.UNANSWERED);
    const weights = this.octetsScratch;
    weights[0] = octets;
    const totals = this.totals;
    totals[TOTAL_RECORDS] = totals[TOTAL_RECORDS]! + 1;
    totals[TOTAL_PACKETS] = totals[TOTAL_PACKETS]! + packets;
    totals[TOTAL_OCTETS] = totals[TOTAL_OCTETS]! + octets;
    const base = protocol * PROTOCOL_FIELDS;
    this.protocols[base] = this.protocols[base]! + 1;
    this.protocols[base + 1] = this.protocols[base + 1]! + packets;
    this.protocols[base + 2] = this.protocols[base + 2]! + octets;
    let outcome = -1;
    if (final) {
      totals[TOTAL_CONNECTIONS] = totals[TOTAL_CONNECTIONS]! + 1;
      if (protocol === PROTO_TCP) {
        outcome = classifyTcpOutcome(rec);
        this.tcpOutcomes[outcome] = this.tcpOutcomes[outcome]! + 1;
      }
    }

    const words = version === 6 ? 4 : 1;
    const src = rec.srcAddr;
    const dst = rec.dstAddr;
    let order = 0; // src compared with dst, word by word
    for (let i = 0; i < words && order === 0; i++) order = src[i]! < dst[i]! ? -1 : src[i]! > dst[i]! ? 1 : 0;

    const hostKey = this.hostKey;
    hostKey[0] = version;
    fillAddress(hostKey, 1, src, words);
    this.talkersByOctets.offerFrom(hostKey, weights, 0);
    this.talkersByFlows.offer(hostKey, 1);
    if (order !== 0) {
      fillAddress(hostKey, 1, dst, words);
      this.talkersByOctets.offerFrom(hostKey, weights, 0);
      this.talkersByFlows.offer(hostKey, 1);
    }

    const pairKey = this.pairKey;
    pairKey[0] = version;
    fillAddress(pairKey, 1, order <= 0 ? src : dst, words);
    fillAddress(pairKey, 5, order <= 0 ? dst : src, words);
    this.conversationsByOctets.offerFrom(pairKey, weights, 0);
    this.conversationsByFlows.offer(pairKey, 1);

    if (HAS_PORTS[protocol] === 0) return;
    const serverIsSource = serverSide(rec) === ServerSide.SOURCE;
    const port = serverIsSource ? rec.srcPort : rec.dstPort;
    this.portKey[0] = (protocol << 16) | (port & 0xffff);
    this.serverPortsByOctets.offerFrom(this.portKey, weights, 0);
    this.serverPortsByFlows.offer(this.portKey, 1);

    const serviceKey = this.serviceKey;
    fillAddress(serviceKey, 1, serverIsSource ? src : dst, words);
    serviceKey[0] = (version << 24) | (protocol << 16) | (port & 0xffff);
    const services = this.services;
    const slot = final ? services.offer(serviceKey, 1) : services.lookup(serviceKey);
    if (slot < 0) return;
    services.extraFrom(slot, SERVICE_OCTETS, weights, 0);
    if (outcome >= 0) services.extra(slot, outcome, 1);
  }

  /**
   * The summary of everything added since the previous take() (or construction), for the
   * interval [fromMs, toMs); then forgets it all. Allocates the payload.
   */
  take(fromMs: number, toMs: number, final: boolean): SummaryTake {
    const t = this.totals;
    const o = this.tcpOutcomes;
    const payload: SummaryTake = {
      from: fromMs,
      to: toMs,
      totals: {
        records: t[TOTAL_RECORDS]!,
        connections: t[TOTAL_CONNECTIONS]!,
        packets: t[TOTAL_PACKETS]!,
        octets: t[TOTAL_OCTETS]!,
        tcp: outcomes(o[TcpOutcome.COMPLETED]!, o[TcpOutcome.RESET]!, o[TcpOutcome.UNANSWERED]!, o[TcpOutcome.OTHER]!),
      },
      protocols: this.protocolList(),
      talkers: { byOctets: this.hostList(this.talkersByOctets), byFlows: this.hostList(this.talkersByFlows) },
      conversations: { byOctets: this.pairList(this.conversationsByOctets), byFlows: this.pairList(this.conversationsByFlows) },
      serverPorts: { byOctets: this.portList(this.serverPortsByOctets), byFlows: this.portList(this.serverPortsByFlows) },
      services: this.serviceList(),
      final,
    };
    this.reset();
    return payload;
  }

  private reset(): void {
    this.totals.fill(0);
    this.tcpOutcomes.fill(0);
    this.protocols.fill(0);
    this.talkersByOctets.clear();
    this.talkersByFlows.clear();
    this.conversationsByOctets.clear();
    this.conversationsByFlows.clear();
    this.serverPortsByOctets.clear();
    this.serverPortsByFlows.clear();
    this.services.clear();
  }

  private protocolList(): SummaryTake['protocols'] {
    const list: SummaryTake['protocols'] = [];
    for (let protocol = 0; protocol < 256; protocol++) {
      const base = protocol * PROTOCOL_FIELDS;
      const records = this.protocols[base]!;
      if (records === 0) continue;
      list.push({ protocol, name: protocolName(protocol), records, packets: this.protocols[base + 1]!, octets: this.protocols[base + 2]! });
    }
    return list.sort((a, b) => b.octets - a.octets || a.protocol - b.protocol);
  }

  private hostList(sketch: SpaceSavingSketch): (TopEntry & { address: string })[] {
    const key = new Uint32Array(HOST_KEY_WORDS);
    return sketch.top(this.topN).map((slot) => {
      sketch.keyOf(slot, key);
      return { address: formatAddressWords(key[0]!, key, 1), value: sketch.count(slot), error: sketch.error(slot) };
    });
  }

  private pairList(sketch: SpaceSavingSketch): (TopEntry & { a: string; b: string })[] {
    const key = new Uint32Array(PAIR_KEY_WORDS);
    return sketch.top(this.topN).map((slot) => {
      sketch.keyOf(slot, key);
      const version = key[0]!;
      return { a: formatAddressWords(version, key, 1), b: formatAddressWords(version, key, 5), value: sketch.count(slot), error: sketch.error(slot) };
    });
  }

  private portList(sketch: SpaceSavingSketch): (TopEntry & { protocol: number; port: number })[] {
    const key = new Uint32Array(PORT_KEY_WORDS);
    return sketch.top(this.topN).map((slot) => {
      const word = sketch.keyOf(slot, key)[0]!;
      return { protocol: word >>> 16, port: word & 0xffff, value: sketch.count(slot), error: sketch.error(slot) };
    });
  }

  private serviceList(): SummaryTake['services'] {
    const sketch = this.services;
    const key = new Uint32Array(SERVICE_KEY_WORDS);
    return sketch.top(this.topN).map((slot) => {
      const word = sketch.keyOf(slot, key)[0]!;
      const value = sketch.count(slot);
      const error = sketch.error(slot);
      return {
        address: formatAddressWords(word >>> 24, key, 1),
        port: word & 0xffff,
        protocol: (word >>> 16) & 0xff,
        value,
        error,
        connections: value - error,
        octets: sketch.extraCount(slot, SERVICE_OCTETS),
        ...outcomes(
          sketch.extraCount(slot, TcpOutcome.COMPLETED),
          sketch.extraCount(slot, TcpOutcome.RESET),
          sketch.extraCount(slot, TcpOutcome.UNANSWERED),
          sketch.extraCount(slot, TcpOutcome.OTHER),
        ),
      };
    });
  }
}

/** Copies an address (`words` = 1 for IPv4, 4 for IPv6) into key[at..at+3], zero-padded. */
function fillAddress(key: Uint32Array, at: number, address: Uint32Array, words: number): void {
  for (let i = 0; i < 4; i++) key[at + i] = i < words ? address[i]! : 0;
}

function outcomes(completed: number, reset: number, unanswered: number, other: number): SummaryTake['totals']['tcp'] {
  return { completed, reset, unanswered, other };
}

/** Passes every record to the summary, then on to `next` (the export pipeline's sink). */
class SummarizingSink implements FlowRecordSink {
  constructor(
    private readonly summary: TrafficSummary,
    private readonly next: FlowRecordSink,
  ) {}

  add(rec: FlowRecord): void {
    this.summary.add(rec);
    this.next.add(rec);
  }

  flush(nowMs: number): void {
    this.next.flush(nowMs);
  }
}

export function summarizingSink(summary: TrafficSummary, next: FlowRecordSink): FlowRecordSink {
  return new SummarizingSink(summary, next);
}
