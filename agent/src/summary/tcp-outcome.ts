/**
 * What became of a connection, and which of its endpoints is the server, read from one flow
 * record's OR-ed TCP flags (tcpControlBits of each direction). Pure functions of the record;
 * used by TrafficSummary.
 */
import { TCP_FLAG_FIN, TCP_FLAG_SYN, TCP_FLAG_RST, TCP_FLAG_ACK } from '../decode/tcp-flags.js';
import type { FlowRecord } from '../flow/flow-record.js';

const PROTO_TCP = 6;

/** Outcome of a connection: an index into TrafficSummary's outcome counters. */
export const TcpOutcome = {
  COMPLETED: 0,
  RESET: 1,
  UNANSWERED: 2,
  OTHER: 3,
} as const;
export type TcpOutcome = (typeof TcpOutcome)[keyof typeof TcpOutcome];

/**
 * Classifies the FINAL record of a TCP connection (protocol 6; the caller checks), in this order:
 * - reset: RST in either direction;
 * - unanswered: the forward direction sent SYN and nothing came back (reversePackets 0);
 * - completed: FIN in both directions;
 * - other: everything else (idle timeout, half-closed, mid-stream, forced end).
 * The flags are those of this record only: after an active timeout the final part of a long
 * connection carries no SYN, so it is completed, reset or other, never unanswered. On a tap that
 * sees one direction only, every connection that showed its SYN is unanswered.
 */
export function classifyTcpOutcome(rec: FlowRecord): TcpOutcome {
  const forward = rec.tcpFlags;
  const reverse = rec.reverseTcpFlags;
  if (((forward | reverse) & TCP_FLAG_RST) !== 0) return TcpOutcome.RESET;
  if ((forward & TCP_FLAG_SYN) !== 0 && rec.reversePackets === 0) return TcpOutcome.UNANSWERED;
  if ((forward & reverse & TCP_FLAG_FIN) !== 0) return TcpOutcome.COMPLETED;
  return TcpOutcome.OTHER;
}

/** Which endpoint of a record is the server (the side that was connected to). */
export const ServerSide = {
  DESTINATION: 0,
  SOURCE: 1,
} as const;
export type ServerSide = (typeof ServerSide)[keyof typeof ServerSide];

/**
 * Heuristic, first rule that applies:
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
    const forward = rec.tcpFlags;
    const reverse = rec.reverseTcpFlags;
    if ((forward & (TCP_FLAG_SYN | TCP_FLAG_ACK)) === TCP_FLAG_SYN) return ServerSide.DESTINATION;
    if ((reverse & (TCP_FLAG_SYN | TCP_FLAG_ACK)) === TCP_FLAG_SYN) return ServerSide.SOURCE;
    if ((forward & TCP_FLAG_SYN) !== 0) return ServerSide.DESTINATION;
  }
  return rec.srcPort < rec.dstPort ? ServerSide.SOURCE : ServerSide.DESTINATION;
}
