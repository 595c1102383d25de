import { readFileSync } from 'node:fs';
import { parseIpfixRecords } from '../../src/export/ipfix/message-parser.js';
import { flowKey, type FlowTotals } from './tshark-truth.js';

/** The flow records of IPFIX bytes (options data records, such as exporter statistics, left out), values keyed by IANA names. */
export function flowRecordsOf(bytes: Uint8Array): Record<string, unknown>[] {
  return parseIpfixRecords(bytes).filter((record) => record.kind === 'data').map((record) => record.values);
}

/** Per-5-tuple packets and octets over every flow record of an IPFIX file tapflow wrote. */
export function ipfixFlowTotals(path: string): FlowTotals {
  return recordFlowTotals(flowRecordsOf(readFileSync(path)));
}

/** tshark's decoded records that are flow records (they have addresses), not options data. */
export function tsharkFlowRecords(records: Record<string, string>[]): Record<string, string>[] {
  return records.filter((r) => r['cflow.srcaddr'] !== undefined || r['cflow.srcaddrv6'] !== undefined);
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


/** Per-direction totals of the flow records tshark decoded (cflow field names); options records are skipped. */
export function tsharkRecordTotals(records: Record<string, string>[]): FlowTotals {
  const totals: FlowTotals = new Map();
  for (const r of records) {
    const v6 = r['cflow.srcaddrv6'] !== undefined;
    const src = v6 ? r['cflow.srcaddrv6'] : r['cflow.srcaddr'];
    const dst = v6 ? r['cflow.dstaddrv6'] : r['cflow.dstaddr'];
    if (src === undefined || dst === undefined) continue;
    const key = flowKey(v6 ? 6 : 4, src, dst, Number(r['cflow.protocol']), Number(r['cflow.srcport']), Number(r['cflow.dstport']));
    const entry = totals.get(key) ?? { packets: 0, octets: 0 };
    entry.packets += Number(r['cflow.packets']);
    entry.octets += Number(r['cflow.octets']);
    totals.set(key, entry);
  }
  return totals;
}
