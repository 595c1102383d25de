import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasTool, tempDir } from '../helpers/collectors.js';
import { differences, ipfixFlowTotals } from '../helpers/ipfix-totals.js';
import { runTapflow, TAPFLOW_BIN } from '../helpers/run-tapflow.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { createVethLab, VETH_LAB_SKIP, type VethLab } from '../helpers/veth-lab.js';

const skip = VETH_LAB_SKIP || (sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : false);

/** Captures with several hosts, TCP and UDP; replayed at a fixed rate onto the veth. */
const CAPTURES = ['realistic/zeek_http_bro.org.pcap', 'realistic/suricata_tls-browsing.pcap'];

describe('tapflow run: live capture on a veth gives the flows of tapflow replay on the same file', { skip }, () => {
  let lab: VethLab;
  const tmp = tempDir('tapflow-run-');
  before(() => {
    lab = createVethLab('tfrun');
  });
  after(() => {
    lab?.remove();
    tmp.remove();
  });

  for (const capture of CAPTURES) {
    it(capture, async () => {
      const pcap = join(SHARED_PCAPS_DIR, capture);
      const live = join(tmp.dir, 'live.ipfix');
      const replayed = join(tmp.dir, 'replayed.ipfix');
      const agent = runTapflow(['run', '--interface', lab.outside(0), '--out', live, '--summary-json']);
      let stderr = '';
      agent.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const deadline = Date.now() + 10_000;
      while (!stderr.includes('capturing on') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.match(stderr, /capturing on/, 'tapflow run did not start');
      await lab.replay(pcap, ['--pps', '20000']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      agent.child.kill('SIGTERM');
      const run = await agent;
      assert.equal(run.status, 0, run.stderr);
      const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { ringDropped: number; interfaces: { packetsSeen: number }[] };
      assert.equal(summary.ringDropped, 0);

      assert.equal((await runTapflow(['replay', pcap, '--out', replayed, '--quiet'])).status, 0);
      const diff = differences(ipfixFlowTotals(replayed), ipfixFlowTotals(live));
      assert.deepEqual(diff, [], diff.slice(0, 10).join('\n'));
    });
  }

  it('without a usable interface it says so and exits non-zero, with no stack trace', async () => {
    const run = await runTapflow(['run', '--interface', 'tfnosuch0', '--config', writeFailFast(tmp.dir)]);
    assert.equal(run.status, 3);
    assert.match(run.stderr, /tfnosuch0/);
    assert.match(run.stderr, /TAPFLOW_E_CAPTURE_NO_INTERFACE/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  it('without CAP_NET_RAW it says so and exits 3, with no stack trace', { skip: hasTool('setpriv') ? false : 'setpriv not installed: skipped' }, () => {
    const run = spawnSync('setpriv', ['--bounding-set=-net_raw,-net_admin', '--inh-caps=-net_raw,-net_admin', process.execPath, TAPFLOW_BIN, 'run', '--interface', lab.outside(0), '--out', join(tmp.dir, 'x.ipfix')], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 3, run.stderr);
    assert.match(run.stderr, /TAPFLOW_E_CAPTURE_PERMISSION/);
    assert.match(run.stderr, /CAP_NET_RAW/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});

function writeFailFast(dir: string): string {
  const path = join(dir, 'fail-fast.json');
  writeFileSync(path, JSON.stringify({ capture: { onMissingInterface: 'fail' } }));
  return path;
}
