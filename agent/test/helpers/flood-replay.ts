import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, createReadStream, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { IpfixStreamTally, type IpfixTally } from './ipfix-stream-tally.js';
import { replaySummary, TAPFLOW_BIN } from './run-tapflow.js';
import { REPO_ROOT } from './shared-pcaps.js';
import type { CaptureTruth } from './traffic-generator.js';

/**
 * A SYN flood (traffic-generator's new-flow-per-packet: every packet a new flow) streamed through
 * `tapflow replay -` without touching the disk: a worker thread writes the pcap into a FIFO, this
 * thread pipes it into tapflow's stdin (awaiting 'drain': backpressure end to end), and tapflow's
 * `--out` is a second FIFO read here as a stream and tallied message by message. Meanwhile
 * tapflow's VmRSS is sampled from /proc. Five million packets are ~350 MB of pcap and ~700 MB of
 * IPFIX; neither is ever stored.
 */

export interface FloodReplayOptions {
  packets: number;
  seed?: number;
  /** RSS sampling period (default 150 ms). */
  sampleIntervalMs?: number;
  /** tapflow is killed after this long (default 10 min). */
  timeoutMs?: number;
  /** Extra `tapflow replay` arguments. */
  args?: string[];
}

export interface RssSample {
  elapsedMs: number;
  /** pcap bytes handed to tapflow's stdin so far: the run's progress. */
  fedBytes: number;
  rssBytes: number;
  /** VmHWM: the peak RSS so far, including peaks between samples. */
  hwmBytes: number;
}

export type FloodSummary = ReturnType<typeof replaySummary> & {
  evictions: number;
  activeFlows: number;
  recordsByEndReason: Record<string, number>;
  packetsPerSecond: number;
  elapsedMs: number;
};

export interface FloodReplayResult {
  truth: CaptureTruth;
  status: number | null;
  stderr: string;
  summary: FloodSummary;
  /** What the exported IPFIX stream holds. */
  tally: IpfixTally;
  samples: RssSample[];
  fedBytes: number;
  /** tapflow process lifetime, spawn to exit. */
  wallMs: number;
}

export const FLOOD_SEED = 1;

export async function runFloodReplay(options: FloodReplayOptions): Promise<FloodReplayResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tapflow-flood-'));
  const pcapFifo = join(dir, 'flood.pcap');
  const ipfixFifo = join(dir, 'flood.ipfix');
  const made = spawnSync('mkfifo', [pcapFifo, ipfixFifo], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  try {
    return await floodThroughFifos(options, pcapFifo, ipfixFifo);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function floodThroughFifos(options: FloodReplayOptions, pcapFifo: string, ipfixFifo: string): Promise<FloodReplayResult> {
  const started = performance.now();
  const child = spawn(process.execPath, [TAPFLOW_BIN, 'replay', '-', '--out', ipfixFifo, '--summary-json', ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ status: number | null; wallMs: number }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, wallMs: performance.now() - started }));
  });
  const killTimer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);

  let fedBytes = 0;
  const samples: RssSample[] = [];
  const sampler = setInterval(() => {
    const sample = readRss(child.pid!);
    if (sample !== null) samples.push({ elapsedMs: performance.now() - started, fedBytes, ...sample });
  }, options.sampleIntervalMs ?? 150);

  // The export: opening the FIFO waits for tapflow to open it for writing (at start-up).
  const tally = new IpfixStreamTally();
  const exported = readFifo(ipfixFifo, (chunk) => tally.push(chunk));

  const worker = new Worker(new URL('./flood-generator-worker.js', import.meta.url), {
    workerData: { path: pcapFifo, packets: options.packets, seed: options.seed ?? FLOOD_SEED },
  });
  const generated = new Promise<CaptureTruth>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', (error) => {
      releaseFifoReader(pcapFifo); // the reader below may still wait for the worker to open the FIFO
      reject(error);
    });
  });

  // The input: FIFO → tapflow's stdin, waiting for 'drain' when its pipe is full.
  let stdinError: Error | null = null;
  child.stdin.on('error', (error) => (stdinError ??= error));
  // Never throws on tapflow's side (it is reported by its exit status): the FIFO must be read to its
  // end whatever happens, or the worker stays blocked in a write and cannot even be terminated.
  const fed = readFifo(pcapFifo, async (chunk) => {
    if (stdinError !== null || child.exitCode !== null || child.signalCode !== null) return; // tapflow is gone: discard
    fedBytes += chunk.length;
    if (!child.stdin.write(chunk)) await Promise.race([drainedOrClosed(child.stdin), exited.catch(() => undefined)]);
  }).finally(() => child.stdin.end());

  try {
    const [truth, exit] = await Promise.all([generated, exited.finally(() => releaseFifoReader(ipfixFifo)), fed, exported]);
    const summary = replaySummary({ status: exit.status, signal: null, stdout, stderr }) as FloodSummary;
    return { truth, status: exit.status, stderr, summary, tally: tally.end(), samples, fedBytes, wallMs: exit.wallMs };
  } catch (error) {
    throw new Error(`flood replay failed: ${(error as Error).message}\ntapflow stderr: ${stderr}`, { cause: error });
  } finally {
    clearInterval(sampler);
    clearTimeout(killTimer);
    child.kill('SIGKILL');
    await worker.terminate();
  }
}

