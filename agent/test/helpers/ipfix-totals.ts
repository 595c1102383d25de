import { readFileSync } from 'node:fs';
import { parseIpfixRecords } from '../../src/export/ipfix/message-parser.js';
import { flowKey, type FlowTotals } from './tshark-truth.js';

/** Per-5-tuple packets and octets over every record of an IPFIX file tapflow wrote. */
export function ipfixFlowTotals(path: string): FlowTotals {
  return recordFlowTotals(parseIpfixRecords(readFileSync(path)).map((r) => r.values));
}

type RecordKey = (ipVersion: number, src: string, dst: string, protocol: number, srcPort: number, dstPort: number, vlanId: number) => string;

/** Per-direction totals of parsed records (values keyed by IANA names), by 5-tuple or by `keyOf`. */
export function recordFlowTotals(records: Record<string, unknown>[], keyOf: RecordKey = flowKey): FlowTotals {
  const totals: FlowTotals = new Map();
  for (const v of records) {
    const v6 = v.sourceIPv6Address !== undefined;
    const key = keyOf(
      v6 ? 6 : 4,
      String(v6 ? v.sourceIPv6Address : v.sourceIPv4Address),
      String(v6 ? v.destinationIPv6Address : v.destinationIPv4Address),
      Number(v.protocolIdentifier),
      Number(v.sourceTransportPort),
      Number(v.destinationTransportPort),
      Number(v.vlanId),
    );
    const entry = totals.get(key) ?? { packets: 0, octets: 0 };
    entry.packets += Number(v.packetDeltaCount);
    entry.octets += Number(v.octetDeltaCount);
    totals.set(key, entry);
  }
  return totals;
}

/** Keys whose packets or octets differ (NaN octets in the truth: IP length 0, packets compared only). */
export function differences(truth: FlowTotals, ours: FlowTotals): string[] {
  const out: string[] = [];
  for (const key of new Set([...truth.keys(), ...ours.keys()])) {
    const t = truth.get(key) ?? { packets: 0, octets: 0 };
    const o = ours.get(key) ?? { packets: 0, octets: 0 };
    const octetsDiffer = !Number.isNaN(t.octets) && t.octets !== o.octets;
    if (t.packets !== o.packets || octetsDiffer) out.push(`${key}: tshark ${t.packets} pkts/${t.octets} B, tapflow ${o.packets} pkts/${o.octets} B`);
  }
  return out;
}

