/**
 * Per-interval traffic summary for the MQTT summary message (SummaryPayload), in memory fixed at
 * construction: exact totals and per-protocol counters, and Space-Saving sketches for the top-N
 * lists. The meter hands it every exported flow record (summarizingSink); take() turns the
 * interval into a payload and starts the next one.
 *
 * Semantics (README "Fleet channel" → summary):
 * - A flow record holds both directions of a flow; it counts packets + reversePackets and
 *   octets + reverseOctets. totals.records counts exported records.
 * - A TCP closing record (no packets in either direction; see FlowTable.emitRecords) is not
 *   exported: it only ends its connection (a TCP connection silent since its last active-timeout
 *   part). It adds no record, packet or octet anywhere, and no flow to talkers, conversations or
 *   server ports; it counts its connection, outcome and handshake RTT, as a final record does.
 *   Any other record without packets is ignored.
 * - A connection is counted once, on its final record: flowEndReason not activeTimeout (2). A long
 *   flow is exported in parts every active timeout, the earlier parts end with 2.
 *   totals.connections counts those; TCP outcomes (totals.tcp and per service) come from the final
 *   record's connectionOutcome (see tcpOutcomeOf).
 * - TCP quality (totals.tcp and per service): the handshake RTT (server + client part, both > 0)
 *   and its server part (> 0) are one sample per connection, from its final record (every record
 *   of a flow carries the same handshake values). Server response times come from every record:
 *   a record carries only the count/sum/min/max of the turns in its span, so the histogram gets
 *   the record's mean (sum / count) `count` times — an approximation: the quantiles are those of
 *   per-record means, exact when every record holds one turn or turns of equal time, and pulled
 *   towards the middle for connections with turns of very different times. Retransmitted packets
 *   and packets (both directions) are summed over every TCP record.
 *   Quantiles come from SlotHistograms: within ±9.1 % (+0.5 µs rounding) of a recorded value.
 * - protocols: exact, one entry per protocol number seen, sorted by octets (descending; ties by number).
 * - talkers: each record adds its octets and 1 flow to each of its two addresses (once when both
 *   are the same address). "Flows" counts records: a long flow counts once per exported part.
 * - conversations: the unordered address pair of each record (the lower address is `a`), same weights.
 * - serverPorts: (protocol, server port) of each record of a protocol with ports (TCP, UDP,
 *   UDP-Lite, SCTP, DCCP); the server is chosen by serverSide(). Same weights.
 * - services: (server address, server port, protocol), ranked by connections: each final record
 *   counts 1 connection and adds its octets, packets, TCP outcome and quality. A non-final part
 *   adds its octets, packets, retransmissions and response times only when its service is already
 *   listed; it never creates an entry, so long-lived flows cannot push out services that have
 *   connections. Everything but value/error is what was counted while the service was listed
 *   (lower bounds; connections = value − error); a slot the sketch hands to a new service starts
 *   with empty histograms.
 * - TopEntry.value is the sketch count: an upper bound of the true total, overstated by at most
 *   `error` (0 while fewer than `capacity` distinct keys were seen: the list is then exact). A
 *   key whose true total exceeds (the list's interval total) / capacity is always tracked, so it
 *   is listed whenever its true total beats the last listed value. Lists hold at most topN
 *   entries, by value (descending; ties by key).
 * - Protocols without ports (ICMP, GRE, ESP, ...) appear in protocols, talkers and conversations only.
 * - Addresses are text: IPv4 dotted quad, IPv6 RFC 5952 (compressed, lowercase).
 *
 * Memory: about 0.5 KB per unit of `capacity` (seven sketches) plus 1.3 KB for the services'
 * three latency histograms, allocated once (1024 → 1.8 MB).
 */
