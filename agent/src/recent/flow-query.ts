/**
 * flows.query: the records of the recent-flow ring that match a filter, newest first, paged.
 *
 * Arguments (all optional; null is the same as absent; any other key is refused):
 *   from, to    ms since the epoch. A record matches when its time span [start, end] overlaps
 *               [from, to): end >= from and start < to. Its span covers the directions that
 *               carried packets (an empty direction has no times). So "the flows of that minute"
 *               includes flows that began before it or ended after it.
 *   interface   ingressInterface of either direction that carried packets.
 *   address     IPv4/IPv6 address or CIDR prefix (192.0.2.0/24, 2001:db8::/32): either endpoint.
 *   port        either endpoint's port, for protocols with ports (TCP, UDP, UDP-Lite, SCTP, DCCP):
 *               ICMP's type/code is not a port.
 *   protocol    number 0-255 or name (tcp, udp, icmp, ipv6-icmp or icmpv6, sctp, gre, esp).
 *   endReason   flowEndReason name: idleTimeout, activeTimeout, endOfFlow, forcedEnd, lackOfResources.
 *   limit       records per page, 1-1000 (default 100).
 *   cursor      nextCursor of the previous page.
 * Filters combine with AND; address and port are tested independently (as nfdump's
 * "host X and port Y": the address may be the client and the port the server's).
 *
 * Result: records (newest first, in export order: the order the ring received them), matched
 * (matching records from this page on: the whole result on the first page), nextCursor (null on
 * the last page), truncated (the page stopped at the byte budget before its limit), and with a
 * cursor, overwrittenSinceCursor: ring records older than the cursor (matching or not) that were
 * overwritten before this page was read; when non-zero, the pages from here on miss those that
 * matched. Paging walks down from where the first page started, so records exported meanwhile
 * never enter a later page; query again without a cursor to see them.
 */
import { CommandError } from '../fleet/fleet-commands.js';
import { FLOW_END_REASON_NAMES } from '../export/ipfix/information-elements.js';
import { protocolName } from '../summary/traffic-summary.js';
import { parseAddressPrefix, prefixContains, type AddressPrefix } from './address-prefix.js';
import { decodeCursor, encodeCursor, type FlowQueryCursor } from './flow-query-cursor.js';
import { queryRecordAt, type QueryRecord } from './query-record.js';
import type { RecentFlowRing } from './recent-flow-ring.js';

export const FLOW_QUERY_DEFAULT_LIMIT = 100;
export const FLOW_QUERY_MAX_LIMIT = 1000;
/** A page's JSON stays under this (MessagePack is smaller still), so it fits any broker's limit we expect. */
export const FLOW_QUERY_MAX_BYTES = 64 * 1024;
/** Room kept in the budget for the result's other fields and the reply envelope. */
const RESULT_OVERHEAD_BYTES = 512;

export interface FlowQuery {
  fromMs: number | null;
  toMs: number | null;
  ingressInterface: number | null;
  address: AddressPrefix | null;
  port: number | null;
  protocol: number | null;
  endReason: number | null;
  limit: number;
  cursor: FlowQueryCursor | null;
}

export interface FlowQueryResult {
  records: QueryRecord[];
  matched: number;
  nextCursor: string | null;
  truncated: boolean;
  overwrittenSinceCursor?: number;
}

export interface FlowQueryOptions {
  /** Byte budget of a page's JSON (default FLOW_QUERY_MAX_BYTES). */
  maxBytes?: number;
}

const KNOWN_ARGUMENTS = ['from', 'to', 'interface', 'address', 'port', 'protocol', 'endReason', 'limit', 'cursor'];
const PROTOCOLS = new Map<string, number>([['icmpv6', 58]]);
for (let protocol = 0; protocol < 256; protocol++) {
  const name = protocolName(protocol);
  if (!name.startsWith('proto-')) PROTOCOLS.set(name, protocol);
}
const END_REASONS = new Map(FLOW_END_REASON_NAMES.map((name, value) => [name.toLowerCase(), value] as const).filter(([, value]) => value > 0));
/** Protocols whose records carry real ports (TCP, UDP, UDP-Lite, SCTP, DCCP... as summaries count them). */
const HAS_PORTS = new Set([6, 17, 33, 132, 136]);

