/**
 * pmacct's nfacctd, an independent collector, receives what `tapflow replay` exports and its
 * per-5-tuple totals equal tshark's count of the capture (the approach of replay-collectors.test.ts
 * with nfcapd). How nfacctd is configured and stopped: agent/test/helpers/nfacctd.ts.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseIpfixRecords } from '../../src/export/ipfix/message-parser.js';
import { captureUdpExport, hasTool, tempDir, TSHARK_MISSING } from '../helpers/collectors.js';
import { differences, recordFlowTotals } from '../helpers/ipfix-totals.js';
import { NFACCTD_MISSING, nfacctdFlows, nfacctdFlowTotals, nfacctdPath, startNfacctd, type NfacctdHandle, type NfacctdOptions } from '../helpers/nfacctd.js';
import { replaySummary, runTapflow } from '../helpers/run-tapflow.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { tsharkFlowTotals, type FlowTotals } from '../helpers/tshark-truth.js';

const skip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : nfacctdPath() === null ? NFACCTD_MISSING : !hasTool('tshark') ? TSHARK_MISSING : false;

// IPv4 and IPv6, TCP, UDP and ICMPv6, RSTs and unanswered SYNs; the last one is IPv6 only.
const TLS_BROWSING = 'realistic/suricata_tls-browsing.pcap';
const FTP_IPV4_IPV6 = 'realistic/suricata_ftp-data_ipv4_ipv6.pcap';
const IPV6_ONLY = 'realistic/suricata_community-id-ipv6.pcap';

/** replaySummary's fields plus the sampling block the summary carries. */
type Summary = ReturnType<typeof replaySummary> & { sampling: { interval: number; method: string } };

/** Every nfacctd started, so a failing case still leaves no temporary directory behind. */
const started: NfacctdHandle[] = [];
async function nfacctd(options: NfacctdOptions = {}): Promise<NfacctdHandle> {
  const handle = await startNfacctd(options);
  started.push(handle);
  return handle;
}

/** Replays `capture` to one nfacctd per entry of `collectors` (`FORMAT+udp` prefixes), stops them all. */
async function replayToNfacctd(
  capture: string,
  collectors: { format: string; options?: NfacctdOptions }[],
  extraArgs: string[] = [],
): Promise<{ summary: Summary; handles: NfacctdHandle[] }> {
  const handles: NfacctdHandle[] = [];
  let summary: Summary;
  try {
    for (const collector of collectors) handles.push(await nfacctd(collector.options ?? {}));
    const targets = handles.flatMap((handle, i) => ['--collector', `${collectors[i]!.format}://127.0.0.1:${handle.port}`]);
    const run = await runTapflow(['replay', join(SHARED_PCAPS_DIR, capture), ...targets, ...extraArgs, '--summary-json']);
    assert.equal(run.status, 0, run.stderr);
    summary = replaySummary(run) as Summary;
  } finally {
    await Promise.all(handles.map((handle) => handle.stop()));
  }
  assert.equal(summary.malformedTotal, 0);
  assert.ok(summary.export.destinations.every((d) => d.dropped === 0 && d.errors === 0), JSON.stringify(summary.export));
  for (const handle of handles) assert.deepEqual(handle.problems(), [], handle.log());
  return { summary, handles };
}

function collected(handle: NfacctdHandle): FlowTotals {
  return nfacctdFlowTotals(nfacctdFlows(handle));
}

/** Flow records of a tapflow IPFIX file (options records left out): forward fields, or reverse ones keyed the other way. */
function fileTotals(path: string, direction: 'forward' | 'reverse'): FlowTotals {
  const records = parseIpfixRecords(readFileSync(path)).filter((r) => r.kind === 'data').map((r) => r.values);
  if (direction === 'forward') return recordFlowTotals(records);
  const reversed = records
    .filter((v) => Number(v.reversePacketDeltaCount ?? 0) > 0)
    .map((v) => ({
      sourceIPv4Address: v.destinationIPv4Address,
      destinationIPv4Address: v.sourceIPv4Address,
      sourceIPv6Address: v.destinationIPv6Address,
      destinationIPv6Address: v.sourceIPv6Address,
      sourceTransportPort: v.destinationTransportPort,
      destinationTransportPort: v.sourceTransportPort,
      protocolIdentifier: v.protocolIdentifier,
      packetDeltaCount: v.reversePacketDeltaCount,
      octetDeltaCount: v.reverseOctetDeltaCount,
    }));
  return recordFlowTotals(reversed.map((v) => Object.fromEntries(Object.entries(v).filter(([, value]) => value !== undefined))));
}

function sumTotals(...parts: FlowTotals[]): FlowTotals {
  const sum: FlowTotals = new Map();
  for (const part of parts) {
    for (const [key, value] of part) {
      const entry = sum.get(key) ?? { packets: 0, octets: 0 };
      entry.packets += value.packets;
      entry.octets += value.octets;
      sum.set(key, entry);
    }
  }
  return sum;
}

function scaled(totals: FlowTotals, factor: number): FlowTotals {
  return new Map([...totals].map(([key, value]) => [key, { packets: value.packets * factor, octets: value.octets * factor }]));
}

const packetsOf = (totals: FlowTotals) => [...totals.values()].reduce((sum, value) => sum + value.packets, 0);

