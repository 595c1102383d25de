/**
 * What became of a TCP connection (the flow table's ConnectionOutcome, counted by the summary) and
 * which endpoint of a record is the server. Pure functions of the record; used by TrafficSummary.
 */
import { TCP_FLAG_SYN, TCP_FLAG_ACK } from '../decode/tcp-flags.js';
import { ConnectionOutcome, type FlowRecord } from '../flow/flow-record.js';
import type { TcpOutcomes } from '../fleet/fleet-messages.js';

const PROTO_TCP = 6;

/** Outcome counters of the summary, by index; the order of TCP_OUTCOME_NAMES. */
export const TcpOutcome = {
  COMPLETED: 0,
  RESET_BY_CLIENT: 1,
  RESET_BY_SERVER: 2,
  REJECTED: 3,
  SYN_UNANSWERED: 4,
  IDLE: 5,
  OPEN_AT_END: 6,
  MID_STREAM: 7,
} as const;
export type TcpOutcome = (typeof TcpOutcome)[keyof typeof TcpOutcome];
export const TCP_OUTCOME_COUNT = 8;
/** The payload field of each TcpOutcome index. */
export const TCP_OUTCOME_NAMES: readonly (keyof TcpOutcomes)[] = ['completed', 'resetByClient', 'resetByServer', 'rejected', 'synUnanswered', 'idle', 'openAtEnd', 'midStream'];

/** TcpOutcome index of each ConnectionOutcome value (-1: NOT_TCP or unknown). */
const OUTCOME_INDEX = new Int8Array(256).fill(-1);
OUTCOME_INDEX[ConnectionOutcome.COMPLETED] = TcpOutcome.COMPLETED;
OUTCOME_INDEX[ConnectionOutcome.RESET_BY_CLIENT] = TcpOutcome.RESET_BY_CLIENT;
OUTCOME_INDEX[ConnectionOutcome.RESET_BY_SERVER] = TcpOutcome.RESET_BY_SERVER;
OUTCOME_INDEX[ConnectionOutcome.REJECTED] = TcpOutcome.REJECTED;
OUTCOME_INDEX[ConnectionOutcome.SYN_UNANSWERED] = TcpOutcome.SYN_UNANSWERED;
OUTCOME_INDEX[ConnectionOutcome.IDLE] = TcpOutcome.IDLE;
// On a final record "open at active timeout" means still open when forced out (end of input, stop, full table).
OUTCOME_INDEX[ConnectionOutcome.OPEN_AT_ACTIVE_TIMEOUT] = TcpOutcome.OPEN_AT_END;
OUTCOME_INDEX[ConnectionOutcome.MID_STREAM] = TcpOutcome.MID_STREAM;

/**
 * The outcome counter of a FINAL TCP record (the caller checks both), from the flow table's
 * connectionOutcome; -1 when the record carries none (0: a record not made by the flow table's
 * TCP tracking).
 */
export function tcpOutcomeOf(rec: FlowRecord): number {
  return OUTCOME_INDEX[rec.connectionOutcome & 0xff]!;
}

/** Which endpoint of a record is the server (the side that was connected to). */
export const ServerSide = {
  DESTINATION: 0,
  SOURCE: 1,
} as const;
export type ServerSide = (typeof ServerSide)[keyof typeof ServerSide];

/**
 * First rule that applies:
 * 0. TCP whose first packet was a bare SYN (connectionOutcome set, not MID_STREAM): the forward side
 *    sent that SYN, so the destination is the server. This also holds for a closing record
 *    (no packets, no flags) and for the parts after an active timeout, which carry no SYN.
 * Heuristics, for records without that knowledge:
 * 1. TCP, forward flags SYN without ACK (the forward side only ever tried to open): destination.
 * 2. TCP, reverse flags SYN without ACK (the destination opened towards the source): source.
 * 3. TCP, SYN in the forward flags: destination. The forward direction is the one that sent the
 *    flow's first packet, so a SYN there is normally the opening SYN (its ACKs OR in later).
 * 4. Otherwise (UDP, SCTP, TCP mid-stream or after an active timeout, a SYN only in reverse
 *    with ACK, which may be a SYN-ACK or a SYN): the endpoint with the lower port is the server,
 *    ties go to the destination. Ephemeral client ports are usually high, service ports low.
 * Meaningful for protocols with ports; ICMP's "port" is its type/code.
 */
export function serverSide(rec: FlowRecord): ServerSide {
  if (rec.protocol === PROTO_TCP) {
    const outcome = rec.connectionOutcome;
    if (outcome !== ConnectionOutcome.NOT_TCP && outcome !== ConnectionOutcome.MID_STREAM) return ServerSide.DESTINATION;
    const forward = rec.tcpFlags;
    const reverse = rec.reverseTcpFlags;
    if ((forward & (TCP_FLAG_SYN | TCP_FLAG_ACK)) === TCP_FLAG_SYN) return ServerSide.DESTINATION;
    if ((reverse & (TCP_FLAG_SYN | TCP_FLAG_ACK)) === TCP_FLAG_SYN) return ServerSide.SOURCE;
    if ((forward & TCP_FLAG_SYN) !== 0) return ServerSide.DESTINATION;
  }
  return rec.srcPort < rec.dstPort ? ServerSide.SOURCE : ServerSide.DESTINATION;
}
