/**
 * The connection-rush generator (issue 7 ground truth), checked against tshark with IP and TCP
 * checksum validation on: per connection (matched by its 4-tuple, one tcp.stream each) packets and
 * IP octets per direction, VLAN id, SYN retries, RST/FIN per outcome, tshark's retransmission and
 * out-of-order verdicts, its initial RTT (= serverRttUs + clientRttUs), server response times and
 * TTL/size ranges recomputed from tshark's timestamps and headers, and no malformed frames.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONNECTION_OUTCOMES, type ConnectionTruth, type DirectionTruth, writeConnectionRush } from '../../helpers/connection-rush.js';
import { tempDir } from '../../helpers/collectors.js';
import { tsharkAvailable } from './tshark-frames.js';

const run = promisify(execFile);
const RUSH = { seed: 4242, connections: 300, ipv6Share: 0.3, vlanShare: 0.25 } as const;
const CHECKSUM_PREFS = ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE'];
const FIELDS = [
  'tcp.stream', 'frame.time_epoch', 'vlan.id', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport',
  'ip.len', 'ipv6.plen', 'ip.ttl', 'ipv6.hlim', 'tcp.flags', 'tcp.len', 'tcp.analysis.retransmission', 'tcp.analysis.out_of_order',
  'tcp.analysis.initial_rtt', 'ip.checksum.status', 'tcp.checksum.status',
] as const;
type Row = Record<(typeof FIELDS)[number], string>;

let tmp: { dir: string; remove(): void };
before(() => {
  tmp = tempDir('tapflow-rush-');
});
after(() => tmp.remove());

/** µs since the epoch from tshark's "s.nnnnnnnnn", without going through a lossy double. */
function epochUs(text: string): number {
  const [seconds = '0', fraction = '0'] = text.split('.');
  return Number(seconds) * 1e6 + Math.round(Number(fraction.padEnd(9, '0')) / 1000);
}

async function tsharkFrames(path: string): Promise<Row[]> {
  const args = ['-r', path, '-n', ...CHECKSUM_PREFS, '-T', 'fields', '-E', 'occurrence=f', '-E', 'separator=\t'];
  for (const field of FIELDS) args.push('-e', field);
  const { stdout } = await run('tshark', args, { maxBuffer: 1 << 30 });
  return stdout.split('\n').filter((line) => line !== '').map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(FIELDS.map((name, i) => [name, cells[i] ?? ''])) as Row;
  });
}

/** What tshark shows of one direction, in the truth's terms. */
function directionOf(rows: Row[]): Omit<DirectionTruth, 'retransmittedBytes'> {
  const ttls = rows.map((r) => Number(r['ip.ttl'] || r['ipv6.hlim']));
  const sizes = rows.map((r) => (r['ipv6.plen'] !== '' ? 40 + Number(r['ipv6.plen']) : Number(r['ip.len'])));
  const empty = rows.length === 0;
  return {
    packets: rows.length,
    ipOctets: sizes.reduce((a, b) => a + b, 0),
    retransmittedPackets: rows.filter((r) => r['tcp.analysis.retransmission'] !== '').length,
    outOfOrderPackets: rows.filter((r) => r['tcp.analysis.out_of_order'] !== '').length,
    minTtl: empty ? 0 : Math.min(...ttls),
    maxTtl: empty ? 0 : Math.max(...ttls),
    minIpBytes: empty ? 0 : Math.min(...sizes),
    maxIpBytes: empty ? 0 : Math.max(...sizes),
  };
}

/** Server response times from tshark's timestamps: last client data frame → first server data frame after it. */
function responseTimesUs(rows: Row[], fromClient: (r: Row) => boolean): number[] {
  const times: number[] = [];
  let lastRequestUs = -1;
  for (const r of rows) {
    if (Number(r['tcp.len']) === 0) continue;
    if (fromClient(r)) lastRequestUs = epochUs(r['frame.time_epoch']);
    else if (lastRequestUs >= 0) {
      times.push(epochUs(r['frame.time_epoch']) - lastRequestUs);
      lastRequestUs = -1;
    }
  }
  return times;
}

const flagsOf = (r: Row) => Number(r['tcp.flags']);
const SYN = 0x02;
const ACK = 0x10;
const RST = 0x04;
const FIN = 0x01;

