import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { CapturedPacket } from '../../src/capture/captured-packet.js';
import { nowUs } from '../../src/capture/capture-clock.js';
import { estimateDrops, readInterfaceCounters, readInterfaceIndex, type InterfaceCounterReading } from '../../src/capture/interface-counters.js';
import { LiveCapture } from '../../src/capture/live-capture.js';
import { hasTool } from '../helpers/collectors.js';
import { readClassicPcap } from '../helpers/read-classic-pcap.js';
import { SHARED_PCAPS_DIR, SHARED_PCAPS_MISSING, sharedPcapsDir } from '../helpers/shared-pcaps.js';
import { createVethLab, VETH_LAB_SKIP, type VethLab } from '../helpers/veth-lab.js';

/**
 * Live capture on a veth pair this test creates: one end stays in the root namespace (captured), the
 * other moves into a private namespace where tcpreplay writes a known pcap onto it. Traffic never
 * leaves the pair. Ground truth is the pcap file itself, read by the test's own reader.
 */
const skipReason = VETH_LAB_SKIP || (sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : false);
const capDropper = hasTool('setpriv') ? 'setpriv' : hasTool('capsh') ? 'capsh' : null;

const PCAP = join(SHARED_PCAPS_DIR, 'realistic/zeek_http_bro.org.pcap');
const SNAPLEN_BYTES = 256;
/** The pair's outer (captured) end; set in before(). */
let ROOT_IF = '';
let lab: VethLab | null = null;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Ethernet + IPv4 + TCP, decided from raw bytes (independent of BPF). */
function isIpv4Tcp(frame: Uint8Array): boolean {
  return frame.length >= 34 && frame[12] === 0x08 && frame[13] === 0x00 && frame[23] === 6;
}

/** Everything a capture delivered, copied out of the borrowed buffer (tests may allocate). */
class Recorder {
  readonly frames: Uint8Array[] = [];
  readonly timesUs: number[] = [];
  readonly linkTypes = new Set<number>();
  readonly interfaceIds = new Set<number>();
  maxCapLen = 0;
  readonly handler = (packet: CapturedPacket): void => {
    this.frames.push(new Uint8Array(packet.data.subarray(packet.offset, packet.offset + packet.capLen)));
    this.timesUs.push(packet.tsUs);
    this.linkTypes.add(packet.linkType);
    this.interfaceIds.add(packet.interfaceId);
    if (packet.capLen > this.maxCapLen) this.maxCapLen = packet.capLen;
    assert.ok(packet.wireLen >= packet.capLen);
  };
}

