/**
 * export.mode "failover": with the primary collector down (a TCP port nobody listens on), every
 * record goes to the secondary (nfcapd over UDP) and nfdump's totals equal the ground truth; the
 * summary says which collector was active, and a down standby does not fail the replay.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freeUdpPort, hasTool, NFCAPD_MISSING, nfdumpFlowTotals, startNfcapd, TSHARK_MISSING } from '../helpers/collectors.js';
import { differences } from '../helpers/ipfix-totals.js';
import { replaySummary, runTapflow } from '../helpers/run-tapflow.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { tsharkFlowTotals } from '../helpers/tshark-truth.js';

const skip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : !hasTool('nfcapd') ? NFCAPD_MISSING : !hasTool('tshark') ? TSHARK_MISSING : false;

describe('failover between collectors', { skip }, () => {
  it('primary down: the secondary receives every record; the replay succeeds', async () => {
    const pcap = join(SHARED_PCAPS_DIR, 'realistic/suricata_tls-browsing.pcap');
    const deadPort = await freeUdpPort(); // free for UDP; nothing listens on TCP there either
    const nfcapd = await startNfcapd();
    let run: Awaited<ReturnType<typeof runTapflow>>;
    try {
      run = await runTapflow([
        'replay', pcap, '--failover', '--summary-json',
        '--collector', `ipfix+tcp://127.0.0.1:${deadPort}`, '--collector', `nfv9+udp://127.0.0.1:${nfcapd.port}`,
      ]);
    } finally {
      await nfcapd.stop();
    }
    try {
      assert.equal(run.status, 0, run.stderr);
      const summary = replaySummary(run);
      const [primary, secondary] = summary.export.destinations;
      assert.deepEqual([primary!.active, secondary!.active], [false, true]);
      assert.match(primary!.problem ?? '', /ECONNREFUSED/);
      assert.equal(primary!.sent, 0);
      assert.equal(secondary!.dropped + secondary!.errors, 0);
      const truth = (await tsharkFlowTotals(pcap)).flows;
      assert.deepEqual(differences(truth, await nfdumpFlowTotals(nfcapd.dir)), []);
    } finally {
      nfcapd.remove();
    }
  });
});
