/**
 * Consumer side of packet-ring.test.ts: attaches to the ring, drains it and checks every packet
 * against the generator (packetLength / expectedByte / timestampUs below, shared with the test),
 * then posts a ConsumerReport. Started with workerData: ConsumerSetup.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CapturedPacket } from '../../../src/capture/captured-packet.js';
import { PacketRing, type RingWaitOutcome } from '../../../src/capture/packet-ring.js';

/** Generator shared with the producer: what packet `seq` looks like. */
export const BASE_TS_US = 1_700_000_000_000_000;
export function packetLength(seq: number): number {
  return 20 + ((seq * 7) % 400);
}
export function expectedByte(seq: number, index: number): number {
  return index < 4 ? (seq >>> (8 * index)) & 0xff : (seq * 31 + index) & 0xff;
}
export function timestampUs(seq: number): number {
  return BASE_TS_US + seq * 0.25; // quarter-µs steps: exact in float64 at this magnitude
}

export interface ConsumerReport {
  delivered: number;
  /** Sum of the sequence numbers delivered: with strictly increasing order, pins down the set. */
  seqSum: number;
  errors: number;
  firstError: string;
  elapsedMs: number;
  /** How the consumer's waits ended: woken by the producer, timed out, or not needed. */
  waits: Record<RingWaitOutcome, number>;
  /**
   * Waits that timed out and found the ring full: the producer kept pushing and never woke the
   * consumer (a lost wake-up). A healthy ring gives 0: a full ring needs slotCount pushes, and
   * the first one after the consumer announced its wait notifies it.
   */
  timeoutsWithFullRing: number;
}

/**
 * lossy: the producer drops when full (gaps allowed, order strict). lossless: it retries, every
 * seq must arrive. throughput: lossless, but only the sequence (first 4 bytes) is written and
 * checked, so the measured rate is the ring's, not the generator's.
 */
export type RingTestMode = 'lossy' | 'lossless' | 'throughput';
export interface ConsumerSetup {
  buffer: SharedArrayBuffer;
  mode: RingTestMode;
}

/** Sent by the producer when it is finished. */
export interface ProducerDone {
  accepted: number;
}

const state = { delivered: 0, seqSum: 0, lastSeq: -1, errors: 0, firstError: '', lossless: false, fullCheck: true, slotBytes: 0 };

function fail(message: string): void {
  if (state.errors++ === 0) state.firstError = message;
}

function check(packet: CapturedPacket): void {
  const data = packet.data;
  const at = packet.offset;
  const seq = (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
  state.delivered++;
  state.seqSum += seq;
  if (seq <= state.lastSeq || (state.lossless && seq !== state.lastSeq + 1)) fail(`seq ${seq} after ${state.lastSeq}`);
  state.lastSeq = seq;
  if (!state.fullCheck) return;
  const length = packetLength(seq);
  const kept = length < state.slotBytes ? length : state.slotBytes;
  if (packet.capLen !== kept || packet.wireLen !== length) fail(`seq ${seq}: lengths ${packet.capLen}/${packet.wireLen}, want ${kept}/${length}`);
  if (packet.tsUs !== timestampUs(seq)) fail(`seq ${seq}: tsUs ${packet.tsUs}`);
  if (packet.interfaceId !== (seq & 3)) fail(`seq ${seq}: interfaceId ${packet.interfaceId}`);
  for (let i = 4; i < kept; i++) {
    if (data[at + i] !== expectedByte(seq, i)) {
      fail(`seq ${seq}: byte ${i} is ${data[at + i]}`);
      break;
    }
  }
}

async function consume(buffer: SharedArrayBuffer): Promise<ConsumerReport> {
  const ring = PacketRing.attach(buffer);
  state.slotBytes = ring.slotBytes;
  let done: ProducerDone | undefined;
  parentPort!.on('message', (message: ProducerDone) => {
    done = message;
  });
  parentPort!.postMessage('ready');
  const waits: Record<RingWaitOutcome, number> = { ok: 0, 'not-equal': 0, 'timed-out': 0 };
  let timeoutsWithFullRing = 0;
  const started = performance.now();
  for (;;) {
    if (ring.drain(check, 4096) !== 0) continue;
    if (done !== undefined && state.delivered >= done.accepted) break;
    const outcome = await ring.waitForPackets(20);
    waits[outcome]++;
    if (outcome === 'timed-out' && ring.queued() === ring.slotCount) timeoutsWithFullRing++;
  }
  const elapsedMs = performance.now() - started;
  return { delivered: state.delivered, seqSum: state.seqSum, errors: state.errors, firstError: state.firstError, elapsedMs, waits, timeoutsWithFullRing };
}

if (parentPort !== null) {
  const input = workerData as ConsumerSetup;
  state.lossless = input.mode !== 'lossy';
  state.fullCheck = input.mode !== 'throughput';
  void consume(input.buffer).then((report) => parentPort!.postMessage(report));
}