describe('live capture on a test veth pair', { skip: skipReason }, () => {
  const captures: LiveCapture[] = [];
  let tmp = '';

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tapflow-live-'));
    lab = createVethLab('tfcap');
    ROOT_IF = lab.outside(0);
  });

  after(() => {
    for (const capture of captures) capture.close();
    lab?.remove();
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  function open(recorder: Recorder, filter: string): LiveCapture {
    const capture = new LiveCapture(recorder.handler);
    captures.push(capture);
    capture.open(ROOT_IF, { filter, snapLenBytes: SNAPLEN_BYTES, bufferBytes: 4 * 1024 * 1024 });
    return capture;
  }

  it('delivers every replayed frame, in order, truncated to the snap length, with monotonic wall-clock stamps', async () => {
    const file = readClassicPcap(PCAP);
    assert.ok(file !== null && file.linkType === 1, 'expected an Ethernet classic pcap');
    const expected = file.packets.filter((packet) => isIpv4Tcp(packet.data));
    assert.ok(expected.length > 500, `too few TCP frames in ${PCAP}`);
    assert.ok(await waitFor(() => readInterfaceCounters(ROOT_IF)?.operState === 'up', 3000), 'veth did not come up');

    const tcp = new Recorder();
    const everything = new Recorder();
    const nothing = new Recorder();
    const tcpCapture = open(tcp, 'tcp');
    const allCapture = open(everything, '');
    const noneCapture = open(nothing, 'udp port 7');
    const countersBefore = readInterfaceCounters(ROOT_IF) as InterfaceCounterReading;
    const startUs = nowUs();
    const wallStartUs = Date.now() * 1000;

    await lab!.replay(PCAP, ['--pps=20000']);
    await waitFor(() => tcp.frames.length >= expected.length, 5000);
    await sleep(100); // anything extra (a duplicate) would arrive now
    const endUs = nowUs();
    const wallEndUs = Date.now() * 1000;
    const countersAfter = readInterfaceCounters(ROOT_IF) as InterfaceCounterReading;

    // Count and content: the capture delivers exactly the file's frames, in order, cut at the snap length.
    assert.equal(tcp.frames.length, expected.length);
    assert.equal(tcpCapture.packetsSeenTotal, expected.length);
    for (let i = 0; i < expected.length; i++) {
      const want = (expected[i] as { data: Uint8Array }).data;
      assert.deepEqual(tcp.frames[i], want.subarray(0, Math.min(want.length, SNAPLEN_BYTES)), `frame ${i}`);
    }
    const truncatedExpected = expected.filter((packet) => packet.data.length > SNAPLEN_BYTES).length;
    assert.ok(truncatedExpected > 0, 'the pcap should have frames longer than the snap length');
    assert.equal(tcpCapture.packetsTruncatedTotal, truncatedExpected);
    assert.equal(tcpCapture.bytesCopiedTotal, expected.reduce((sum, p) => sum + Math.min(p.data.length, SNAPLEN_BYTES), 0));
    assert.ok(tcp.maxCapLen <= SNAPLEN_BYTES);
    assert.deepEqual([...tcp.linkTypes], [1]);
    assert.deepEqual([...tcp.interfaceIds], [readInterfaceIndex(ROOT_IF)]);

    // Time: never backwards, inside the replay window, and agreeing with the wall clock to 50 ms.
    for (let i = 1; i < tcp.timesUs.length; i++) {
      assert.ok((tcp.timesUs[i] as number) >= (tcp.timesUs[i - 1] as number), `timestamp ${i} went backwards`);
    }
    assert.ok((tcp.timesUs[0] as number) >= startUs && (tcp.timesUs.at(-1) as number) <= endUs);
    assert.ok(Math.abs((tcp.timesUs[0] as number) - wallStartUs) < 5_000_000, 'first stamp far from now');
    assert.ok(Math.abs(endUs - startUs - (wallEndUs - wallStartUs)) < 50_000, 'clock rate differs from wall clock');
    const spreadUs = (tcp.timesUs.at(-1) as number) - (tcp.timesUs[0] as number);
    assert.ok(spreadUs > 0, 'stamps should spread over the paced replay');

    // A filter that matches nothing delivers nothing while the others see traffic.
    assert.equal(nothing.frames.length, 0);
    assert.equal(noneCapture.packetsSeenTotal, 0);

    // Interface counters move; with an empty filter on a pair that carries only our frames, the drop
    // estimate is exact: every frame the interface received was delivered.
    const rxDelta = countersAfter.rxPackets - countersBefore.rxPackets;
    assert.ok(rxDelta >= expected.length, `rx_packets moved by ${rxDelta}`);
    assert.equal(countersAfter.operState, 'up');
    const allDrops = estimateDrops(countersBefore, countersAfter, allCapture.packetsSeenTotal);
    assert.equal(allDrops.kernelDroppedPackets, 0);
    assert.equal(allDrops.estimatedDroppedPackets, 0, `all-frames capture saw ${allCapture.packetsSeenTotal} of ${rxDelta}`);
    // With the 'udp port 7' filter every frame counts as unseen: the documented upper-bound case.
    assert.equal(estimateDrops(countersBefore, countersAfter, 0).unseenPackets, rxDelta + countersAfter.txPackets - countersBefore.txPackets);

    tcpCapture.close();
    assert.equal(tcpCapture.state, 'closed');
  });

  it('rejects an invalid filter with TAPFLOW_E_CAPTURE_FILTER and a missing interface with TAPFLOW_E_CAPTURE_NO_INTERFACE', () => {
    assert.throws(() => open(new Recorder(), 'tcp and and'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'TAPFLOW_E_CAPTURE_FILTER');
      assert.match(error.message, /tcp and and/);
      return true;
    });
    const missing = `tfcno${process.pid}`;
    assert.throws(() => new LiveCapture(() => {}).open(missing), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'TAPFLOW_E_CAPTURE_NO_INTERFACE');
      assert.match(error.message, new RegExp(missing));
      return true;
    });
    // A failed cap open() leaves a half-built native handle whose destructor aborts node when collected
    // (cap-binding.ts); a full GC here proves the handles are kept alive.
    (globalThis as { gc?: () => void }).gc?.();
  });

  it(
    'without CAP_NET_RAW fails with TAPFLOW_E_CAPTURE_PERMISSION, a how-to-fix message, and no crash',
    { skip: capDropper === null ? 'neither setpriv nor capsh installed: skipped' : false },
    () => {
      const dir = join(tmp, 'child');
      mkdirSync(dir, { recursive: true });
      const script = join(dir, 'open-capture.mjs');
      const moduleUrl = pathToFileURL(join(import.meta.dirname, '../../src/capture/live-capture.js')).href;
      assert.ok(existsSync(new URL(moduleUrl)));
      writeFileSync(
        script,
        `import { LiveCapture } from ${JSON.stringify(moduleUrl)};
try {
  new LiveCapture(() => {}).open(process.argv[2]);
  console.log(JSON.stringify({ opened: true }));
  process.exit(0);
} catch (error) {
  console.log(JSON.stringify({ code: error.code, message: error.message }));
  globalThis.gc?.();
  setTimeout(() => { globalThis.gc?.(); process.exit(3); }, 50);
}
`,
      );
      const nodeArgs = [process.execPath, '--expose-gc', script, ROOT_IF];
      const command =
        capDropper === 'setpriv'
          ? ['setpriv', '--bounding-set=-net_raw,-net_admin', '--inh-caps=-net_raw,-net_admin', ...nodeArgs]
          : ['capsh', '--drop=cap_net_raw,cap_net_admin', '--', '-c', nodeArgs.map((a) => `'${a}'`).join(' ')];
      const child = spawnSync(command[0] as string, command.slice(1), { encoding: 'utf8', timeout: 10_000 });
      assert.equal(child.signal, null, `child died: ${child.stderr}`);
      assert.equal(child.status, 3, `stdout: ${child.stdout}\nstderr: ${child.stderr}`);
      const result = JSON.parse(child.stdout.trim()) as { code: string; message: string };
      assert.equal(result.code, 'TAPFLOW_E_CAPTURE_PERMISSION');
      assert.match(result.message, /CAP_NET_RAW/);
      assert.match(result.message, /setcap cap_net_raw=eip/);
      assert.doesNotMatch(child.stdout + child.stderr, /^\s+at /m, 'no stack trace');
    },
  );
});