// Each case has its own nfacctd on its own port, and most of a case is waiting for nfacctd to stop.
describe('pmacct nfacctd decodes what tapflow exports', { skip, concurrency: true }, () => {
  const tmp = tempDir('tapflow-pmacct-');
  after(() => {
    tmp.remove();
    for (const handle of started) handle.remove();
  });

  for (const capture of [TLS_BROWSING, FTP_IPV4_IPV6, IPV6_ONLY]) {
    it(`IPFIX over UDP, one record per direction, unsampled: ${capture}`, async () => {
      const { summary, handles } = await replayToNfacctd(capture, [{ format: 'ipfix+udp' }]);
      assert.equal(summary.sampling.interval, 1);
      const truth = await tsharkFlowTotals(join(SHARED_PCAPS_DIR, capture));
      const nf = collected(handles[0]!);
      assert.deepEqual(differences(truth.flows, nf), []);
      const ipv6Keys = [...nf.keys()].filter((key) => key.startsWith('6|'));
      if (capture === IPV6_ONLY) assert.equal(ipv6Keys.length, nf.size, 'every flow is IPv6');
      if (capture !== TLS_BROWSING) assert.ok(ipv6Keys.length >= 4, `IPv6 flows reach nfacctd: ${ipv6Keys.length}`);
    });
  }

  it('NetFlow v9 and v5 over UDP (v5: IPv4 only)', async () => {
    const { handles } = await replayToNfacctd(FTP_IPV4_IPV6, [{ format: 'nfv9+udp' }, { format: 'nfv5+udp' }]);
    const truth = await tsharkFlowTotals(join(SHARED_PCAPS_DIR, FTP_IPV4_IPV6));
    assert.deepEqual(differences(truth.flows, collected(handles[0]!)), []);
    const ipv4Truth: FlowTotals = new Map([...truth.flows].filter(([key]) => key.startsWith('4|')));
    assert.ok(ipv4Truth.size < truth.flows.size, 'the capture has IPv6 flows, which v5 cannot carry');
    assert.deepEqual(differences(ipv4Truth, collected(handles[1]!)), []);
  });

  it('biflow (RFC 5103): nfacctd counts the forward fields and ignores the reverse elements (PEN 29305)', async () => {
    const file = join(tmp.dir, 'biflow.ipfix');
    const { handles } = await replayToNfacctd(FTP_IPV4_IPV6, [{ format: 'ipfix+udp' }], ['--biflow', '--out', file]);
    const truth = await tsharkFlowTotals(join(SHARED_PCAPS_DIR, FTP_IPV4_IPV6));
    const forward = fileTotals(file, 'forward');
    const reverse = fileTotals(file, 'reverse');
    assert.ok(packetsOf(reverse) > 0, 'the capture has answered flows');
    // The biflow records hold every packet once (forward + reverse = tshark) ...
    assert.deepEqual(differences(truth.flows, sumTotals(forward, reverse)), []);
    // ... and nfacctd sees exactly the forward half.
    assert.deepEqual(differences(forward, collected(handles[0]!)), []);
  });

  it("nfacctd's sequence check is live: one lost datagram is reported (so 'no problems' above means something)", async () => {
    const udp = await captureUdpExport();
    let summary: Summary;
    try {
      const run = await runTapflow(['replay', join(SHARED_PCAPS_DIR, TLS_BROWSING), '--collector', `127.0.0.1:${udp.port}`, '--summary-json']);
      assert.equal(run.status, 0, run.stderr);
      summary = replaySummary(run) as Summary;
      await udp.waitFor(summary.export.messages);
    } finally {
      await udp.stop();
    }
    assert.ok(udp.datagrams.length > 6);
    const collector = await nfacctd();
    const socket = createSocket('udp4');
    try {
      // Message 5 (data, after the templates) never arrives: the next header's sequence number jumps.
      for (const [index, datagram] of udp.datagrams.entries()) {
        if (index !== 5) await new Promise<void>((resolve, reject) => socket.send(datagram, collector.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
      }
    } finally {
      socket.close();
      await collector.stop();
    }
    const problems = collector.problems();
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /expecting flow '\d+' but received '\d+'/);
  });

  it('sampling 1 in 10: nfacctd_renormalize scales by the announced interval, and only then', async () => {
    const file = join(tmp.dir, 'sampled.ipfix');
    const { summary, handles } = await replayToNfacctd(
      FTP_IPV4_IPV6,
      [{ format: 'ipfix+udp', options: { renormalize: true } }, { format: 'ipfix+udp' }, { format: 'nfv9+udp', options: { renormalize: true } }],
      ['--sampling', '10', '--out', file],
    );
    assert.equal(summary.sampling.interval, 10);
    const sampled = fileTotals(file, 'forward');
    assert.ok(packetsOf(sampled) > 0 && packetsOf(sampled) < summary.packets / 5, `about 1 in 10 metered: ${packetsOf(sampled)} of ${summary.packets}`);
    assert.deepEqual(differences(scaled(sampled, 10), collected(handles[0]!)), [], 'IPFIX sampling options record');
    assert.deepEqual(differences(sampled, collected(handles[1]!)), [], 'renormalisation off: counters as sent');
    assert.deepEqual(differences(scaled(sampled, 10), collected(handles[2]!)), [], 'NetFlow v9 SAMPLING_INTERVAL (34)');
  });
});