import { FlowEndReason, type FlowRecord, type FlowRecordSink } from '../flow/flow-record.js';
import type { SummaryPayload, TcpOutcomes, TopEntry } from '../fleet/fleet-messages.js';
import { addLatencies, latencyHistograms, type LatencyHistograms, quality } from './connection-latency.js';
import { formatAddressWords } from './format-address.js';
import { SpaceSavingSketch } from './space-saving-sketch.js';
import { serverSide, ServerSide, TCP_OUTCOME_COUNT, TCP_OUTCOME_NAMES, tcpOutcomeOf } from './tcp-outcome.js';

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
/** Service extra counters: the TcpOutcome indexes, then octets, packets, retransmitted packets. */
const SERVICE_OCTETS = TCP_OUTCOME_COUNT;
const SERVICE_PACKETS = TCP_OUTCOME_COUNT + 1;
const SERVICE_RETRANSMITTED = TCP_OUTCOME_COUNT + 2;
const SERVICE_EXTRAS = TCP_OUTCOME_COUNT + 3;

const TOTAL_RECORDS = 0;
const TOTAL_CONNECTIONS = 1;
const TOTAL_PACKETS = 2;
const TOTAL_OCTETS = 3;
const TOTAL_TCP_PACKETS = 4;
const TOTAL_TCP_RETRANSMITTED = 5;
const TOTAL_FIELDS = 6;

