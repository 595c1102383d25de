import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PerformanceObserver } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { CapturedPacket } from '../../../src/capture/captured-packet.js';
import { PacketRing } from '../../../src/capture/packet-ring.js';
import { AgentError } from '../../../src/core/errors.js';
import { type ConsumerReport, type ConsumerSetup, expectedByte, packetLength, type ProducerDone, type RingTestMode, timestampUs } from './packet-ring-worker.js';

const THROUGHPUT_PACKET_BYTES = 64;
const gc = (globalThis as { gc?: () => void }).gc;

/** Writes packet `seq` of the shared generator into `scratch` (only the bytes the ring will keep). */
function fillPacket(scratch: Uint8Array, seq: number, slotBytes: number): number {
  const length = packetLength(seq);
  const kept = length < slotBytes ? length : slotBytes;
  for (let i = 0; i < kept; i++) scratch[i] = expectedByte(seq, i);
  return length;
}

interface Seen {
  seq: number;
  capLen: number;
  wireLen: number;
  tsUs: number;
  interfaceId: number;
  bytesOk: boolean;
  linkType: number;
}

function readSeq(packet: CapturedPacket): number {
  const d = packet.data;
  const at = packet.offset;
  return (d[at]! | (d[at + 1]! << 8) | (d[at + 2]! << 16) | (d[at + 3]! << 24)) >>> 0;
}

/** Test-side copy of what the handler saw (allocates: fine outside the allocation test). */
function collect(ring: PacketRing, maxPackets: number): Seen[] {
  const seen: Seen[] = [];
  ring.drain((packet) => {
    const seq = readSeq(packet);
    let bytesOk = true;
    for (let i = 0; i < packet.capLen; i++) if (packet.data[packet.offset + i] !== expectedByte(seq, i)) bytesOk = false;
    seen.push({ seq, capLen: packet.capLen, wireLen: packet.wireLen, tsUs: packet.tsUs, interfaceId: packet.interfaceId, bytesOk, linkType: packet.linkType });
  }, maxPackets);
  return seen;
}

function pushSeq(ring: PacketRing, scratch: Uint8Array, seq: number): boolean {
  const length = fillPacket(scratch, seq, ring.slotBytes);
  return ring.push(scratch, 0, length, length, timestampUs(seq), seq & 3);
}

