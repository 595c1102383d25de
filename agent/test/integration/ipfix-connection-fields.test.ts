/**
 * Issue 7, item 4: the connection metrics leave the probe as IPFIX that independent decoders read.
 * A connection rush with known truth (connection-rush.ts: outcomes, SYN retries, handshake RTT
 * halves, retransmissions, IPv4/IPv6, VLANs) is replayed by the real CLI into IPFIX files
 * (uniflow and RFC 5103 biflow) and over UDP into nfcapd. tshark decodes every record without an
 * error, and the values it shows — IANA elements by name, tapflow's enterprise elements as bytes
 * under the documentation PEN — equal the truth: the outcome of every connection, SYN retries,
 * handshake RTT halves within 1 ms, exact retransmitted packets and octets per direction, the IP
 * size range. nfcapd still stores every flow with the generator's packet counts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasTool, NFCAPD_MISSING, nfdumpFlows, startNfcapd, tempDir, TSHARK_MISSING } from '../helpers/collectors.js';
import { type ConnectionTruth, RUSH_OUTCOME_CODES, writeConnectionRush } from '../helpers/connection-rush.js';
import { runTapflow } from '../helpers/run-tapflow.js';
import { enterpriseNumber, field, tsharkIpfixFields, type TsharkIpfixRecord } from '../helpers/tshark-ipfix-fields.js';
import { canonicalAddress } from '../helpers/tshark-truth.js';

const RUSH = { seed: 4711, connections: 240, ipv6Share: 0.3, vlanShare: 0.3, retransmitShare: 0.3, outOfOrderShare: 0.3 } as const;
const PEN = 32_473;
const REVERSE = 0x4000;
/** tapflow-elements.ts ids. */
const E = { outcome: 1, synRetries: 2, serverRtt: 3, clientRtt: 4, retransPackets: 9, retransOctets: 10, outOfOrder: 11 } as const;

const OUTCOME_OF = RUSH_OUTCOME_CODES;

const skip = !hasTool('tshark') ? TSHARK_MISSING : false;

function recordKey(r: TsharkIpfixRecord): string {
  const src = field(r, 'cflow.srcaddr') ?? field(r, 'cflow.srcaddrv6') ?? '?';
  const dst = field(r, 'cflow.dstaddr') ?? field(r, 'cflow.dstaddrv6') ?? '?';
  return `${field(r, 'cflow.vlanid')}|${canonicalAddress(src)}|${field(r, 'cflow.srcport')}|${canonicalAddress(dst)}|${field(r, 'cflow.dstport')}`;
}

const toServerKey = (t: ConnectionTruth): string => `${t.vlanId}|${t.clientAddr}|${t.clientPort}|${t.serverAddr}|${t.serverPort}`;
const toClientKey = (t: ConnectionTruth): string => `${t.vlanId}|${t.serverAddr}|${t.serverPort}|${t.clientAddr}|${t.clientPort}`;

function byKey(records: TsharkIpfixRecord[]): Map<string, TsharkIpfixRecord[]> {
  const map = new Map<string, TsharkIpfixRecord[]>();
  for (const r of records) map.set(recordKey(r), [...(map.get(recordKey(r)) ?? []), r]);
  return map;
}

const total = (records: TsharkIpfixRecord[], id: number): number => records.reduce((sum, r) => sum + (enterpriseNumber(r, id) ?? Number.NaN), 0);

/** The per-connection values every record of the connection carries (the last one decides the outcome). */
function assertConnection(t: ConnectionTruth, records: TsharkIpfixRecord[], what: string): void {
  const last = records[records.length - 1]!;
  assert.equal(enterpriseNumber(last, E.outcome), OUTCOME_OF[t.outcome], `${what}: outcome`);
  for (const r of records) {
    assert.equal(enterpriseNumber(r, E.synRetries), t.synRetries, `${what}: SYN retries`);
    const serverRtt = enterpriseNumber(r, E.serverRtt)!;
    const clientRtt = enterpriseNumber(r, E.clientRtt)!;
    if (t.serverRttUs === null) assert.equal(serverRtt, 0, `${what}: no server RTT`);
    else assert.ok(Math.abs(serverRtt - t.serverRttUs) < 1_000, `${what}: server RTT ${serverRtt} µs vs ${t.serverRttUs}`);
    if (t.clientRttUs === null) assert.equal(clientRtt, 0, `${what}: no client RTT`);
    else assert.ok(Math.abs(clientRtt - t.clientRttUs) < 1_000, `${what}: client RTT ${clientRtt} µs vs ${t.clientRttUs}`);
  }
}

let tmp: { dir: string; remove(): void };
let truths: ConnectionTruth[];
let pcap: string;

before(() => {
  tmp = tempDir('tapflow-ipfix-conn-');
  pcap = join(tmp.dir, 'rush.pcap');
  truths = writeConnectionRush(pcap, RUSH);
});
after(() => tmp.remove());

