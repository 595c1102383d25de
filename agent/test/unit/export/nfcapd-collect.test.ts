/**
 * nfcapd 1.7.1 as an independent collector: a UDP export of known random records over loopback is
 * stored by nfcapd, and nfdump shows the same flows, packet and byte totals, and per-flow values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { UdpTransport } from '../../../src/export/udp-transport.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { hasTool, NFCAPD_MISSING, nfdumpFlows, startNfcapd, type NfdumpFlow } from '../../helpers/collectors.js';
import { ipv4Text, ipv6Text, macText, randomFlows, fillRecord, type FlowSnapshot } from './export-test-kit.js';

const RECORDS = 3_000;
const CHUNK = 250;
const skip = hasTool('nfcapd') && hasTool('nfdump') ? false : NFCAPD_MISSING;

function keyOf(src: string, dst: string, srcPort: number, dstPort: number, protocol: number, startMs: number): string {
  return `${src}|${dst}|${srcPort}|${dstPort}|${protocol}|${startMs}`;
}

function flowKey(flow: FlowSnapshot): string {
  const v6 = flow.ipVersion === 6;
  const src = v6 ? ipv6Text(flow.srcAddr) : ipv4Text(flow.srcAddr[0] ?? 0);
  const dst = v6 ? ipv6Text(flow.dstAddr) : ipv4Text(flow.dstAddr[0] ?? 0);
  return keyOf(src, dst, flow.srcPort, flow.dstPort, flow.protocol, flow.startMs);
}

const NFDUMP_FLAG_LETTERS = 'CEUAPRSF';

test('nfcapd stores what tapflow exported; nfdump agrees on flows, packets, bytes and fields', { skip }, async () => {
  const nfcapd = await startNfcapd();
  try {
    const flows = randomFlows(RECORDS, 777);
    const udp = new UdpTransport(`127.0.0.1:${nfcapd.port}`); // synchronous create: sends wait for the connect
    const builder = new IpfixMessageBuilder({ transports: [udp], exportTimeSeconds: () => Math.floor(Date.now() / 1000) });
    const rec = new FlowRecord();
    for (let start = 0; start < flows.length; start += CHUNK) {
      for (const flow of flows.slice(start, start + CHUNK)) builder.add(fillRecord(rec, flow));
      builder.flush(start);
      await udp.drain();
    }
    await udp.close();
    assert.deepEqual({ dropped: udp.stats.dropped_total, errors: udp.stats.errors_total }, { dropped: 0, errors: 0 });
    await nfcapd.stop();
    assert.match(nfcapd.log(), new RegExp(`Flows: ${RECORDS}, .*Sequence Errors: 0, Bad Packets: 0`), nfcapd.log());

    const stored = await nfdumpFlows(nfcapd.dir);
    assert.equal(stored.length, RECORDS);
    const sum = (values: number[]) => values.reduce((total, value) => total + BigInt(value), 0n);
    assert.equal(sum(stored.map((f) => f.packets)), sum(flows.map((f) => f.packets)));
    assert.equal(sum(stored.map((f) => f.bytes)), sum(flows.map((f) => f.octets)));

    const byKey = new Map<string, NfdumpFlow>();
    for (const flow of stored) byKey.set(keyOf(flow.srcAddr, flow.dstAddr, flow.srcPort, flow.dstPort, flow.protocol, flow.startMs), flow);
    for (let i = 0; i < flows.length; i += 11) {
      const flow = flows[i]!;
      const found = byKey.get(flowKey(flow));
      assert.ok(found, `flow ${i} (${flowKey(flow)}) missing in nfdump output`);
      const isIcmp = flow.protocol === 1 || flow.protocol === 58;
      assert.deepEqual(
        {
          packets: found.packets,
          bytes: found.bytes,
          endMs: found.endMs,
          vlan: found.vlan,
          ifIndex: found.inputInterface,
          tos: found.tos,
          macs: [found.srcMac, found.dstMac],
          ...(flow.protocol === 6 ? { tcpFlags: found.tcpFlags } : {}),
          ...(isIcmp ? { icmp: [found.icmpType, found.icmpCode] } : {}),
        },
        {
          packets: flow.packets,
          bytes: flow.octets,
          endMs: flow.endMs,
          vlan: flow.vlanId,
          ifIndex: flow.ingressInterface,
          tos: flow.tos,
          macs: [macText(flow.srcMac), macText(flow.dstMac)],
          ...(flow.protocol === 6
            ? { tcpFlags: [...NFDUMP_FLAG_LETTERS].map((letter, bit) => (flow.tcpFlags & (0x80 >> bit) ? letter : '.')).join('') }
            : {}),
          ...(isIcmp ? { icmp: [flow.icmpTypeCode >> 8, flow.icmpTypeCode & 0xff] } : {}),
        },
        `flow ${i}`,
      );
    }
  } finally {
    await nfcapd.stop();
    nfcapd.remove();
  }
});
