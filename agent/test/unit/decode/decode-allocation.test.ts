import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { decodePacket } from '../../../src/decode/decode-packet.js';
import { DecodeStatus } from '../../../src/decode/decode-status.js';
import { FragmentMap } from '../../../src/decode/fragment-map.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { SWEEP_FIXTURES } from './packet-fixtures.js';

const PACKETS = 1_000_000;
/** Several calls, so `run` itself is optimised as a function and not only entered by on-stack replacement. */
const WARM_UP_CALLS = 20;
const WARM_UP_PACKETS_PER_CALL = 20_000;
/**
 * Four bytes per packet: one object per packet would be >= 16 bytes each, 16 MB here (and
 * scavenges, checked too). What is measured is a few KB of V8 bookkeeping, and on some runs one
 * ~1 MB step that does not grow with the packet count (a page V8 takes while a background
 * compilation lands), so the bound leaves room for that but not for per-packet garbage.
 */
const MAX_GROWTH_BYTES = 4 * 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;

/** Used bytes of the spaces that hold objects: code spaces (filled by background JIT) left out. */
function objectHeapBytes(): number {
  let total = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (!space.space_name.startsWith('code_') && space.space_name !== 'read_only_space') total += space.space_used_size;
  }
  return total;
}

/**
 * decode → fragment attribution for `count` packets cycled from the fixtures; returns OK count.
 * The clock passed to resolve() is the loop index, a small integer: what is measured is the
 * decoder and the map. (A float64 µs timestamp passed to a call V8 did not inline is boxed by the
 * CALLER, 16 bytes per call; see the report on the meter.)
 */
function run(count: number, view: PacketView, fragments: FragmentMap): number {
  let ok = 0;
  const fixtureCount = SWEEP_FIXTURES.length;
  for (let i = 0; i < count; i++) {
    const fixture = SWEEP_FIXTURES[i % fixtureCount]!;
    const bytes = fixture[1];
    if (decodePacket(bytes, 0, bytes.length, bytes.length, fixture[0], view) === DecodeStatus.OK) {
      ok++;
      if (view.isFragment !== 0) fragments.resolve(view, i);
    }
  }
  return ok;
}

describe('decode allocation', { skip: gc === undefined ? 'needs node --expose-gc' : false }, () => {
  it(`decoding ${PACKETS} packets after warm-up allocates (almost) nothing`, async (t) => {
    const view = new PacketView();
    const fragments = new FragmentMap(1024, 1_000_000);
    for (let call = 0; call < WARM_UP_CALLS; call++) run(WARM_UP_PACKETS_PER_CALL, view, fragments);

    // Scavenges (minor GCs) during the run: per-packet garbage would fill the young generation.
    let scavenges = 0;
    let measuring = false;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
        if (measuring && kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 10)); // the forced collection's entry arrives first
    measuring = true;

    const before = objectHeapBytes();
    const started = performance.now();
    const ok = run(PACKETS, view, fragments);
    const elapsedMs = performance.now() - started;
    const growth = objectHeapBytes() - before;
    await new Promise((resolve) => setTimeout(resolve, 10));
    observer.disconnect();

    const bytesPerPacket = growth / PACKETS;
    t.diagnostic(
      `heap growth ${growth} bytes over ${PACKETS} packets = ${bytesPerPacket.toFixed(4)} bytes/packet; ` +
        `${scavenges} scavenges during the run; ${ok} OK; ${((PACKETS / elapsedMs) * 1000).toFixed(0)} packets/s`,
    );
    assert.ok(ok > PACKETS / 2, 'most fixtures decode OK, so the OK path is what was measured');
    assert.ok(fragments.stats.attributed > 0, 'fragment attribution ran');
    assert.equal(scavenges, 0, 'no scavenge during the run');
    assert.ok(growth < MAX_GROWTH_BYTES, `heap grew ${growth} bytes`);
  });
});
