/**
 * Per-TCP-connection metrics (issue 7), updated once per TCP packet from the flow table's packet
 * path and read when a record is exported. State lives in FlowStore columns; nothing is allocated,
 * and no float is passed as an argument (times are read from view.tsUs, see PacketView).
 *
 * Roles: the client is the side that sent the flow's first packet, a bare SYN, i.e. FORWARD. A
 * flow whose first packet is anything else is MID_STREAM (see ConnectionOutcome): its handshake
 * metrics stay 0 and FORWARD (whoever spoke first) is taken as the client for response times.
 *
 * Sequence rules, per direction, for segments occupying sequence space (payload, SYN or FIN; RSTs
 * and segments without flags, e.g. a header cut by the snap length, are left out), compared modulo
 * 2^32 against the next expected sequence number:
 * - at or above it: new data; a jump ahead opens a gap [expected, seq), the one gap remembered;
 * - below it and inside the remembered gap: out of order (it fills the gap, which shrinks);
 * - below it otherwise: a retransmission (packets +1, octets + payload; a SYN retry counts with 0).
 * tshark (packet-tcp.c, tcp_analyze_sequence_number) calls a segment below the expected number
 * out-of-order instead when it comes within the initial RTT of the highest one; a one-gap memory
 * gets the same verdict for a reordering by the network (the late segment fills the gap) without
 * keeping times, and differs when the original of a resend was lost before the probe (we say
 * out-of-order, tshark says retransmission if the resend came an RTO later). A direction's
 * expected number starts at its first segment, or at the other side's ACK number when that comes
 * first (mid-stream), so a reordering in a direction's very first segments is still seen.
 */
import { TCP_FLAG_FIN, TCP_FLAG_SYN, TCP_FLAG_RST, TCP_FLAG_ACK } from '../decode/tcp-flags.js';
import type { PacketView } from '../decode/packet-view.js';
import { ConnectionOutcome, FlowEndReason } from './flow-record.js';
import { directionIndex, FlowStore, FORWARD, REVERSE, TCP_FIN_FWD, TCP_FIN_REV } from './flow-store.js';


/** FlowStore.tcpConnection bits. */
const CONN_SYN_SEEN = 1;
const CONN_SYNACK_SEEN = 2;
const CONN_CLIENT_ACKED = 4;
/** The client sent request payload that has no response yet. */
const CONN_AWAITING_RESPONSE = 8;
/** A record of this connection was exported at an active timeout (see markPartExported). */
const CONN_PART_EXPORTED = 16;

/** FlowStore.seqState bits. */
const SEQ_KNOWN = 1;
const SEQ_GAP = 2;

const SEGMENT_NEW = 0;
const SEGMENT_RETRANSMITTED = 1;
const SEGMENT_OUT_OF_ORDER = 2;

const MAX_U32 = 0xffff_ffff;

/**
 * a < b in sequence space (RFC 9293 §3.4: modulo 2^32). Sequence numbers are handled as int32
 * (FlowStore keeps them in Int32Arrays): a uint32 above 2^31 is a double, which V8 boxes when it
 * is passed to a call it does not inline.
 */
function seqBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/**
 * Accounts one TCP packet of the flow in `slot`; `created`: this packet created the flow. Call
 * after the flow table updated FlowStore.tcpState (FIN/RST bits) for the packet.
 */
export function trackTcpPacket(s: FlowStore, slot: number, forward: boolean, created: boolean, view: PacketView): void {
  const flags = view.tcpFlags;
  const d = directionIndex(slot, forward ? FORWARD : REVERSE);
  let conn = s.tcpConnection[slot]!;

  // Handshake and roles.
  if (created) {
    if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) === TCP_FLAG_SYN) {
      conn = CONN_SYN_SEEN;
      s.handshakeMarkUs[slot] = view.tsUs;
    } else {
      s.decidedOutcome[slot] = ConnectionOutcome.MID_STREAM;
    }
  } else if ((conn & CONN_SYN_SEEN) !== 0 && (conn & CONN_CLIENT_ACKED) === 0) {
    const synAck = flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST);
    if (forward && synAck === TCP_FLAG_SYN && (conn & CONN_SYNACK_SEEN) === 0) {
      s.synRetries[slot]!++;
      s.handshakeMarkUs[slot] = view.tsUs;
    } else if (!forward && synAck === (TCP_FLAG_SYN | TCP_FLAG_ACK)) {
      if ((conn & CONN_SYNACK_SEEN) === 0) s.handshakeServerRttUs[slot] = Math.max(0, Math.min(MAX_U32, view.tsUs - s.handshakeMarkUs[slot]!));
      conn |= CONN_SYNACK_SEEN;
      s.handshakeMarkUs[slot] = view.tsUs;
    } else if (forward && synAck === TCP_FLAG_ACK && (conn & CONN_SYNACK_SEEN) !== 0) {
      s.handshakeClientRttUs[slot] = Math.max(0, Math.min(MAX_U32, view.tsUs - s.handshakeMarkUs[slot]!));
      conn |= CONN_CLIENT_ACKED;
    }
  }

  // Outcome: the first decisive event.
  if (s.decidedOutcome[slot] === 0) {
    if ((flags & TCP_FLAG_RST) !== 0) {
      s.decidedOutcome[slot] = forward ? ConnectionOutcome.RESET_BY_CLIENT
        : (conn & CONN_SYNACK_SEEN) === 0 ? ConnectionOutcome.REJECTED
        : ConnectionOutcome.RESET_BY_SERVER;
    } else if ((s.tcpState[slot]! & (TCP_FIN_FWD | TCP_FIN_REV)) === (TCP_FIN_FWD | TCP_FIN_REV)) {
      s.decidedOutcome[slot] = ConnectionOutcome.COMPLETED;
    }
  }

  if (flags === 0 || (flags & TCP_FLAG_RST) !== 0) {
    s.tcpConnection[slot] = conn;
    return;
  }
  if (view.tcpWindow === 0 && (flags & (TCP_FLAG_SYN | TCP_FLAG_FIN)) === 0) s.zeroWindowEvents[d]!++;
  const verdict = trackSequence(s, d, view);
  // The other side's next sequence number, when its first segment is still to come.
  if ((flags & TCP_FLAG_ACK) !== 0) {
    const o = directionIndex(slot, forward ? REVERSE : FORWARD);
    if (s.seqState[o] === 0) {
      s.seqState[o] = SEQ_KNOWN;
      s.nextSeq[o] = view.tcpAck | 0;
    }
  }

  // Request/response turns: client payload opens (or, resent, moves) a turn; server payload closes it.
  if (view.payloadLength > 0) {
    if (forward) {
      if (verdict !== SEGMENT_RETRANSMITTED || (conn & CONN_AWAITING_RESPONSE) !== 0) {
        s.lastRequestUs[slot] = view.tsUs;
        conn |= CONN_AWAITING_RESPONSE;
      }
    } else if ((conn & CONN_AWAITING_RESPONSE) !== 0) {
      const responseUs = view.tsUs - s.lastRequestUs[slot]!;
      s.responseCount[slot]!++;
      s.responseSumUs[slot]! += responseUs;
      if (responseUs < s.responseMinUs[slot]!) s.responseMinUs[slot] = responseUs;
      if (responseUs > s.responseMaxUs[slot]!) s.responseMaxUs[slot] = responseUs;
      conn &= ~CONN_AWAITING_RESPONSE;
    }
  }
  s.tcpConnection[slot] = conn;
}