describe('PacketRing, one thread', () => {
  it('rejects a bad geometry and a buffer that is not a ring', () => {
    assert.throws(() => PacketRing.create({ slotCount: 1000, slotBytes: 64 }), AgentError);
    assert.throws(() => PacketRing.create({ slotCount: 1, slotBytes: 64 }), AgentError);
    assert.throws(() => PacketRing.create({ slotCount: 16, slotBytes: 0 }), AgentError);
    assert.throws(() => PacketRing.attach(new SharedArrayBuffer(4096)), AgentError);
    const ring = PacketRing.create({ slotCount: 16, slotBytes: 64 });
    assert.throws(() => PacketRing.attach(new SharedArrayBuffer(ring.buffer.byteLength + 8)), AgentError);
  });

  it('delivers in order with every field, truncating to slotBytes, across many wrap-arounds', () => {
    const producer = PacketRing.create({ slotCount: 8, slotBytes: 100, linkType: 113 });
    const consumer = PacketRing.attach(producer.buffer); // the consumer's own view, as in the worker
    assert.equal(consumer.slotCount, 8);
    assert.equal(consumer.slotBytes, 100);
    const scratch = new Uint8Array(512);
    let nextPush = 0;
    let nextExpected = 0;
    // Uneven batches (1..7 pushed, 1..5 drained) so head and tail cross the end at every phase.
    for (let round = 0; round < 2000; round++) {
      for (let k = 0; k < 1 + (round % 7); k++) if (pushSeq(producer, scratch, nextPush)) nextPush++;
      for (const seen of collect(consumer, 1 + (round % 5))) {
        const length = packetLength(nextExpected);
        assert.deepEqual(seen, {
          seq: nextExpected,
          capLen: Math.min(length, 100),
          wireLen: length,
          tsUs: timestampUs(nextExpected),
          interfaceId: nextExpected & 3,
          bytesOk: true,
          linkType: 113,
        });
        nextExpected++;
      }
    }
    for (const seen of collect(consumer, 100)) assert.equal(seen.seq, nextExpected++);
    assert.equal(nextExpected, nextPush);
    assert.ok(nextPush > 8 * 100, `only ${nextPush} packets: not enough wrap-arounds`);
    const truncated = Array.from({ length: nextPush }, (_, seq) => packetLength(seq)).filter((length) => length > 100).length;
    assert.ok(truncated > 100, 'the generator must produce packets longer than slotBytes');
    const stats = producer.stats();
    assert.equal(stats.pushedTotal, nextPush);
    assert.equal(stats.poppedTotal, nextPush);
    assert.equal(stats.queued, 0);
  });

  it('when full, refuses and counts exactly the packets that do not fit', () => {
    const ring = PacketRing.create({ slotCount: 16, slotBytes: 32 });
    const scratch = new Uint8Array(512);
    const results = Array.from({ length: 40 }, (_, seq) => pushSeq(ring, scratch, seq));
    assert.deepEqual(results, [...Array<boolean>(16).fill(true), ...Array<boolean>(24).fill(false)]);
    assert.deepEqual(ring.stats(), { pushedTotal: 16, droppedFullTotal: 24, poppedTotal: 0, queued: 16 });
    assert.deepEqual(collect(ring, 3).map((s) => s.seq), [0, 1, 2]); // frees three slots
    assert.deepEqual([100, 101, 102, 103].map((seq) => pushSeq(ring, scratch, seq)), [true, true, true, false]);
    assert.deepEqual(collect(ring, 1000).map((s) => s.seq), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 100, 101, 102]);
    assert.deepEqual(ring.stats(), { pushedTotal: 19, droppedFullTotal: 25, poppedTotal: 19, queued: 0 });
    assert.equal(collect(ring, 1000).length, 0);
  });

  it('waitForPackets returns at once when packets are queued, and times out when none come', async () => {
    const ring = PacketRing.create({ slotCount: 4, slotBytes: 16 });
    const started = performance.now();
    assert.equal(await ring.waitForPackets(30), 'timed-out');
    assert.ok(performance.now() - started >= 25);
    pushSeq(ring, new Uint8Array(64), 0);
    assert.equal(await ring.waitForPackets(10_000), 'not-equal');
  });

  it(`pushes and drains 1M (2^20) packets after warm-up without a single GC`, { skip: gc === undefined ? 'needs node --expose-gc' : false }, async (t) => {
    const PACKETS = 1 << 20; // a multiple of the 256-packet batch
    const slotBytes = 128;
    const ring = PacketRing.create({ slotCount: 1024, slotBytes });
    // 64 prepared packets of the generator in one buffer, pushed from varying offsets.
    const pool = new Uint8Array(64 * 512);
    for (let seq = 0; seq < 64; seq++) fillPacket(pool.subarray(seq * 512), seq, slotBytes);
    const sink = { bytes: 0, packets: 0 };
    const handler = (packet: CapturedPacket): void => {
      sink.packets++;
      sink.bytes += packet.capLen + packet.data[packet.offset + 1]!;
    };
    const run = (count: number): number => {
      let dropped = 0;
      for (let i = 0; i < count; i += 256) {
        for (let k = 0; k < 256; k++) {
          const seq = (i + k) & 63;
          const length = packetLength(seq);
          if (!ring.push(pool, seq * 512, length, length, timestampUs(i + k), seq & 3)) dropped++;
        }
        ring.drain(handler, 256);
      }
      return dropped;
    };
    for (let call = 0; call < 20; call++) run(20_480);

    let gcs = 0;
    let measuring = false;
    const observer = new PerformanceObserver((list) => {
      if (measuring) gcs += list.getEntries().length;
    });
    observer.observe({ entryTypes: ['gc'] });
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 10)); // the forced collection's entry arrives first
    measuring = true;
    const packetsBefore = sink.packets;
    const started = performance.now();
    const dropped = run(PACKETS);
    const elapsedMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 10));
    observer.disconnect();
    t.diagnostic(`${PACKETS} push+drain (one thread, slotBytes ${slotBytes}): ${elapsedMs.toFixed(1)} ms, ${(PACKETS / elapsedMs / 1000).toFixed(2)} Mpps, ${gcs} GCs`);
    assert.equal(dropped, 0);
    assert.equal(sink.packets - packetsBefore, PACKETS);
    assert.equal(gcs, 0, `${gcs} GCs while pushing and draining 1M packets: something allocates per packet`);
  });

  it('measures push-only and drain-only rates', (t) => {
    const slotCount = 1 << 16;
    const ring = PacketRing.create({ slotCount, slotBytes: 128 });
    const scratch = new Uint8Array(512);
    fillPacket(scratch, 7, 128);
    let sum = 0;
    const handler = (packet: CapturedPacket): void => {
      sum += packet.capLen;
    };
    let pushMs = 0;
    let drainMs = 0;
    const rounds = 16; // 1M packets
    for (let round = 0; round < rounds; round++) {
      const pushStart = performance.now();
      for (let i = 0; i < slotCount; i++) ring.push(scratch, 0, 60 + (i & 63), 60 + (i & 63), timestampUs(i), 0);
      const drainStart = performance.now();
      assert.equal(ring.drain(handler, slotCount), slotCount);
      const end = performance.now();
      if (round >= 2) { // first rounds are warm-up
        pushMs += drainStart - pushStart;
        drainMs += end - drainStart;
      }
    }
    const packets = (rounds - 2) * slotCount;
    t.diagnostic(`push ${(packets / pushMs / 1000).toFixed(2)} Mpps, drain ${(packets / drainMs / 1000).toFixed(2)} Mpps (60..123-byte packets, one thread)`);
    assert.ok(sum > 0);
  });
});