describe('connection metrics in IPFIX, decoded by tshark', { skip }, () => {
  it('uniflow: every connection\'s records carry its outcome, retries, RTT halves, retransmissions and size range', async () => {
    const out = join(tmp.dir, 'uni.ipfix');
    const run = await runTapflow(['replay', pcap, '--out', out]);
    assert.equal(run.status, 0, run.stderr);
    const decoded = await tsharkIpfixFields(out);
    assert.deepEqual({ expertErrors: decoded.expertErrors, malformed: decoded.malformed }, { expertErrors: 0, malformed: 0 });
    const tcp = decoded.records.filter((r) => field(r, 'cflow.protocol') === '6');
    assert.ok(tcp.every((r) => r.setId === 270 || r.setId === 271), 'TCP flows on the connection templates');
    assert.ok(tcp.every((r) => r.fields.has('cflow.length_min')), 'minimumIpTotalLength decoded by name');
    const records = byKey(tcp);
    for (const t of truths) {
      const what = `connection ${t.index} (${t.outcome})`;
      const toServer = records.get(toServerKey(t)) ?? [];
      const toClient = records.get(toClientKey(t)) ?? [];
      assert.ok(toServer.length > 0, `${what}: client → server records`);
      assertConnection(t, toServer, `${what} →`);
      if (toClient.length > 0) assertConnection(t, toClient, `${what} ←`);
      assert.equal(toClient.length > 0, t.toClient.packets > 0, `${what}: server → client records iff the server sent`);
      for (const [direction, list, truth] of [['→', toServer, t.toServer], ['←', toClient, t.toClient]] as const) {
        if (list.length === 0) continue;
        assert.equal(total(list, E.retransPackets), truth.retransmittedPackets, `${what} ${direction}: retransmitted packets`);
        assert.equal(total(list, E.retransOctets), truth.retransmittedBytes, `${what} ${direction}: retransmitted octets`);
        assert.equal(total(list, E.outOfOrder), truth.outOfOrderPackets, `${what} ${direction}: out-of-order packets`);
        assert.equal(Math.min(...list.map((r) => Number(field(r, 'cflow.length_min')))), truth.minIpBytes, `${what} ${direction}: min IP length`);
        assert.equal(Math.max(...list.map((r) => Number(field(r, 'cflow.length_max')))), truth.maxIpBytes, `${what} ${direction}: max IP length`);
      }
    }
    const outcomes = new Set(truths.map((t) => t.outcome));
    assert.equal(outcomes.size, 6, 'the rush has every outcome the generator makes');
  });

  it('biflow: one record per connection part, reverse retransmissions under the 0x4000 id', async () => {
    const out = join(tmp.dir, 'bi.ipfix');
    const run = await runTapflow(['replay', pcap, '--biflow', '--out', out]);
    assert.equal(run.status, 0, run.stderr);
    const decoded = await tsharkIpfixFields(out);
    assert.deepEqual({ expertErrors: decoded.expertErrors, malformed: decoded.malformed }, { expertErrors: 0, malformed: 0 });
    const records = byKey(decoded.records.filter((r) => field(r, 'cflow.protocol') === '6'));
    for (const t of truths) {
      const what = `connection ${t.index} (${t.outcome})`;
      const list = records.get(toServerKey(t)) ?? [];
      assert.ok(list.length > 0 && list.every((r) => r.setId === 274 || r.setId === 275), `${what}: biflow connection records`);
      assertConnection(t, list, what);
      assert.equal(total(list, E.retransPackets), t.toServer.retransmittedPackets, `${what}: forward retransmissions`);
      assert.equal(total(list, REVERSE | E.retransPackets), t.toClient.retransmittedPackets, `${what}: reverse retransmissions`);
      assert.equal(total(list, REVERSE | E.retransOctets), t.toClient.retransmittedBytes, `${what}: reverse retransmitted octets`);
    }
  });

  it('nfcapd stores every direction of every connection with its packets, whatever the new fields', { skip: hasTool('nfcapd') ? false : NFCAPD_MISSING }, async () => {
    const nfcapd = await startNfcapd();
    try {
      const run = await runTapflow(['replay', pcap, '--collector', `127.0.0.1:${nfcapd.port}`]);
      assert.equal(run.status, 0, run.stderr);
      await nfcapd.stop();
      const flows = await nfdumpFlows(nfcapd.dir);
      const packets = new Map<string, number>();
      for (const f of flows) {
        const key = `${f.vlan}|${canonicalAddress(f.srcAddr)}|${f.srcPort}|${canonicalAddress(f.dstAddr)}|${f.dstPort}`;
        packets.set(key, (packets.get(key) ?? 0) + f.packets);
      }
      for (const t of truths) {
        assert.equal(packets.get(toServerKey(t)) ?? 0, t.toServer.packets, `connection ${t.index} → packets at nfcapd`);
        assert.equal(packets.get(toClientKey(t)) ?? 0, t.toClient.packets, `connection ${t.index} ← packets at nfcapd`);
      }
    } finally {
      await nfcapd.stop();
      nfcapd.remove();
    }
  });
});
