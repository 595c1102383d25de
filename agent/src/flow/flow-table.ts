import { TCP_FLAG_FIN, TCP_FLAG_SYN, TCP_FLAG_RST, TCP_FLAG_ACK } from '../decode/tcp-flags.js';
import { MAC_DST, MAC_SRC, type PacketView } from '../decode/packet-view.js';
import { ConnectionOutcome, FlowEndReason, FlowRecord, type FlowRecordSink } from './flow-record.js';
import { hashFlowKey } from './flow-hash.js';
import { fillHintFields, FlowHintReader, type FlowHintOptions, hintTextBytesOf } from './flow-hints.js';
import { FlowIndex } from './flow-index.js';
import { directionIndex, FlowStore, FORWARD, REVERSE, TCP_FIN_FWD, TCP_FIN_REV, TCP_RST } from './flow-store.js';
import { SlotLists } from './slot-lists.js';
import { connectionOutcomeOf, markPartExported, needsClosingRecord, trackTcpPacket } from './tcp-connection-tracker.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, TIMEOUT_CLASS_COUNT, TimeoutClass, timeoutClassOf } from './timeout-class.js';

export interface FlowTableOptions {
  maxFlows: number;
  activeTimeoutUs: number;
  /** Idle timeout per TimeoutClass, in µs. */
  idleTimeoutUs: { tcp: number; tcpFin: number; tcpRst: number; udp: number; icmp: number; other: number };
  /** Hash seed; random when omitted (tests may fix it). */
  hashSeed?: number;
  /** Application hints read from each flow's first payload packets; omitted: none (hints off). */
  hints?: FlowHintOptions;
}

/** update()'s packet bytes when the caller has none: no payload, so no hints. */
const NO_BYTES = new Uint8Array(0);


/** Counters of the table, read by reports and health; plain numbers, never reset. */
export class FlowTableCounters {
  flowsCreated = 0;
  /** Flows exported early because the table was full (flowEndReason 5). */
  evictions = 0;
  /** TCP flows restarted because a new SYN reused the 5-tuple of a finished connection. */
  tcpPortReuses = 0;
  /** Records exported, indexed by flowEndReason (1..5). */
  readonly recordsByEndReason = new Float64Array(6);
}

/**
 * The bounded flow table: one entry per connection (both directions) keyed by IP version,
 * addresses, ports, protocol, VLAN and interface, in preallocated columns (FlowStore) with an
 * open-addressing index and O(1) expiry lists. update() is the per-packet path and allocates nothing.
 *
 * Expiry (softflowd's rules, exact deadlines instead of a periodic scan):
 * - idle: no packet for the class's idle timeout → flowEndReason 1 (3 for TCP after FIN both ways or RST);
 * - active: a record older than activeTimeoutUs is exported (reason 2) and the flow goes on with fresh counters;
 * - full table: the flow nearest its idle deadline is exported whole with reason 5 and counted;
 * - flushAll(): every flow, reason 4 (end of input, SIGTERM) unless told otherwise.
 * Each flow is exported as one record holding both directions (A→B forward, B→A reverse; see
 * FlowRecord); uniflow exporters split it.
 */
export class FlowTable {
  readonly store: FlowStore;
  readonly counters = new FlowTableCounters();
  private readonly index: FlowIndex;
  /** Lists 0..5: by timeout class, ordered by last activity. */
  private readonly idleLists: SlotLists;
  /** One list ordered by record start, for the active timeout. */
  private readonly activeList: SlotLists;
  private readonly idleTimeoutUs: Float64Array;
  private activeTimeoutUs: number;
  private readonly seed: number;
  private readonly record = new FlowRecord();
  private readonly sink: FlowRecordSink;
  /** [0]: the meter clock in µs (monotonic), shared with the owner; a cell, not an argument, so no float is boxed per packet. */
  private readonly clockUs: Float64Array;
  /** null when hints are off. */
  private readonly hints: FlowHintReader | null;

