/**
 * Heap bytes allocated per packet on the hot path after warm-up (style rule 1 says: none). Runs as
 * its own process with --expose-gc, one target per process:
 *
 *   node --expose-gc agent/dist/bench/heap-per-packet.bench.js --file X.pcap --target meter|decode
 *        [--packets N] [--warmup N] [--windows K]
 *
 * The in-memory capture is cycled (timestamps shifted each pass so time keeps moving forward) and
 * one CapturedPacket is refilled per packet. In each window, allocated bytes = heap growth + what
 * every GC in the window freed (v8.GCProfiler), so collections cannot hide allocation; code
 * spaces are left out (optimised code installed by the background compiler is not the packet
 * path allocating), and an empty window measured alike is subtracted. Prints one JSON line with
 * the median window.
 */
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { CapturedPacket } from '../src/capture/captured-packet.js';
import { defaultConfig } from '../src/config/load.js';
import { decodePacket } from '../src/decode/decode-packet.js';
import { DecodeStatus } from '../src/decode/decode-status.js';
import { PacketView } from '../src/decode/packet-view.js';
import type { FlowRecord, FlowRecordSink } from '../src/flow/flow-record.js';
import { FlowMeter, flowMeterOptionsFromConfig } from '../src/meter/flow-meter.js';
import { IpfixMessageBuilder } from '../src/export/ipfix/message-builder.js';
import { UniflowSplitter } from '../src/export/uniflow-splitter.js';
import { NullTransport } from '../test/unit/export/export-test-kit.js';
import { median } from './bench-format.js';
import { InMemoryCapture } from './in-memory-capture.js';

export interface HeapResult {
  target: 'meter' | 'decode' | 'export';
  file: string;
  /** Packets per measured window, and the windows measured. */
  packets: number;
  windows: number;
  warmupPackets: number;
  /** Median over windows (the window with the median allocation), minus the empty window. */
  bytesPerPacket: number;
  minBytesPerPacket: number;
  maxBytesPerPacket: number;
  allocatedBytes: number;
  /** What an empty window measured. */
  baselineBytes: number;
  /** GCs in all windows together, from v8.GCProfiler and from a PerformanceObserver('gc'). */
  gcCount: number;
  observedGcCount: number;
  packetsPerSecond: number;
  /** Packets that decoded OK (decode) / reached the flow table (meter) in the windows: proves the work was done. */
  okPackets: number;
  flowsCreated: number | null;
}

interface WindowMeasure {
  allocatedBytes: number;
  gcCount: number;
  observedGcCount: number;
  elapsedMs: number;
}

/** Discards records: measures the meter, not an exporter. */
class NullSink implements FlowRecordSink {
  records = 0;
  add(_record: FlowRecord): void {
    this.records++;
  }
  flush(_nowMs: number): void {}
}

/** Packets per call, like one read chunk of the capture reader: many calls let `feed` be optimised whole. */
const CHUNK_PACKETS = 4096;

