import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasTool, tempDir } from '../helpers/collectors.js';
import { differences, flowRecordsOf, ipfixFlowTotals } from '../helpers/ipfix-totals.js';
import { runTapflow, TAPFLOW_BIN } from '../helpers/run-tapflow.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { createVethLab, VETH_LAB_SKIP, type VethLab } from '../helpers/veth-lab.js';

const skip = VETH_LAB_SKIP || (sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : false);

/** After a replay, time for the capture to drain the kernel buffer before SIGTERM closes it (loaded CI machines). */
const SETTLE_MS = 600;

/** Captures with several hosts, TCP and UDP; replayed at a fixed rate onto the veth. */
const CAPTURES = ['realistic/zeek_http_bro.org.pcap', 'realistic/suricata_tls-browsing.pcap'];

describe('tapflow run: live capture on a veth gives the flows of tapflow replay on the same file', { skip }, () => {
  let lab: VethLab;
  const tmp = tempDir('tapflow-run-');
  before(() => {
    lab = createVethLab('tfrun', 2);
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
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
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

  it('TAP A+B: the two directions on two ports give the flows of the single-file replay, each with its port', async () => {
    const pcap = join(SHARED_PCAPS_DIR, 'realistic/suricata_tls-browsing.pcap');
    const live = join(tmp.dir, 'tap.ipfix');
    const replayed = join(tmp.dir, 'tap-replayed.ipfix');
    const agent = runTapflow(['run', '-i', lab.outside(0), '-i', lab.outside(1), '--out', live, '--summary-json']);
    let stderr = '';
    agent.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 10_000;
    while ((stderr.match(/capturing on/g) ?? []).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await lab.replayTap(pcap, join(tmp.dir, 'tap.cache'), ['--pps', '20000']);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    agent.child.kill('SIGTERM');
    const run = await agent;
    assert.equal(run.status, 0, run.stderr);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { interfaces: { name: string; ifIndex: number; packetsSeen: number }[] };
    assert.ok(summary.interfaces.every((i) => i.packetsSeen > 0), 'both ports carried traffic');

    assert.equal((await runTapflow(['replay', pcap, '--out', replayed, '--quiet'])).status, 0);
    const diff = differences(ipfixFlowTotals(replayed), ipfixFlowTotals(live));
    assert.deepEqual(diff, [], diff.slice(0, 10).join('\n'));
    // Both directions of a connection are one flow with both counters: a TCP flow with a SYN from
    // one port has its SYN-ACK record from the other.
    const ports = new Set(summary.interfaces.map((i) => i.ifIndex));
    const records = flowRecordsOf(readFileSync(live));
    assert.ok(records.every((r) => ports.has(Number(r.ingressInterface))));
    const byTuple = new Map(records.map((r) => [`${r.sourceIPv4Address ?? r.sourceIPv6Address}|${r.sourceTransportPort}|${r.destinationIPv4Address ?? r.destinationIPv6Address}|${r.destinationTransportPort}`, r]));
    let pairsOnTwoPorts = 0;
    for (const r of records) {
      const reverse = byTuple.get(`${r.destinationIPv4Address ?? r.destinationIPv6Address}|${r.destinationTransportPort}|${r.sourceIPv4Address ?? r.sourceIPv6Address}|${r.sourceTransportPort}`);
      if (reverse && reverse.ingressInterface !== r.ingressInterface) pairsOnTwoPorts++;
    }
    assert.ok(pairsOnTwoPorts > 10, `${pairsOnTwoPorts} record pairs whose directions came on different ports`);
  });

  it('interface down and up during capture: capture resumes by itself and the outage is counted', async () => {
    const pcap = join(SHARED_PCAPS_DIR, 'realistic/zeek_http_bro.org.pcap');
    const agent = runTapflow(['run', '-i', lab.outside(0), '--filter', 'tcp', '--out', join(tmp.dir, 'updown.ipfix'), '--summary-json']);
    let stderr = '';
    agent.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const waitForText = async (text: string) => {
      const deadline = Date.now() + 15_000;
      while (!stderr.includes(text) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(stderr.includes(text), `waited for '${text}' in:\n${stderr}`);
    };
    await waitForText('capturing on');
    await lab.replay(pcap, ['--pps', '20000']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    execFileSync('ip', ['link', 'set', lab.outside(0), 'down']);
    await waitForText('stopped');
    await new Promise((resolve) => setTimeout(resolve, 300));
    execFileSync('ip', ['link', 'set', lab.outside(0), 'up']);
    await waitForText('resumed');
    await lab.replay(pcap, ['--pps', '20000']);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    agent.child.kill('SIGTERM');
    const run = await agent;
    assert.equal(run.status, 0, run.stderr);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { interfaces: { packetsSeen: number; outages: number; outageMs: number }[] };
    const port = summary.interfaces[0]!;
    assert.equal(port.outages, 1);
    assert.ok(port.outageMs > 0);
    assert.equal(port.packetsSeen, 2 * 751, 'every TCP frame of both replays, before and after the outage');
  });

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