/** Producer in this thread, consumer (packet-ring-worker) in a worker; returns what both saw. */
async function acrossThreads(mode: RingTestMode, packets: number): Promise<{ report: ConsumerReport; ring: PacketRing; refused: number; acceptedSeqSum: number; producerMs: number }> {
  const ring = PacketRing.create({ slotCount: 1024, slotBytes: 256 });
  const worker = new Worker(new URL('./packet-ring-worker.js', import.meta.url), { workerData: { buffer: ring.buffer, mode } satisfies ConsumerSetup });
  try {
    const reportPromise = new Promise<ConsumerReport>((resolve, reject) => {
      worker.on('message', (message: ConsumerReport | 'ready') => {
        if (message !== 'ready') resolve(message);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before reporting`)));
    });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const lossless = mode !== 'lossy';
    const scratch = new Uint8Array(512);
    let refused = 0;
    let acceptedSeqSum = 0;
    const started = performance.now();
    for (let seq = 0; seq < packets; seq++) {
      let length = THROUGHPUT_PACKET_BYTES;
      if (mode === 'throughput') {
        for (let i = 0; i < 4; i++) scratch[i] = expectedByte(seq, i);
      } else {
        length = fillPacket(scratch, seq, 256);
      }
      for (;;) {
        if (ring.push(scratch, 0, length, length, timestampUs(seq), seq & 3)) {
          acceptedSeqSum += seq;
          break;
        }
        refused++;
        if (!lossless) break;
      }
    }
    const producerMs = performance.now() - started;
    const done: ProducerDone = { accepted: packets - (lossless ? 0 : refused) };
    worker.postMessage(done);
    const report = await reportPromise;
    return { report, ring, refused, acceptedSeqSum, producerMs };
  } finally {
    await worker.terminate();
  }
}

describe('PacketRing across threads', () => {
  const PACKETS = 1_000_000;

  it('lossy: every accepted packet arrives intact and in order; pushed + dropped = attempts exactly', async (t) => {
    const { report, ring, refused, acceptedSeqSum, producerMs } = await acrossThreads('lossy', PACKETS);
    const stats = ring.stats();
    t.diagnostic(`lossy 1M into 1024 slots: producer ${producerMs.toFixed(0)} ms, delivered ${report.delivered}, dropped ${refused}, consumer ${report.elapsedMs.toFixed(0)} ms`);
    assert.equal(report.errors, 0, report.firstError);
    assert.equal(report.timeoutsWithFullRing, 0, 'the consumer slept through a full ring');
    assert.equal(stats.pushedTotal + stats.droppedFullTotal, PACKETS);
    assert.equal(stats.droppedFullTotal, refused);
    assert.equal(report.delivered, stats.pushedTotal);
    assert.equal(stats.poppedTotal, stats.pushedTotal);
    assert.equal(report.seqSum, acceptedSeqSum); // with strictly increasing seqs: the same set
    assert.ok(report.delivered >= 1024, `only ${report.delivered} delivered`);
  });

  it('lossless (producer retries when full): all 1M packets arrive intact, in order', async (t) => {
    const { report, ring, refused, producerMs } = await acrossThreads('lossless', PACKETS);
    const stats = ring.stats();
    t.diagnostic(`cross-thread 1M (producer retries): ${producerMs.toFixed(0)} ms, ${(PACKETS / producerMs / 1000).toFixed(2)} Mpps, ${refused} refused pushes`);
    assert.equal(report.errors, 0, report.firstError);
    assert.equal(report.timeoutsWithFullRing, 0, 'the consumer slept through a full ring');
    assert.equal(report.delivered, PACKETS);
    assert.equal(report.seqSum, (PACKETS * (PACKETS - 1)) / 2);
    assert.deepEqual(stats, { pushedTotal: PACKETS, droppedFullTotal: refused, poppedTotal: PACKETS, queued: 0 });
  });

  it('throughput (sequence only, 64-byte packets, producer retries): all 1M arrive in order', async (t) => {
    const { report, ring, refused, producerMs } = await acrossThreads('throughput', PACKETS);
    t.diagnostic(`cross-thread ring rate: ${producerMs.toFixed(0)} ms, ${(PACKETS / producerMs / 1000).toFixed(2)} Mpps, ${refused} refused pushes, consumer waits ${JSON.stringify(report.waits)}`);
    assert.equal(report.errors, 0, report.firstError);
    assert.equal(report.timeoutsWithFullRing, 0, 'the consumer slept through a full ring');
    assert.equal(report.delivered, PACKETS);
    assert.equal(report.seqSum, (PACKETS * (PACKETS - 1)) / 2);
    assert.equal(ring.stats().poppedTotal, PACKETS);
  });
});