/** Classifies one segment of direction index d (see the header) and updates the direction's sequence state. */
function trackSequence(s: FlowStore, d: number, view: PacketView): number {
  const flags = view.tcpFlags;
  const length = view.payloadLength + ((flags & TCP_FLAG_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FLAG_FIN) !== 0 ? 1 : 0);
  const seq = view.tcpSeq | 0;
  const end = (seq + length) | 0;
  const state = s.seqState[d]!;
  if ((state & SEQ_KNOWN) === 0) {
    s.seqState[d] = SEQ_KNOWN;
    s.nextSeq[d] = end;
    return SEGMENT_NEW;
  }
  if (length === 0) return SEGMENT_NEW;
  const expected = s.nextSeq[d]!;
  if (!seqBefore(seq, expected)) {
    if (seq !== expected) {
      s.holeStart[d] = expected;
      s.holeEnd[d] = seq;
      s.seqState[d] = state | SEQ_GAP;
    }
    s.nextSeq[d] = end;
    return SEGMENT_NEW;
  }
  if (seqBefore(expected, end)) s.nextSeq[d] = end; // a resend that also carries new bytes
  if ((state & SEQ_GAP) !== 0) {
    const holeStart = s.holeStart[d]!;
    const holeEnd = s.holeEnd[d]!;
    if (!seqBefore(seq, holeStart) && !seqBefore(holeEnd, end)) {
      if (seq === holeStart && end === holeEnd) s.seqState[d] = state & ~SEQ_GAP;
      else if (seq === holeStart) s.holeStart[d] = end;
      else if (end === holeEnd) s.holeEnd[d] = seq;
      s.outOfOrderPackets[d]!++;
      return SEGMENT_OUT_OF_ORDER;
    }
  }
  s.retransmittedPackets[d]!++;
  s.retransmittedOctets[d]! += view.payloadLength;
  return SEGMENT_RETRANSMITTED;
}

/** The outcome a record of the TCP flow in `slot` carries, exported with flowEndReason `reason`. */
export function connectionOutcomeOf(s: FlowStore, slot: number, reason: number): number {
  const decided = s.decidedOutcome[slot]!;
  if (decided !== 0) return decided;
  if (reason === FlowEndReason.ACTIVE_TIMEOUT) return ConnectionOutcome.OPEN_AT_ACTIVE_TIMEOUT;
  if ((s.tcpConnection[slot]! & CONN_SYNACK_SEEN) === 0) return ConnectionOutcome.SYN_UNANSWERED;
  return reason === FlowEndReason.IDLE_TIMEOUT ? ConnectionOutcome.IDLE : ConnectionOutcome.OPEN_AT_ACTIVE_TIMEOUT;
}

/** Remembers that an active-timeout part of the TCP flow in `slot` was exported. */
export function markPartExported(s: FlowStore, slot: number): void {
  s.tcpConnection[slot] = s.tcpConnection[slot]! | CONN_PART_EXPORTED;
}

/**
 * True when the TCP flow in `slot` ends with an empty last part (nothing since its last
 * active-timeout record) and needs a closing record: without it the connection's final outcome
 * (e.g. idle, or SYN unanswered) would never reach the summary.
 */
export function needsClosingRecord(s: FlowStore, slot: number, reason: number): boolean {
  return reason !== FlowEndReason.ACTIVE_TIMEOUT && (s.tcpConnection[slot]! & CONN_PART_EXPORTED) !== 0;
}