/** Resolves on 'drain', or once closed (tapflow exited: no 'drain' will come), and leaves no listener behind. */
function drainedOrClosed(stream: NodeJS.WritableStream & NodeJS.EventEmitter & { closed: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) {
      resolve();
      return;
    }
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** Reads a FIFO to its end (all writers closed), awaiting `onChunk` before the next read. */
async function readFifo(path: string, onChunk: (chunk: Buffer) => void | Promise<void>): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) await onChunk(chunk as Buffer);
}

/**
 * A reader blocked opening a FIFO waits for a writer forever: when the writer will never come
 * (tapflow or the worker failed first), opening and closing it for writing ends that read with EOF.
 * Harmless once the reader has its writer (the FIFO stays open while any writer holds it).
 */
function releaseFifoReader(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // ENXIO: no reader waits; ENOENT: cleaned up already.
  }
}

/** VmRSS and VmHWM of a process (null once it is gone). */
function readRss(pid: number): { rssBytes: number; hwmBytes: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const rssBytes = kib('VmRSS');
  return Number.isNaN(rssBytes) ? null : { rssBytes, hwmBytes: kib('VmHWM') };
}

export interface RssProfile {
  /** Share of the input (pcap bytes fed) after which memory must stay flat. */
  warmupShare: number;
  /**
   * The largest RSS while the second half of the warm-up was fed (e.g. 10-20 % of the input): a
   * single sample at the mark could sit in a trough of V8's garbage-collection sawtooth.
   */
  warmupRssBytes: number;
  minRssBytes: number;
  maxRssBytes: number;
  finalRssBytes: number;
  /** VmHWM at the last sample (taken while tapflow still runs): its peak, between samples too. */
  peakRssBytes: number;
  /** The largest RSS after the warm-up, minus warmupRssBytes (negative: it shrank). */
  growthAfterWarmupBytes: number;
  samples: number;
}

/** Summarises the samples; the warm-up is the first `warmupShare` of the input (pcap bytes fed). */
export function rssProfile(samples: readonly RssSample[], totalFedBytes: number, warmupShare = 0.2): RssProfile {
  if (samples.length === 0) throw new Error('no RSS samples');
  const markBytes = totalFedBytes * warmupShare;
  const late = samples.filter((s) => s.fedBytes >= markBytes / 2 && s.fedBytes < markBytes).map((s) => s.rssBytes);
  const after = samples.filter((s) => s.fedBytes >= markBytes).map((s) => s.rssBytes);
  const rss = samples.map((s) => s.rssBytes);
  const warmupRssBytes = late.length > 0 ? Math.max(...late) : (after[0] ?? rss.at(-1)!);
  return {
    warmupShare,
    warmupRssBytes,
    minRssBytes: Math.min(...rss),
    maxRssBytes: Math.max(...rss),
    finalRssBytes: rss.at(-1)!,
    peakRssBytes: samples.at(-1)!.hwmBytes,
    growthAfterWarmupBytes: (after.length > 0 ? Math.max(...after) : warmupRssBytes) - warmupRssBytes,
    samples: samples.length,
  };
}

export const MIB = 1024 * 1024;
