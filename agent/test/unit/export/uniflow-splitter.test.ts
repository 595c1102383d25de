import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UniflowSplitter } from '../../../src/export/uniflow-splitter.js';
import { FlowRecord, type FlowRecordSink } from '../../../src/flow/flow-record.js';

function collect(): { sink: FlowRecordSink; seen: Array<Record<string, unknown>> } {
  const seen: Array<Record<string, unknown>> = [];
  return {
    seen,
    sink: {
      add: (r) =>
        seen.push({
          src: r.srcAddr[0], dst: r.dstAddr[0], srcPort: r.srcPort, dstPort: r.dstPort, icmp: r.icmpTypeCode,
          packets: r.packets, octets: r.octets, flags: r.tcpFlags, srcMac: r.srcMac, dstMac: r.dstMac,
          ingress: r.ingressInterface, start: r.startMs, end: r.endMs, rev: r.reversePackets + r.reverseOctets,
        }),
      flush: () => undefined,
    },
  };
}

function biflow(): FlowRecord {
  const r = new FlowRecord();
  r.protocol = 6;
  r.srcAddr[0] = 0x0a000001;
  r.dstAddr[0] = 0x0a000002;
  r.srcPort = 40000;
  r.dstPort = 443;
  Object.assign(r, { packets: 3, octets: 180, tcpFlags: 0x12, srcMac: 1, dstMac: 2, ingressInterface: 1, startMs: 10, endMs: 20 });
  Object.assign(r, { reversePackets: 2, reverseOctets: 120, reverseTcpFlags: 0x14, reverseSrcMac: 2, reverseDstMac: 1, reverseIngressInterface: 2, reverseStartMs: 11, reverseEndMs: 19 });
  return r;
}

describe('UniflowSplitter', () => {
  test('a flow with both directions becomes two records, forward first, reverse with swapped key and its own counters', () => {
    const { sink, seen } = collect();
    new UniflowSplitter(sink).add(biflow());
    assert.deepEqual(seen, [
      { src: 0x0a000001, dst: 0x0a000002, srcPort: 40000, dstPort: 443, icmp: 0, packets: 3, octets: 180, flags: 0x12, srcMac: 1, dstMac: 2, ingress: 1, start: 10, end: 20, rev: 0 },
      { src: 0x0a000002, dst: 0x0a000001, srcPort: 443, dstPort: 40000, icmp: 0, packets: 2, octets: 120, flags: 0x14, srcMac: 2, dstMac: 1, ingress: 2, start: 11, end: 19, rev: 0 },
    ]);
  });

  test('empty directions are skipped', () => {
    const { sink, seen } = collect();
    const splitter = new UniflowSplitter(sink);
    const onlyReverse = biflow();
    onlyReverse.packets = 0;
    splitter.add(onlyReverse);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.src, 0x0a000002);
  });

  test('ICMP keeps its type/code key in both directions', () => {
    const { sink, seen } = collect();
    const r = biflow();
    Object.assign(r, { protocol: 1, srcPort: 0, dstPort: 0x0303, icmpTypeCode: 0x0303 });
    new UniflowSplitter(sink).add(r);
    assert.deepEqual(seen.map((s) => [s.srcPort, s.dstPort, s.icmp]), [[0, 0x0303, 0x0303], [0, 0x0303, 0x0303]]);
  });
});