describe('connection rush generator', () => {
  test('the same seed writes the same bytes; another seed does not', () => {
    const a = join(tmp.dir, 'a.pcap');
    const b = join(tmp.dir, 'b.pcap');
    const c = join(tmp.dir, 'c.pcap');
    const truthA = writeConnectionRush(a, RUSH);
    const truthB = writeConnectionRush(b, RUSH);
    writeConnectionRush(c, { ...RUSH, seed: RUSH.seed + 1 });
    assert.ok(readFileSync(a).equals(readFileSync(b)));
    assert.deepEqual(truthA, truthB);
    assert.ok(!readFileSync(a).equals(readFileSync(c)));
  });

  test('the rush exercises every outcome and every impairment', () => {
    const truth = writeConnectionRush(join(tmp.dir, 'mix.pcap'), RUSH);
    assert.equal(truth.length, RUSH.connections);
    for (const outcome of CONNECTION_OUTCOMES) assert.ok(truth.some((t) => t.outcome === outcome), outcome);
    assert.ok(truth.some((t) => t.ipVersion === 6) && truth.some((t) => t.ipVersion === 4));
    assert.ok(truth.some((t) => t.vlanId !== 0) && truth.some((t) => t.vlanId === 0));
    assert.ok(truth.some((t) => t.serverPort === 80) && truth.some((t) => t.serverPort === 443));
    assert.ok(truth.some((t) => t.outcome === 'completed' && t.synRetries > 0), 'a handshake that needed a SYN retry');
    assert.ok(truth.some((t) => t.toServer.retransmittedBytes > 0) && truth.some((t) => t.toClient.retransmittedBytes > 0));
    assert.ok(truth.some((t) => t.toClient.outOfOrderPackets > 0));
    assert.ok(truth.some((t) => t.toServer.minTtl < t.toServer.maxTtl), 'a TTL range wider than one value');
    const rtts = truth.flatMap((t) => (t.serverRttUs === null ? [] : [t.serverRttUs]));
    assert.ok(Math.min(...rtts) >= 200 && Math.max(...rtts) <= 80_000 && Math.max(...rtts) - Math.min(...rtts) > 50_000);
  });

  test('tshark agrees with the truth of every connection', { skip: tsharkAvailable() ? false : 'tshark not installed: skipped' }, async () => {
    const path = join(tmp.dir, 'rush.pcap');
    const truth = writeConnectionRush(path, RUSH);
    const rows = await tsharkFrames(path);

    // Well formed: nothing malformed, every IPv4 and TCP checksum verified good (status 1).
    const { stdout: malformed } = await run('tshark', ['-r', path, '-n', ...CHECKSUM_PREFS, '-Y', '_ws.malformed || _ws.expert.severity >= 0x00800000']);
    assert.equal(malformed, '');
    for (const r of rows) {
      assert.equal(r['tcp.checksum.status'], '1');
      if (r['ip.src'] !== '') assert.equal(r['ip.checksum.status'], '1');
    }
    let previousUs = 0;
    for (const r of rows) {
      const us = epochUs(r['frame.time_epoch']);
      assert.ok(us >= previousUs, 'frames in timestamp order');
      previousUs = us;
    }

    const byStream = new Map<string, Row[]>();
    for (const r of rows) byStream.set(r['tcp.stream'], [...(byStream.get(r['tcp.stream']) ?? []), r]);
    assert.equal(byStream.size, truth.length, 'one tcp.stream per connection');
    const streamByTuple = new Map<string, Row[]>();
    for (const streamRows of byStream.values()) {
      const first = streamRows[0]!;
      const src = first['ip.src'] || first['ipv6.src'];
      const dst = first['ip.dst'] || first['ipv6.dst'];
      streamByTuple.set(`${src}|${first['tcp.srcport']}|${dst}|${first['tcp.dstport']}`, streamRows);
      streamByTuple.set(`${dst}|${first['tcp.dstport']}|${src}|${first['tcp.srcport']}`, streamRows);
    }

    const outcomeSeen: Record<string, number> = {};
    for (const t of truth) {
      const streamRows = streamByTuple.get(`${t.clientAddr}|${t.clientPort}|${t.serverAddr}|${t.serverPort}`);
      assert.ok(streamRows, `connection ${t.index} found by its 4-tuple`);
      const label = `connection ${t.index} (${t.outcome})`;
      const fromClient = (r: Row) => (r['ip.src'] || r['ipv6.src']) === t.clientAddr && Number(r['tcp.srcport']) === t.clientPort;
      const up = streamRows.filter(fromClient);
      const down = streamRows.filter((r) => !fromClient(r));
      const { retransmittedBytes: _up, ...upTruth } = t.toServer;
      const { retransmittedBytes: _down, ...downTruth } = t.toClient;
      assert.deepEqual(directionOf(up), upTruth, `${label} client → server`);
      assert.deepEqual(directionOf(down), downTruth, `${label} server → client`);
      const resentUp = up.filter((r) => r['tcp.analysis.retransmission'] !== '').reduce((sum, r) => sum + Number(r['tcp.len']), 0);
      const resentDown = down.filter((r) => r['tcp.analysis.retransmission'] !== '').reduce((sum, r) => sum + Number(r['tcp.len']), 0);
      assert.deepEqual([resentUp, resentDown], [t.toServer.retransmittedBytes, t.toClient.retransmittedBytes], `${label} retransmitted bytes`);

      for (const r of streamRows) assert.equal(Number(r['vlan.id'] || 0), t.vlanId, `${label} VLAN`);
      assert.equal(String(t.ipVersion), streamRows[0]!['ipv6.src'] !== '' ? '6' : '4');
      assert.equal(epochUs(streamRows[0]!['frame.time_epoch']), t.firstPacketUs);
      assert.equal(epochUs(streamRows.at(-1)!['frame.time_epoch']), t.lastPacketUs);

      const syns = up.filter((r) => (flagsOf(r) & (SYN | ACK)) === SYN).length;
      assert.equal(syns, t.outcome === 'mid_stream' ? 0 : t.synRetries + 1, `${label} SYNs`);
      const synAcks = down.filter((r) => (flagsOf(r) & (SYN | ACK)) === (SYN | ACK)).length;
      const rstUp = up.some((r) => flagsOf(r) & RST);
      const rstDown = down.some((r) => flagsOf(r) & RST);
      const finUp = up.some((r) => flagsOf(r) & FIN);
      const finDown = down.some((r) => flagsOf(r) & FIN);
      const expected = expectedFlags(t);
      assert.deepEqual({ synAcks, rstUp, rstDown, finUp, finDown }, expected, `${label} handshake/RST/FIN`);
      if (t.outcome === 'rejected') assert.equal(down.length, 1, `${label}: only the RST answers`);

      // tshark's initial RTT: most recent SYN → ACK of the SYN/ACK, printed on frames after the handshake.
      const irtt = streamRows.find((r) => r['tcp.analysis.initial_rtt'] !== '')?.['tcp.analysis.initial_rtt'];
      // A rejected SYN: tshark takes the RST/ACK as the first ACK after the SYN, so its iRTT is SYN → RST.
      if (t.outcome === 'rejected') assert.equal(Math.round(Number(irtt) * 1e6), t.lastPacketUs - t.firstPacketUs, `${label} SYN → RST`);
      else if (t.serverRttUs === null || t.clientRttUs === null) assert.equal(irtt, undefined, `${label} has no initial RTT`);
      else assert.ok(Math.abs(Number(irtt) * 1e6 - (t.serverRttUs + t.clientRttUs)) <= 1, `${label} initial RTT ${irtt} s vs ${t.serverRttUs} + ${t.clientRttUs} µs`);
      if (t.serverRttUs !== null) {
        const synAck = down.find((r) => (flagsOf(r) & (SYN | ACK)) === (SYN | ACK))!;
        const lastSyn = up.filter((r) => (flagsOf(r) & (SYN | ACK)) === SYN).at(-1)!;
        assert.equal(epochUs(synAck['frame.time_epoch']) - epochUs(lastSyn['frame.time_epoch']), t.serverRttUs, `${label} server RTT`);
      }
      assert.deepEqual(responseTimesUs(streamRows, fromClient), t.serverResponseUs, `${label} server response times`);
      outcomeSeen[t.outcome] = (outcomeSeen[t.outcome] ?? 0) + 1;
    }
    assert.equal(Object.keys(outcomeSeen).length, CONNECTION_OUTCOMES.length);
  });
});

/** The control segments each outcome must show (SYN/ACKs from the server, RST and FIN per direction). */
function expectedFlags(t: ConnectionTruth): { synAcks: number; rstUp: boolean; rstDown: boolean; finUp: boolean; finDown: boolean } {
  switch (t.outcome) {
    case 'completed': return { synAcks: 1, rstUp: false, rstDown: false, finUp: true, finDown: true };
    case 'mid_stream': return { synAcks: 0, rstUp: false, rstDown: false, finUp: true, finDown: true };
    case 'reset_by_server': return { synAcks: 1, rstUp: false, rstDown: true, finUp: false, finDown: false };
    case 'reset_by_client': return { synAcks: 1, rstUp: true, rstDown: false, finUp: false, finDown: false };
    case 'rejected': return { synAcks: 0, rstUp: false, rstDown: true, finUp: false, finDown: false };
    case 'syn_unanswered': return { synAcks: 0, rstUp: false, rstDown: false, finUp: false, finDown: false };
  }
}
