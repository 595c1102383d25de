/**
 * The synthetic captures are only useful as ground truth if what they claim to contain is what
 * tshark finds in them: same packets, same flows and IP lengths per direction, nothing malformed,
 * every checksum good, and the shape each scenario promises (handshakes, new flows, IMIX sizes).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CaptureTruth, DEFAULT_START_US, directionalTotals, imix, longLivedFlows, newFlowPerPacket,
} from '../../helpers/traffic-generator.js';
import { EXPERT_ERROR_SEVERITY, maxExpertSeverity, rowFlowKey, rowIpLength, tsharkAvailable, tsharkRows, type TsharkRow } from './tshark-frames.js';

const MAX_STEP_US = 1000;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapflow-gen-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Checks everything every scenario promises against tshark and returns its frames for more. */
async function assertMatchesTshark(truth: CaptureTruth): Promise<TsharkRow[]> {
  const rows = await tsharkRows(truth.path);
  assert.equal(rows.length, truth.packets, 'frame count');

  const bad = rows.flatMap((row, i) => (maxExpertSeverity(row) >= EXPERT_ERROR_SEVERITY ? [`frame ${i + 1}: ${rowFlowKey(row)}`] : []));
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} frames malformed or with a bad checksum`);

  const seen = new Map<string, { packets: number; octets: number }>();
  let frameBytes = 0;
  let ipv6 = 0;
  let vlan = 0;
  let tcp = 0;
  let udp = 0;
  for (const row of rows) {
    const key = rowFlowKey(row);
    const entry = seen.get(key) ?? { packets: 0, octets: 0 };
    entry.packets++;
    entry.octets += rowIpLength(row);
    seen.set(key, entry);
    frameBytes += Number(row['frame.len']);
    if (row['ipv6.src'] !== '') ipv6++;
    if (row['vlan.id'] !== '') vlan++;
    if (row['tcp.srcport'] !== '') tcp++;
    if (row['udp.srcport'] !== '') udp++;
  }
  const expected = directionalTotals(truth.flows!);
  const sorted = (m: Map<string, unknown>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  assert.equal(seen.size, expected.size, 'directional flow count');
  assert.deepEqual(sorted(seen), sorted(expected), 'per-direction packets and IP octets');
  assert.equal([...seen.values()].reduce((sum, e) => sum + e.octets, 0), truth.ipOctets);
  assert.deepEqual({ frameBytes, ipv6, vlan, tcp, udp }, {
    frameBytes: truth.frameBytes, ipv6: truth.ipv6Packets, vlan: truth.vlanPackets, tcp: truth.tcpPackets, udp: truth.udpPackets,
  });
  assert.equal(truth.flows!.size, truth.flowCount);

  // Timestamps: from the fixed start, each step 1 µs to MAX_STEP_US. time_epoch is printed with 9 decimals.
  const tsUs = rows.map((row) => Math.round(Number(row['frame.time_epoch']) * 1e6));
  assert.equal(tsUs[0], DEFAULT_START_US);
  assert.equal(tsUs.at(-1), truth.lastTsUs);
  for (let i = 1; i < tsUs.length; i++) {
    const step = tsUs[i]! - tsUs[i - 1]!;
    if (!(step >= 1 && step <= MAX_STEP_US)) assert.fail(`frame ${i + 1}: step ${step} µs`);
  }
  return rows;
}

describe('traffic generator agrees with tshark', { skip: tsharkAvailable() ? false : 'tshark not installed: skipped' }, () => {
  test('longLivedFlows: interleaved TCP connections, handshake first and FIN/ACK last', async () => {
    const flows = 400;
    const truth = longLivedFlows({ path: join(dir, 'long.pcap'), flows, packets: 16_003, ipv6Share: 0.25, vlanShare: 0.2 });
    assert.equal(truth.flowCount, flows);
    const rows = await assertMatchesTshark(truth);

    const firstFrame = new Map<string, number>();
    const lastFrame = new Map<string, number>();
    rows.forEach((row, i) => {
      const key = rowFlowKey(row);
      if (!firstFrame.has(key)) firstFrame.set(key, i);
      lastFrame.set(key, i);
    });
    for (const flow of truth.flows!.values()) {
      assert.equal(flow.protocol, 6);
      assert.ok(flow.packetsFwd + flow.packetsRev >= 40 && flow.packetsFwd + flow.packetsRev <= 41);
    }
    // The forward (client) side opens with a SYN and closes with the final ACK; the server answers SYN+ACK.
    for (const [key, flow] of truth.flows!) {
      const reverseKey = `${flow.ipVersion}|${flow.dst}|${flow.src}|6|${flow.dstPort}|${flow.srcPort}|${flow.vlanId}`;
      assert.equal(rows[firstFrame.get(key)!]!['tcp.flags'], '0x0002', `${key} starts with SYN`);
      assert.equal(rows[firstFrame.get(reverseKey)!]!['tcp.flags'], '0x0012', `${key} answered by SYN+ACK`);
      assert.equal(rows[lastFrame.get(key)!]!['tcp.flags'], '0x0010', `${key} ends with ACK`);
      assert.equal(rows[lastFrame.get(reverseKey)!]!['tcp.flags'], '0x0011', `${key} server sends the last FIN`);
    }
    // Interleaved: halfway through the capture almost every connection is open.
    const middle = rows.length / 2;
    const openAtMiddle = [...truth.flows!.keys()].filter((key) => firstFrame.get(key)! < middle && lastFrame.get(key)! > middle).length;
    assert.ok(openAtMiddle >= flows * 0.9, `${openAtMiddle} of ${flows} open at the middle`);
    assert.ok(truth.ipv6Packets > 0 && truth.vlanPackets > 0);
  });

  test('newFlowPerPacket: every packet a SYN of a flow never seen before', async () => {
    const truth = newFlowPerPacket({ path: join(dir, 'new.pcap'), packets: 12_000, ipv6Share: 0.3 });
    assert.equal(truth.flowCount, 12_000);
    const rows = await assertMatchesTshark(truth);
    assert.ok(rows.every((row) => row['tcp.flags'] === '0x0002'));
    assert.equal(new Set(rows.map((row) => (row['ip.src'] || row['ipv6.src']) + row['tcp.srcport'])).size, rows.length);
    assert.ok(truth.ipv6Packets > 3000 && truth.ipv6Packets < 4200, `${truth.ipv6Packets} IPv6`);
  });

  test('imix: sizes 7:4:1, ~20 % IPv6, TCP and UDP over a few thousand flows', async () => {
    const packets = 24_000;
    const truth = imix({ path: join(dir, 'imix.pcap'), packets, flows: 3000 });
    const rows = await assertMatchesTshark(truth);
    const lengths = rows.map(rowIpLength);
    const share = (pred: (n: number) => boolean) => lengths.filter(pred).length / packets;
    assert.ok(Math.abs(share((n) => n <= 60) - 7 / 12) < 0.02, 'small packets ≈ 7/12');
    assert.ok(Math.abs(share((n) => n === 576) - 4 / 12) < 0.02, '576-byte packets ≈ 4/12');
    assert.ok(Math.abs(share((n) => n === 1500) - 1 / 12) < 0.02, '1500-byte packets ≈ 1/12');
    assert.ok(Math.abs(truth.ipv6Packets / packets - 0.2) < 0.04, `IPv6 share ${truth.ipv6Packets / packets}`);
    assert.ok(truth.udpPackets > packets * 0.2 && truth.tcpPackets > packets * 0.6);
    assert.ok(truth.flowCount > 2500 && truth.flowCount <= 3000, `${truth.flowCount} flows`);
  });
});

describe('traffic generator determinism and limits', () => {
  const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

  test('the same seed writes the same bytes and truth; another seed does not', () => {
    const a = imix({ path: join(dir, 'a.pcap'), packets: 2000, seed: 7 });
    const b = imix({ path: join(dir, 'b.pcap'), packets: 2000, seed: 7 });
    const c = imix({ path: join(dir, 'c.pcap'), packets: 2000, seed: 8 });
    assert.equal(digest(a.path), digest(b.path));
    assert.deepEqual({ ...a, path: '' }, { ...b, path: '' });
    assert.notEqual(digest(a.path), digest(c.path));
  });

  test("'totals' truth skips the per-flow map but counts the same", () => {
    const full = longLivedFlows({ path: join(dir, 'f.pcap'), flows: 50, packets: 1000 });
    const totals = longLivedFlows({ path: join(dir, 't.pcap'), flows: 50, packets: 1000, truth: 'totals' });
    assert.equal(totals.flows, null);
    assert.deepEqual({ ...totals, path: '', flows: null }, { ...full, path: '', flows: null });
    assert.equal(digest(full.path), digest(totals.path));
  });

  test('impossible sizes are refused', () => {
    assert.throws(() => longLivedFlows({ path: join(dir, 'x.pcap'), flows: 10, packets: 69 }), RangeError);
    assert.throws(() => newFlowPerPacket({ path: join(dir, 'x.pcap'), packets: 0x1000001 }), RangeError);
    assert.throws(() => imix({ path: join(dir, 'x.pcap'), packets: 10, ipv6Share: 1.5 }), RangeError);
  });
});