const { values } = parseArgs({
  options: { file: { type: 'string' }, target: { type: 'string' }, packets: { type: 'string' }, warmup: { type: 'string' }, windows: { type: 'string' } },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
if (values.file === undefined || (values.target !== 'meter' && values.target !== 'decode' && values.target !== 'export')) {
  throw new Error('usage: heap-per-packet.bench.js --file X.pcap --target meter|decode|export [--packets N] [--warmup N] [--windows K]');
}
const target = values.target;
const measured = Number(values.packets ?? 2_000_000);
const warmup = Number(values.warmup ?? 500_000);
const windowCount = Number(values.windows ?? 3);
const capture = new InMemoryCapture(values.file);
const packet = new CapturedPacket();
packet.data = capture.data;
packet.linkType = capture.linkType;

const view = new PacketView();
// 'export': the whole path a packet's record takes in `tapflow run`, with the default
// configuration: flow table → uniflow splitter → IPFIX builder (connection templates) → a
// transport that drops the messages (no socket or file: their I/O is not the packet path).
const meter = new FlowMeter(flowMeterOptionsFromConfig(defaultConfig()), target === 'export' ? exportSink() : new NullSink());

function exportSink(): FlowRecordSink {
  const builder = new IpfixMessageBuilder({
    transports: [new NullTransport()],
    exportTimeSeconds: () => 1_700_000_000,
    connectionFields: true,
    maxHintTextBytes: 64,
  });
  return new UniflowSplitter(builder);
}
let cursor = 0;
let shiftUs = 0;
let okPackets = 0;

/** Feeds `count` packets, continuing where the last call stopped. */
function feed(count: number): void {
  const { offsets, capLens, wireLens, tsUs } = capture;
  for (let n = 0; n < count; n++) {
    const i = cursor;
    packet.offset = offsets[i]!;
    packet.capLen = capLens[i]!;
    packet.wireLen = wireLens[i]!;
    packet.tsUs = tsUs[i]! + shiftUs;
    if (target !== 'decode') {
      meter.handlePacket(packet);
    } else if (decodePacket(packet.data, packet.offset, packet.capLen, packet.wireLen, packet.linkType, view) === DecodeStatus.OK) {
      okPackets++;
    }
    if (++cursor === capture.count) {
      cursor = 0;
      shiftUs += capture.spanUs + 1000;
    }
  }
}

function feedInChunks(count: number): void {
  for (let left = count; left > 0; left -= CHUNK_PACKETS) feed(left < CHUNK_PACKETS ? left : CHUNK_PACKETS);
}

// Warm-up through the same measuring path: JIT tiers up (until `feed` itself is optimised, calls
// run in the interpreter and box numbers), inline caches settle, the flow table fills.
await measureWindow(() => feedInChunks(warmup));
const okBefore = target !== 'decode' ? meter.counters.meteredPackets : okPackets;
const baseline = await measureWindow(() => {});
const windows: WindowMeasure[] = [];
for (let w = 0; w < windowCount; w++) windows.push(await measureWindow(() => feedInChunks(measured)));

const perPacket = windows.map((w) => Math.max(0, w.allocatedBytes - baseline.allocatedBytes) / measured);
const bytesPerPacket = median(perPacket);
const result: HeapResult = {
  target,
  file: values.file,
  packets: measured,
  windows: windowCount,
  warmupPackets: warmup,
  bytesPerPacket,
  minBytesPerPacket: Math.min(...perPacket),
  maxBytesPerPacket: Math.max(...perPacket),
  allocatedBytes: Math.round(bytesPerPacket * measured),
  baselineBytes: baseline.allocatedBytes,
  gcCount: windows.reduce((sum, w) => sum + w.gcCount, 0),
  observedGcCount: windows.reduce((sum, w) => sum + w.observedGcCount, 0),
  packetsPerSecond: measured / (median(windows.map((w) => w.elapsedMs)) / 1000),
  okPackets: (target !== 'decode' ? meter.counters.meteredPackets : okPackets) - okBefore,
  flowsCreated: target !== 'decode' ? meter.table.counters.flowsCreated : null,
};
process.stdout.write(`${JSON.stringify(result)}\n`);

/** Runs `work` between two heap readings with every GC in between recorded. */
async function measureWindow(work: () => void): Promise<WindowMeasure> {
  gc!();
  gc!();
  let observedGcCount = 0;
  const observer = new PerformanceObserver((list) => (observedGcCount += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const profiler = new v8.GCProfiler();
  profiler.start();
  const usedBefore = dataHeapBytes(v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size]));
  const started = performance.now();
  work();
  const elapsedMs = performance.now() - started;
  const usedAfter = dataHeapBytes(v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size]));
  const profile = profiler.stop();
  await new Promise((resolve) => setTimeout(resolve, 20)); // the observer delivers asynchronously
  observer.disconnect();
  let freedBytes = 0;
  for (const s of profile.statistics) {
    const spaces = (at: typeof s.beforeGC) => at.heapSpaceStatistics.map((space): [string, number] => [space.spaceName, space.spaceUsedSize]);
    freedBytes += dataHeapBytes(spaces(s.beforeGC)) - dataHeapBytes(spaces(s.afterGC));
  }
  return { allocatedBytes: usedAfter - usedBefore + freedBytes, gcCount: profile.statistics.length, observedGcCount, elapsedMs };
}

/** Used bytes of the spaces that hold objects (code and read-only spaces left out). */
function dataHeapBytes(spaces: readonly (readonly [string, number])[]): number {
  let total = 0;
  for (const [name, used] of spaces) if (!name.startsWith('code_') && name !== 'read_only_space') total += used;
  return total;
}