  constructor(options: FlowTableOptions, sink: FlowRecordSink, clockUs: Float64Array = new Float64Array(1)) {
    this.clockUs = clockUs;
    const capacity = options.maxFlows;
    this.hints = options.hints === undefined ? null : new FlowHintReader(options.hints);
    this.store = options.hints === undefined ? new FlowStore(capacity) : new FlowStore(capacity, hintTextBytesOf(options.hints));
    this.index = new FlowIndex(capacity, this.store.hash);
    this.idleLists = new SlotLists(capacity, TIMEOUT_CLASS_COUNT);
    this.activeList = new SlotLists(capacity, 1);
    const t = options.idleTimeoutUs;
    this.idleTimeoutUs = new Float64Array([t.tcp, t.tcpFin, t.tcpRst, t.udp, t.icmp, t.other]);
    this.activeTimeoutUs = options.activeTimeoutUs;
    // int32, not uint32: a seed above 2^31 would be a boxed double, and boxed again per call when passed.
    this.seed = (options.hashSeed ?? Math.random() * 0x1_0000_0000) | 0;
    this.sink = sink;
  }

  /**
   * New timeouts (a configuration reload), effective at the next expiry: flows keep their state.
   * The idle lists stay ordered because each holds one timeout class, whatever its length.
   */
  setTimeouts(activeTimeoutUs: number, idle: FlowTableOptions['idleTimeoutUs']): void {
    this.activeTimeoutUs = activeTimeoutUs;
    this.idleTimeoutUs.set([idle.tcp, idle.tcpFin, idle.tcpRst, idle.udp, idle.icmp, idle.other]);
  }

  get activeFlows(): number {
    return this.store.used;
  }

  /**
   * Accounts one decoded packet: view.tsUs is its timestamp (record times); clockUs[0] is the meter's
   * monotonic clock (expiry order). linkId is part of the flow key (see FlowStore.linkId);
   * ingressInterface is what the record of this packet's direction reports. `data` is the buffer
   * the packet was decoded from (view's offsets index it) and `capEnd` the end of its captured
   * bytes there: the application hints read the payload from it (without them, no hints).
   */
  update(view: PacketView, linkId: number, ingressInterface: number, data: Uint8Array = NO_BYTES, capEnd = 0): void {
    const s = this.store;
    const tsUs = view.tsUs;
    const nowUs = this.clockUs[0]!;
    const hash = hashFlowKey(
      this.seed, view.ipVersion, view.protocol, view.vlanId, linkId,
      view.srcAddr, view.srcPort, view.dstAddr, view.dstPort,
    );
    let slot = this.find(view, linkId, hash);
    let forward = true;
    if (slot >= 0) {
      forward = this.matchesForward(slot, view);
      if (view.protocol === PROTO_TCP && this.isTcpPortReuse(slot, view.tcpFlags)) {
        this.counters.tcpPortReuses++;
        this.exportAndFree(slot, FlowEndReason.END_OF_FLOW);
        slot = -1;
        forward = true;
      }
    }
    const created = slot < 0;
    if (created) slot = this.create(view, linkId, hash);

    const d = directionIndex(slot, forward ? FORWARD : REVERSE);
    s.packets[d]! += 1;
    s.octets[d]! += view.ipLength;
    s.tcpFlags[d]! |= view.tcpFlags;
    if (view.ttl < s.minTtl[d]!) s.minTtl[d] = view.ttl;
    if (view.ttl > s.maxTtl[d]!) s.maxTtl[d] = view.ttl;
    if (view.ipLength < s.minIpOctets[d]!) s.minIpOctets[d] = view.ipLength;
    if (view.ipLength > s.maxIpOctets[d]!) s.maxIpOctets[d] = view.ipLength;
    if (s.packets[d] === 1) {
      s.tos[d] = view.tos;
      s.ingressInterface[d] = ingressInterface;
      s.srcMac[d] = view.macs[MAC_SRC]!;
      s.dstMac[d] = view.macs[MAC_DST]!;
      s.firstUs[d] = tsUs;
      s.lastUs[d] = tsUs;
    } else {
      if (tsUs < s.firstUs[d]!) s.firstUs[d] = tsUs;
      if (tsUs > s.lastUs[d]!) s.lastUs[d] = tsUs;
    }

    let timeoutClass = this.idleLists.listOf[slot]!;
    if (view.protocol === PROTO_TCP) {
      const flags = view.tcpFlags;
      if ((flags & TCP_FLAG_RST) !== 0) s.tcpState[slot]! |= TCP_RST;
      if ((flags & TCP_FLAG_FIN) !== 0) s.tcpState[slot]! |= forward ? TCP_FIN_FWD : TCP_FIN_REV;
      const state = s.tcpState[slot]!;
      timeoutClass =
        (state & TCP_RST) !== 0 ? TimeoutClass.TCP_RST
        : (state & (TCP_FIN_FWD | TCP_FIN_REV)) === (TCP_FIN_FWD | TCP_FIN_REV) ? TimeoutClass.TCP_FIN
        : TimeoutClass.TCP;
      trackTcpPacket(s, slot, forward, created, view);
    }
    if (this.hints !== null) this.hints.observe(s, slot, forward ? FORWARD : REVERSE, view, data, capEnd);
    s.lastActivityUs[slot] = nowUs;
    this.idleLists.moveToTail(timeoutClass, slot);
  }

