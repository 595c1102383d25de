/**
 * The TCP latency part of TrafficSummary: three SlotHistograms per place (the totals, or one slot
 * per services-sketch slot) for handshake RTT, its server part and server response time, how a
 * record feeds them, and how they become payload quantiles. See traffic-summary.ts for the semantics.
 */
import type { LatencyQuantiles, TcpQuality } from '../fleet/fleet-messages.js';
import type { FlowRecord } from '../flow/flow-record.js';
import { SlotHistograms } from './slot-histograms.js';

/** The scratch entry addLatencies writes values to (TrafficSummary's scratch has room for it). */
export const LATENCY_SCRATCH_INDEX = 2;

/** The three latency histograms of one place (totals or services), by the same slot. */
export interface LatencyHistograms {
  handshakeRtt: SlotHistograms;
  handshakeServerRtt: SlotHistograms;
  serverResponse: SlotHistograms;
}

export function latencyHistograms(slots: number): LatencyHistograms {
  return { handshakeRtt: new SlotHistograms(slots), handshakeServerRtt: new SlotHistograms(slots), serverResponse: new SlotHistograms(slots) };
}

/**
 * Adds a TCP record's latencies to `slot`: the handshake RTT and its server part once per
 * connection (on the final record), the server response turns of every record (as the record's
 * mean, `count` times: see the header). Values pass through `scratch` (no double argument).
 */
export function addLatencies(h: LatencyHistograms, slot: number, rec: FlowRecord, final: boolean, scratch: Float64Array): void {
  if (final) {
    const serverUs = rec.handshakeServerRttUs;
    const clientUs = rec.handshakeClientRttUs;
    if (serverUs > 0) {
      scratch[LATENCY_SCRATCH_INDEX] = serverUs;
      h.handshakeServerRtt.addFrom(slot, scratch, LATENCY_SCRATCH_INDEX, 1);
      if (clientUs > 0) {
        scratch[LATENCY_SCRATCH_INDEX] = serverUs + clientUs;
        h.handshakeRtt.addFrom(slot, scratch, LATENCY_SCRATCH_INDEX, 1);
      }
    }
  }
  const turns = rec.serverResponseCount;
  if (turns > 0) {
    scratch[LATENCY_SCRATCH_INDEX] = rec.serverResponseSumUs / turns;
    h.serverResponse.addFrom(slot, scratch, LATENCY_SCRATCH_INDEX, turns);
  }
}

function quantiles(h: SlotHistograms, slot: number): LatencyQuantiles {
  return { samples: h.count(slot), p50Us: h.quantile(slot, 0.5), p95Us: h.quantile(slot, 0.95) };
}

export function quality(h: LatencyHistograms, slot: number, packets: number, retransmittedPackets: number, tcp: boolean): TcpQuality {
  return {
    handshakeRtt: quantiles(h.handshakeRtt, slot),
    handshakeServerRtt: quantiles(h.handshakeServerRtt, slot),
    serverResponse: quantiles(h.serverResponse, slot),
    packets,
    retransmittedPackets,
    retransmissionRate: tcp && packets > 0 ? retransmittedPackets / packets : null,
  };
}
