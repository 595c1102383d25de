import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers/collectors.js';
import { runTapflow } from '../helpers/run-tapflow.js';
import { writeRushDemo } from '../helpers/rush-demo.js';
import { REPO_ROOT } from '../helpers/shared-pcaps.js';
import { flowRecordsOf } from '../helpers/ipfix-totals.js';

const DEMO = join(REPO_ROOT, 'agent/test/fixtures/demo-rush.pcap');
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;

describe('the quick-start demo capture', () => {
  const tmp = tempDir('tapflow-demo-');
  after(() => tmp.remove());

  it('is exactly what the generator writes (reproducible, made here)', () => {
    const fresh = join(tmp.dir, 'demo.pcap');
    writeRushDemo(fresh);
    assert.ok(readFileSync(fresh).equals(readFileSync(DEMO)), 'regenerate with: node agent/dist/test/helpers/rush-demo.js agent/test/fixtures/demo-rush.pcap');
  });

  it('replays on the embedded defaults into records that show each session outcome', async () => {
    const sessions = writeRushDemo(join(tmp.dir, 'again.pcap'));
    const run = await runTapflow(['replay', DEMO], { cwd: tmp.dir });
    assert.equal(run.status, 0, run.stderr);
    const records = flowRecordsOf(readFileSync(join(tmp.dir, 'flows.ipfix')));
    for (const session of sessions.filter((s) => s.ipVersion === 4)) {
      const out = records.filter((r) => r.sourceIPv4Address === session.client && r.sourceTransportPort === session.clientPort && r.destinationTransportPort === 443);
      const back = records.filter((r) => r.destinationIPv4Address === session.client && r.destinationTransportPort === session.clientPort && r.sourceTransportPort === 443);
      const flags = (rs: typeof records) => rs.reduce((f, r) => f | Number(r.tcpControlBits), 0);
      const packets = (rs: typeof records) => rs.reduce((n, r) => n + Number(r.packetDeltaCount), 0);
      assert.equal(packets(out) + packets(back), session.packets, `${session.client}:${session.clientPort}`);
      switch (session.outcome) {
        case 'syn_unanswered':
          assert.equal(back.length, 0);
          assert.equal(flags(out), TCP_SYN);
          assert.equal(packets(out), 3, 'the SYN and its two retries');
          break;
        case 'rejected':
          assert.equal(flags(back) & TCP_RST, TCP_RST);
          break;
        case 'reset_by_server':
          assert.equal(flags(back) & (TCP_RST | TCP_SYN), TCP_RST | TCP_SYN);
          assert.equal(flags(out) & TCP_FIN, 0);
          break;
        case 'completed':
          assert.equal(flags(out) & TCP_FIN, TCP_FIN);
          assert.equal(flags(back) & TCP_FIN, TCP_FIN);
          break;
      }
    }
    assert.match(run.stdout, /records\s+\d+ \(.*endOfFlow=\d+/);
  });
});