  /**
   * Exports what is due at nowUs: idle flows (whole) and records past the active timeout, at most
   * `maxFlows` of them so one call never produces an unbounded burst of records. Returns true when
   * nothing due is left (false: call again).
   */
  expire(nowUs: number, maxFlows = Infinity): boolean {
    const s = this.store;
    let budget = maxFlows;
    for (let c = 0; c < TIMEOUT_CLASS_COUNT; c++) {
      const timeout = this.idleTimeoutUs[c]!;
      const reason = c === TimeoutClass.TCP_FIN || c === TimeoutClass.TCP_RST ? FlowEndReason.END_OF_FLOW : FlowEndReason.IDLE_TIMEOUT;
      for (let slot = this.idleLists.head(c); slot !== -1 && s.lastActivityUs[slot]! + timeout <= nowUs; slot = this.idleLists.head(c)) {
        if (budget-- <= 0) return false;
        this.exportAndFree(slot, reason);
      }
    }
    for (let slot = this.activeList.head(0); slot !== -1 && s.recordStartUs[slot]! + this.activeTimeoutUs <= nowUs; slot = this.activeList.head(0)) {
      if (budget-- <= 0) return false;
      this.emitRecords(slot, FlowEndReason.ACTIVE_TIMEOUT);
      s.resetCounters(slot);
      s.recordStartUs[slot] = nowUs;
      this.activeList.moveToTail(0, slot);
    }
    return true;
  }

  /**
   * Exports flows and empties the table (end of input, SIGTERM, an explicit flush), at most
   * `maxFlows` per call; returns true when the table is empty.
   */
  flushAll(reason: number = FlowEndReason.FORCED_END, maxFlows = Infinity): boolean {
    let budget = maxFlows;
    for (let c = 0; c < TIMEOUT_CLASS_COUNT; c++) {
      for (let slot = this.idleLists.head(c); slot !== -1; slot = this.idleLists.head(c)) {
        if (budget-- <= 0) return false;
        this.exportAndFree(slot, reason);
      }
    }
    return true;
  }