describe('interface drop estimate (fake sysfs)', () => {
  it('adds kernel drops to frames the interface handled but the capture did not deliver', () => {
    const root = mkdtempSync(join(tmpdir(), 'tapflow-sysfs-'));
    try {
      const write = (rx: number, tx: number, dropped: number, missed: number | null): InterfaceCounterReading => {
        mkdirSync(join(root, 'eth9/statistics'), { recursive: true });
        writeFileSync(join(root, 'eth9/operstate'), 'up\n');
        writeFileSync(join(root, 'eth9/ifindex'), '7\n');
        writeFileSync(join(root, 'eth9/statistics/rx_packets'), `${rx}\n`);
        writeFileSync(join(root, 'eth9/statistics/tx_packets'), `${tx}\n`);
        writeFileSync(join(root, 'eth9/statistics/rx_dropped'), `${dropped}\n`);
        if (missed === null) rmSync(join(root, 'eth9/statistics/rx_missed_errors'), { force: true });
        else writeFileSync(join(root, 'eth9/statistics/rx_missed_errors'), `${missed}\n`);
        return readInterfaceCounters('eth9', root) as InterfaceCounterReading;
      };
      const before = write(1000, 10, 5, 1);
      assert.deepEqual(before, { rxPackets: 1000, txPackets: 10, rxDropped: 5, rxMissedErrors: 1, operState: 'up' });
      const after = write(1600, 30, 8, 3);
      // 620 frames handled, 600 delivered → 20 unseen; 3 + 2 dropped by kernel/NIC.
      assert.deepEqual(estimateDrops(before, after, 600), { kernelDroppedPackets: 5, unseenPackets: 20, estimatedDroppedPackets: 25 });
      // More delivered than counted (readings race the capture): never a negative drop.
      assert.equal(estimateDrops(before, after, 700).unseenPackets, 0);
      // A driver without rx_missed_errors reads as 0; a counter reset is clamped.
      const reset = write(5, 0, 0, null);
      assert.equal(reset.rxMissedErrors, 0);
      assert.deepEqual(estimateDrops(after, reset, 5), { kernelDroppedPackets: 0, unseenPackets: 0, estimatedDroppedPackets: 0 });
      assert.equal(readInterfaceIndex('eth9', root), 7);
      assert.equal(readInterfaceIndex('nope0', root), -1);
      assert.equal(readInterfaceCounters('nope0', root), null);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