function invalid(name: string, message: string): CommandError {
  return new CommandError('invalid_argument', `${name}: ${message}`);
}

function integerArgument(args: Record<string, unknown>, name: string, min: number, max: number): number | null {
  const value = args[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return value;
}

function stringArgument(args: Record<string, unknown>, name: string): string | null {
  const value = args[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(name, `must be a string, got ${JSON.stringify(value)}`);
  return value;
}

/** Validates flows.query's arguments; throws CommandError('invalid_argument', '<argument>: ...'). */
export function parseFlowQuery(args: Record<string, unknown>): FlowQuery {
  for (const key of Object.keys(args)) {
    if (!KNOWN_ARGUMENTS.includes(key)) throw invalid(key, `unknown argument; known: ${KNOWN_ARGUMENTS.join(', ')}`);
  }
  const fromMs = integerArgument(args, 'from', 0, Number.MAX_SAFE_INTEGER);
  const toMs = integerArgument(args, 'to', 0, Number.MAX_SAFE_INTEGER);
  if (fromMs !== null && toMs !== null && toMs <= fromMs) throw invalid('to', `must be after from (${fromMs}), got ${toMs}`);

  const addressText = stringArgument(args, 'address');
  const address = addressText === null ? null : parseAddressPrefix(addressText);
  if (addressText !== null && address === null) {
    throw invalid('address', `${JSON.stringify(addressText)} is not an IPv4/IPv6 address or prefix (e.g. 192.0.2.0/24, 2001:db8::/32)`);
  }

  let protocol: number | null;
  if (typeof args.protocol === 'string') {
    protocol = PROTOCOLS.get(args.protocol.toLowerCase()) ?? null;
    if (protocol === null) throw invalid('protocol', `unknown name ${JSON.stringify(args.protocol)}; use a number or one of ${[...PROTOCOLS.keys()].join(', ')}`);
  } else {
    protocol = integerArgument(args, 'protocol', 0, 255);
  }

  const endReasonText = stringArgument(args, 'endReason');
  const endReason = endReasonText === null ? null : (END_REASONS.get(endReasonText.toLowerCase()) ?? null);
  if (endReasonText !== null && endReason === null) {
    throw invalid('endReason', `unknown ${JSON.stringify(endReasonText)}; one of ${FLOW_END_REASON_NAMES.slice(1).join(', ')}`);
  }

  const cursorText = stringArgument(args, 'cursor');
  const cursor = cursorText === null ? null : decodeCursor(cursorText);
  if (cursorText !== null && cursor === null) throw invalid('cursor', 'not a cursor from a previous flows.query page');

  return {
    fromMs,
    toMs,
    ingressInterface: integerArgument(args, 'interface', 0, 0xffffffff),
    address,
    port: integerArgument(args, 'port', 0, 65535),
    protocol,
    endReason,
    limit: integerArgument(args, 'limit', 1, FLOW_QUERY_MAX_LIMIT) ?? FLOW_QUERY_DEFAULT_LIMIT,
    cursor,
  };
}

/** One page of the query's result over the ring as it is now. Scans the whole ring once. */
export function runFlowQuery(ring: RecentFlowRing, query: FlowQuery, options: FlowQueryOptions = {}): FlowQueryResult {
  const maxBytes = options.maxBytes ?? FLOW_QUERY_MAX_BYTES;
  const oldest = ring.oldestSequence;
  const cursor = query.cursor;
  if (cursor !== null && cursor.ringId !== ring.ringId) {
    throw invalid('cursor', 'was issued by another recent-flow ring (the probe restarted or the ring was resized); query again without a cursor');
  }
  if (cursor !== null && cursor.before > ring.added) throw invalid('cursor', 'points past the newest record; not a cursor of this ring');
  const before = cursor === null ? ring.added : cursor.before;

  const matcher = new RecordMatcher(ring, query);
  const records: QueryRecord[] = [];
  let bytes = RESULT_OVERHEAD_BYTES + 2; // the records array's brackets
  let matched = 0;
  let pageFull = false;
  let truncated = false;
  let lastReturned = before;
  for (let sequence = before - 1; sequence >= oldest; sequence--) {
    const slot = ring.slotOf(sequence);
    if (!matcher.matches(slot)) continue;
    matched++;
    if (pageFull) continue;
    const record = queryRecordAt(ring, slot);
    const recordBytes = Buffer.byteLength(JSON.stringify(record)) + 1; // + the separating comma
    // The first record always goes in, so paging progresses whatever the budget.
    if (records.length > 0 && bytes + recordBytes > maxBytes) {
      pageFull = true;
      truncated = true;
      continue;
    }
    records.push(record);
    bytes += recordBytes;
    lastReturned = sequence;
    pageFull = records.length === query.limit;
  }
  const result: FlowQueryResult = {
    records,
    matched,
    nextCursor: matched > records.length ? encodeCursor({ ringId: ring.ringId, before: lastReturned, oldestAtIssue: oldest }) : null,
    truncated,
  };
  if (cursor !== null) result.overwrittenSinceCursor = Math.max(0, Math.min(before, oldest) - cursor.oldestAtIssue);
  return result;
}

/** The filters of one query over the ring's columns; a direction counts only when it carried packets. */
class RecordMatcher {
  private readonly ipVersion;
  private readonly protocol;
  private readonly srcPort;
  private readonly dstPort;
  private readonly packets;
  private readonly reversePackets;
  private readonly startMs;
  private readonly endMs;
  private readonly reverseStartMs;
  private readonly reverseEndMs;
  private readonly ingressInterface;
  private readonly reverseIngressInterface;
  private readonly endReason;

  constructor(
    private readonly ring: RecentFlowRing,
    private readonly query: FlowQuery,
  ) {
    this.ipVersion = ring.column('ipVersion');
    this.protocol = ring.column('protocol');
    this.srcPort = ring.column('srcPort');
    this.dstPort = ring.column('dstPort');
    this.packets = ring.column('packets');
    this.reversePackets = ring.column('reversePackets');
    this.startMs = ring.column('startMs');
    this.endMs = ring.column('endMs');
    this.reverseStartMs = ring.column('reverseStartMs');
    this.reverseEndMs = ring.column('reverseEndMs');
    this.ingressInterface = ring.column('ingressInterface');
    this.reverseIngressInterface = ring.column('reverseIngressInterface');
    this.endReason = ring.column('endReason');
  }

  matches(slot: number): boolean {
    const q = this.query;
    const protocol = this.protocol[slot]!;
    if (q.protocol !== null && protocol !== q.protocol) return false;
    if (q.endReason !== null && this.endReason[slot] !== q.endReason) return false;
    if (q.port !== null && !(HAS_PORTS.has(protocol) && (this.srcPort[slot] === q.port || this.dstPort[slot] === q.port))) return false;
    const reverse = this.reversePackets[slot]! > 0;
    // A record with no packets either way (not expected) is judged by its forward fields.
    const forward = this.packets[slot]! > 0 || !reverse;
    if (q.ingressInterface !== null) {
      const onForward = forward && this.ingressInterface[slot] === q.ingressInterface;
      if (!onForward && !(reverse && this.reverseIngressInterface[slot] === q.ingressInterface)) return false;
    }
    if (q.fromMs !== null || q.toMs !== null) {
      const start = Math.min(forward ? this.startMs[slot]! : Infinity, reverse ? this.reverseStartMs[slot]! : Infinity);
      const end = Math.max(forward ? this.endMs[slot]! : -Infinity, reverse ? this.reverseEndMs[slot]! : -Infinity);
      if (q.fromMs !== null && end < q.fromMs) return false;
      if (q.toMs !== null && start >= q.toMs) return false;
    }
    if (q.address !== null) {
      const version = this.ipVersion[slot]!;
      const base = slot * 4;
      if (!prefixContains(q.address, version, this.ring.srcAddr, base) && !prefixContains(q.address, version, this.ring.dstAddr, base)) return false;
    }
    return true;
  }
}