  private find(view: PacketView, linkId: number, hash: number): number {
    const { buckets, mask } = this.index;
    const s = this.store;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = buckets[i]!;
      if (entry === 0) return -1;
      const slot = entry - 1;
      if (
        s.hash[slot] === hash &&
        s.ipVersion[slot] === view.ipVersion &&
        s.protocol[slot] === view.protocol &&
        s.vlanId[slot] === view.vlanId &&
        s.linkId[slot] === linkId &&
        (this.matchesForward(slot, view) || this.matchesReverse(slot, view))
      ) {
        return slot;
      }
    }
  }

  private matchesForward(slot: number, view: PacketView): boolean {
    const s = this.store;
    return (
      s.portA[slot] === view.srcPort &&
      s.portB[slot] === view.dstPort &&
      sameAddress(s.addrA, slot, view.srcAddr, view.ipVersion) &&
      sameAddress(s.addrB, slot, view.dstAddr, view.ipVersion)
    );
  }

  private matchesReverse(slot: number, view: PacketView): boolean {
    const s = this.store;
    return (
      s.portA[slot] === view.dstPort &&
      s.portB[slot] === view.srcPort &&
      sameAddress(s.addrA, slot, view.dstAddr, view.ipVersion) &&
      sameAddress(s.addrB, slot, view.srcAddr, view.ipVersion)
    );
  }

  /** A bare SYN on a connection that already ended (FIN both ways or RST) starts a new flow. */
  private isTcpPortReuse(slot: number, flags: number): boolean {
    if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) !== TCP_FLAG_SYN) return false;
    const state = this.store.tcpState[slot]!;
    return (state & TCP_RST) !== 0 || (state & (TCP_FIN_FWD | TCP_FIN_REV)) === (TCP_FIN_FWD | TCP_FIN_REV);
  }

  /** A new entry for the packet's flow; times come from view.tsUs and the clock cell (no float arguments: see clockUs). */
  private create(view: PacketView, linkId: number, hash: number): number {
    const nowUs = this.clockUs[0]!;
    let slot = this.store.allocate();
    if (slot < 0) {
      this.evictNearestDeadline();
      slot = this.store.allocate();
    }
    const s = this.store;
    s.ipVersion[slot] = view.ipVersion;
    s.protocol[slot] = view.protocol;
    s.vlanId[slot] = view.vlanId;
    s.linkId[slot] = linkId;
    const base = slot * 4;
    for (let i = 0; i < 4; i++) {
      s.addrA[base + i] = view.srcAddr[i]!;
      s.addrB[base + i] = view.dstAddr[i]!;
    }
    s.portA[slot] = view.srcPort;
    s.portB[slot] = view.dstPort;
    s.hash[slot] = hash;
    s.resetCounters(slot);
    s.resetConnection(slot);
    s.recordStartUs[slot] = nowUs;
    s.lastActivityUs[slot] = nowUs;
    this.index.insert(slot, hash);
    this.idleLists.pushTail(timeoutClassOf(view.protocol), slot);
    this.activeList.pushTail(0, slot);
    this.counters.flowsCreated++;
    return slot;
  }

  /** Frees one slot: the flow whose idle deadline comes first, across classes. */
  private evictNearestDeadline(): void {
    let victim = -1;
    let victimDeadline = Infinity;
    for (let c = 0; c < TIMEOUT_CLASS_COUNT; c++) {
      const slot = this.idleLists.head(c);
      if (slot === -1) continue;
      const deadline = this.store.lastActivityUs[slot]! + this.idleTimeoutUs[c]!;
      if (deadline < victimDeadline) {
        victimDeadline = deadline;
        victim = slot;
      }
    }
    this.counters.evictions++;
    this.exportAndFree(victim, FlowEndReason.LACK_OF_RESOURCES);
  }

  private exportAndFree(slot: number, reason: number): void {
    this.emitRecords(slot, reason);
    this.index.remove(slot, this.store.hash[slot]!);
    this.idleLists.remove(slot);
    this.activeList.remove(slot);
    this.store.release(slot);
  }

  /**
   * Hands the sink one record for the flow (both directions, see FlowRecord) when either direction
   * saw packets since the last record. recordsByEndReason counts directions with packets: the
   * uniflow records a collector receives.
   *
   * A TCP connection whose last part is empty (silent since its last active-timeout record) ends
   * with a closing record of 0 packets that carries its final outcome: the summary and the recent
   * flows count the connection by it, and exporters skip it (a record without packets means
   * nothing to a collector).
   */
  private emitRecords(slot: number, reason: number): void {
    const s = this.store;
    const forwardPackets = s.packets[directionIndex(slot, FORWARD)]!;
    const reversePackets = s.packets[directionIndex(slot, REVERSE)]!;
    const tcp = s.protocol[slot] === PROTO_TCP;
    if (forwardPackets === 0 && reversePackets === 0 && !(tcp && needsClosingRecord(s, slot, reason))) return;
    this.fillRecord(slot, reason);
    this.sink.add(this.record);
    this.counters.recordsByEndReason[reason]! += (forwardPackets === 0 ? 0 : 1) + (reversePackets === 0 ? 0 : 1);
    if (tcp && reason === FlowEndReason.ACTIVE_TIMEOUT) markPartExported(s, slot);
  }

  private fillRecord(slot: number, reason: number): void {
    const s = this.store;
    const r = this.record;
    const base = slot * 4;
    for (let i = 0; i < 4; i++) {
      r.srcAddr[i] = s.addrA[base + i]!;
      r.dstAddr[i] = s.addrB[base + i]!;
    }
    r.ipVersion = s.ipVersion[slot]!;
    r.protocol = s.protocol[slot]!;
    r.srcPort = s.portA[slot]!;
    r.dstPort = s.portB[slot]!;
    r.icmpTypeCode = r.protocol === PROTO_ICMP || r.protocol === PROTO_ICMPV6 ? r.dstPort : 0;
    r.vlanId = s.vlanId[slot]!;
    r.endReason = reason;
    const f = directionIndex(slot, FORWARD);
    r.packets = s.packets[f]!;
    r.octets = s.octets[f]!;
    r.tcpFlags = s.tcpFlags[f]!;
    r.tos = s.tos[f]!;
    r.ingressInterface = s.ingressInterface[f]!;
    r.minTtl = r.packets === 0 ? 0 : s.minTtl[f]!;
    r.maxTtl = s.maxTtl[f]!;
    r.srcMac = s.srcMac[f]!;
    r.dstMac = s.dstMac[f]!;
    r.startMs = r.packets === 0 ? 0 : Math.floor(s.firstUs[f]! / 1000);
    r.endMs = r.packets === 0 ? 0 : Math.floor(s.lastUs[f]! / 1000);
    const b = directionIndex(slot, REVERSE);
    r.reversePackets = s.packets[b]!;
    r.reverseOctets = s.octets[b]!;
    r.reverseTcpFlags = s.tcpFlags[b]!;
    r.reverseTos = s.tos[b]!;
    r.reverseIngressInterface = s.ingressInterface[b]!;
    r.reverseMinTtl = r.reversePackets === 0 ? 0 : s.minTtl[b]!;
    r.reverseMaxTtl = s.maxTtl[b]!;
    r.reverseSrcMac = s.srcMac[b]!;
    r.reverseDstMac = s.dstMac[b]!;
    r.reverseStartMs = r.reversePackets === 0 ? 0 : Math.floor(s.firstUs[b]! / 1000);
    r.reverseEndMs = r.reversePackets === 0 ? 0 : Math.floor(s.lastUs[b]! / 1000);
    r.minIpOctets = r.packets === 0 ? 0 : s.minIpOctets[f]!;
    r.maxIpOctets = s.maxIpOctets[f]!;
    r.reverseMinIpOctets = r.reversePackets === 0 ? 0 : s.minIpOctets[b]!;
    r.reverseMaxIpOctets = s.maxIpOctets[b]!;
    this.fillTcpConnection(slot, reason);
    fillHintFields(s, slot, r);
  }

  /** The TCP connection fields (zero for other protocols): see FlowRecord and tcp-connection-tracker.ts. */
  private fillTcpConnection(slot: number, reason: number): void {
    const s = this.store;
    const r = this.record;
    const f = directionIndex(slot, FORWARD);
    const b = directionIndex(slot, REVERSE);
    const tcp = r.protocol === PROTO_TCP;
    const turns = tcp ? s.responseCount[slot]! : 0;
    r.connectionOutcome = tcp ? connectionOutcomeOf(s, slot, reason) : ConnectionOutcome.NOT_TCP;
    r.synRetries = tcp ? s.synRetries[slot]! : 0;
    r.handshakeServerRttUs = tcp ? s.handshakeServerRttUs[slot]! : 0;
    r.handshakeClientRttUs = tcp ? s.handshakeClientRttUs[slot]! : 0;
    r.serverResponseCount = turns;
    r.serverResponseSumUs = turns === 0 ? 0 : s.responseSumUs[slot]!;
    r.serverResponseMinUs = turns === 0 ? 0 : s.responseMinUs[slot]!;
    r.serverResponseMaxUs = turns === 0 ? 0 : s.responseMaxUs[slot]!;
    // Non-TCP flows never touch these columns: they stay at their reset value, 0.
    r.retransmittedPackets = s.retransmittedPackets[f]!;
    r.retransmittedOctets = s.retransmittedOctets[f]!;
    r.outOfOrderPackets = s.outOfOrderPackets[f]!;
    r.zeroWindowEvents = s.zeroWindowEvents[f]!;
    r.reverseRetransmittedPackets = s.retransmittedPackets[b]!;
    r.reverseRetransmittedOctets = s.retransmittedOctets[b]!;
    r.reverseOutOfOrderPackets = s.outOfOrderPackets[b]!;
    r.reverseZeroWindowEvents = s.zeroWindowEvents[b]!;
  }
}

function sameAddress(column: Uint32Array, slot: number, addr: Uint32Array, ipVersion: number): boolean {
  const base = slot * 4;
  if (column[base] !== addr[0]) return false;
  if (ipVersion !== 6) return true;
  return column[base + 1] === addr[1] && column[base + 2] === addr[2] && column[base + 3] === addr[3];
}