/** Scratch doubles handed to sketches and histograms through memory (a double argument could be boxed); LATENCY_SCRATCH_INDEX is the latencies'. */
const SCRATCH_OCTETS = 0;
const SCRATCH_PACKETS = 1;

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
  private readonly totals = new Float64Array(TOTAL_FIELDS);
  private readonly tcpOutcomes = new Float64Array(TCP_OUTCOME_COUNT);
  private readonly totalLatency: LatencyHistograms = latencyHistograms(1);
  /** One histogram slot per services sketch slot. */
  private readonly serviceLatency: LatencyHistograms;
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
  private readonly scratch = new Float64Array(3);

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
    this.serviceLatency = latencyHistograms(capacity);
  }

  /** Counts one exported flow record (or TCP closing record); `rec` is borrowed. Allocates nothing. */
  add(rec: FlowRecord): void {
    const protocol = rec.protocol & 0xff;
    const tcp = protocol === PROTO_TCP;
    const version = rec.ipVersion === 6 ? 6 : 4;
    const packets = rec.packets + rec.reversePackets;
    const octets = rec.octets + rec.reverseOctets;
    // A record without packets is a TCP closing record: it ends its connection, nothing more.
    const closing = packets === 0;
    if (closing && !tcp) return;
    const final = rec.endReason !== FlowEndReason.ACTIVE_TIMEOUT;
    const scratch = this.scratch;
    scratch[SCRATCH_OCTETS] = octets;
    scratch[SCRATCH_PACKETS] = packets;
    const totals = this.totals;
    if (!closing) {
      totals[TOTAL_RECORDS] = totals[TOTAL_RECORDS]! + 1;
      totals[TOTAL_PACKETS] = totals[TOTAL_PACKETS]! + packets;
      totals[TOTAL_OCTETS] = totals[TOTAL_OCTETS]! + octets;
      const base = protocol * PROTOCOL_FIELDS;
      this.protocols[base] = this.protocols[base]! + 1;
      this.protocols[base + 1] = this.protocols[base + 1]! + packets;
      this.protocols[base + 2] = this.protocols[base + 2]! + octets;
    }
    let outcome = -1;
    let retransmitted = 0;
    if (final) totals[TOTAL_CONNECTIONS] = totals[TOTAL_CONNECTIONS]! + 1;
    if (tcp) {
      if (final) {
        outcome = tcpOutcomeOf(rec);
        if (outcome >= 0) this.tcpOutcomes[outcome] = this.tcpOutcomes[outcome]! + 1;
      }
      retransmitted = rec.retransmittedPackets + rec.reverseRetransmittedPackets;
      totals[TOTAL_TCP_PACKETS] = totals[TOTAL_TCP_PACKETS]! + packets;
      totals[TOTAL_TCP_RETRANSMITTED] = totals[TOTAL_TCP_RETRANSMITTED]! + retransmitted;
      addLatencies(this.totalLatency, 0, rec, final, scratch);
    }

    const words = version === 6 ? 4 : 1;
    const src = rec.srcAddr;
    const dst = rec.dstAddr;
    if (!closing) {
      let order = 0; // src compared with dst, word by word
      for (let i = 0; i < words && order === 0; i++) order = src[i]! < dst[i]! ? -1 : src[i]! > dst[i]! ? 1 : 0;

      const hostKey = this.hostKey;
      hostKey[0] = version;
      fillAddress(hostKey, 1, src, words);
      this.talkersByOctets.offerFrom(hostKey, scratch, SCRATCH_OCTETS);
      this.talkersByFlows.offer(hostKey, 1);
      if (order !== 0) {
        fillAddress(hostKey, 1, dst, words);
        this.talkersByOctets.offerFrom(hostKey, scratch, SCRATCH_OCTETS);
        this.talkersByFlows.offer(hostKey, 1);
      }

      const pairKey = this.pairKey;
      pairKey[0] = version;
      fillAddress(pairKey, 1, order <= 0 ? src : dst, words);
      fillAddress(pairKey, 5, order <= 0 ? dst : src, words);
      this.conversationsByOctets.offerFrom(pairKey, scratch, SCRATCH_OCTETS);
      this.conversationsByFlows.offer(pairKey, 1);
    }

    if (HAS_PORTS[protocol] === 0) return;
    const serverIsSource = serverSide(rec) === ServerSide.SOURCE;
    const port = serverIsSource ? rec.srcPort : rec.dstPort;
    if (!closing) {
      this.portKey[0] = (protocol << 16) | (port & 0xffff);
      this.serverPortsByOctets.offerFrom(this.portKey, scratch, SCRATCH_OCTETS);
      this.serverPortsByFlows.offer(this.portKey, 1);
    }

    const serviceKey = this.serviceKey;
    fillAddress(serviceKey, 1, serverIsSource ? src : dst, words);
    serviceKey[0] = (version << 24) | (protocol << 16) | (port & 0xffff);
    const services = this.services;
    const latency = this.serviceLatency;
    let slot: number;
    if (final) {
      slot = services.offer(serviceKey, 1);
      if (services.lastOfferClaimed) {
        // A new service in this slot (free, or evicted): its histograms start empty, like its extras.
        latency.handshakeRtt.clearSlot(slot);
        latency.handshakeServerRtt.clearSlot(slot);
        latency.serverResponse.clearSlot(slot);
      }
    } else {
      slot = services.lookup(serviceKey);
      if (slot < 0) return;
    }
    services.extraFrom(slot, SERVICE_OCTETS, scratch, SCRATCH_OCTETS);
    services.extraFrom(slot, SERVICE_PACKETS, scratch, SCRATCH_PACKETS);
    if (!tcp) return;
    services.extra(slot, SERVICE_RETRANSMITTED, retransmitted);
    if (outcome >= 0) services.extra(slot, outcome, 1);
    addLatencies(latency, slot, rec, final, scratch);
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
        tcp: {
          ...outcomes((index) => o[index]!),
          ...quality(this.totalLatency, 0, t[TOTAL_TCP_PACKETS]!, t[TOTAL_TCP_RETRANSMITTED]!, true),
        },
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
    this.totalLatency.handshakeRtt.clear();
    this.totalLatency.handshakeServerRtt.clear();
    this.totalLatency.serverResponse.clear();
    // The services' histograms are cleared slot by slot as the sketch hands slots out again.
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
      const protocol = (word >>> 16) & 0xff;
      return {
        address: formatAddressWords(word >>> 24, key, 1),
        port: word & 0xffff,
        protocol,
        value,
        error,
        connections: value - error,
        octets: sketch.extraCount(slot, SERVICE_OCTETS),
        ...outcomes((index) => sketch.extraCount(slot, index)),
        ...quality(this.serviceLatency, slot, sketch.extraCount(slot, SERVICE_PACKETS), sketch.extraCount(slot, SERVICE_RETRANSMITTED), protocol === PROTO_TCP),
      };
    });
  }
}

/** Copies an address (`words` = 1 for IPv4, 4 for IPv6) into key[at..at+3], zero-padded. */
function fillAddress(key: Uint32Array, at: number, address: Uint32Array, words: number): void {
  for (let i = 0; i < 4; i++) key[at + i] = i < words ? address[i]! : 0;
}

function outcomes(count: (index: number) => number): TcpOutcomes {
  const result = {} as TcpOutcomes;
  TCP_OUTCOME_NAMES.forEach((name, index) => (result[name] = count(index)));
  return result;
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
