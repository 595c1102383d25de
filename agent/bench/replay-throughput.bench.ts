import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../src/config/load.js';
import type { BenchCapture } from './bench-captures.js';
import { formatTable, median } from './bench-format.js';

/**
 * Offline throughput, tapflow vs softflowd, side by side: each tool replays the same capture as a
 * whole process (start-up, reading, metering, IPFIX export and exit included). Runs alternate
 * tool by tool and swap order every round, so drift on a shared machine hits both alike; the
 * median of the rounds is reported.
 */

const TIME_BIN = '/usr/bin/time';
const OUTPUT_KEEP_BYTES = 64 * 1024;

export type Tool = 'tapflow' | 'softflowd';

export interface ProcessRun {
  tool: Tool;
  scenario: string;
  round: number;
  wallMs: number;
  /** From /usr/bin/time; null when it is not installed. */
  cpuS: number | null;
  maxRssKiB: number | null;
  /** Packets the tool says it processed. */
  packets: number | null;
  /** tapflow only: its own elapsedMs (reading to last export, without process start-up). */
  inProcessMs: number | null;
  /** softflowd only: IPFIX datagrams that reached the sink. */
  datagrams: number;
  error: string | null;
}

export interface ThroughputOptions {
  rounds: number;
  repoRoot: string;
  /** Called after every run (progress lines). */
  onRun?: (run: ProcessRun) => void;
}

/** softflowd flags equivalent to tapflow's default config (timeouts in whole seconds, same table size). */
export function softflowdArgs(file: string, collectorPort: number): string[] {
  const t = defaultConfig().flowTable;
  const s = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)));
  return [
    '-r', file,
    '-n', `127.0.0.1:${collectorPort}`,
    '-v', '10', // IPFIX, like tapflow
    '-T', 'full', // 5-tuple flows
    '-6', // track IPv6 too
    '-a', // expire on packet time, as tapflow replay does
    '-m', String(t.maxFlows),
    '-t', `tcp=${s(t.idleTimeoutMs.tcp)}`, '-t', `tcp.fin=${s(t.idleTimeoutMs.tcpFin)}`, '-t', `tcp.rst=${s(t.idleTimeoutMs.tcpRst)}`,
    '-t', `udp=${s(t.idleTimeoutMs.udp)}`, '-t', `icmp=${s(t.idleTimeoutMs.icmp)}`, '-t', `general=${s(t.idleTimeoutMs.other)}`,
    '-t', `maxlife=${s(t.activeTimeoutMs)}`, '-t', `expint=${s(t.expiryTickMs)}`,
  ];
}

export async function runReplayThroughput(captures: readonly BenchCapture[], options: ThroughputOptions): Promise<ProcessRun[]> {
  const workDir = mkdtempSync(join(tmpdir(), 'tapflow-bench-run-'));
  // A collector that drops what it receives: softflowd needs somewhere to send, like a real probe.
  const sink = createSocket('udp4');
  let datagrams = 0;
  sink.on('message', () => datagrams++);
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const port = sink.address().port;
  const mainJs = join(options.repoRoot, 'agent/dist/src/cli/main.js');
  const runs: ProcessRun[] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const capture of captures) {
        const order: Tool[] = round % 2 === 1 ? ['tapflow', 'softflowd'] : ['softflowd', 'tapflow'];
        for (const tool of order) {
          datagrams = 0;
          const run =
            tool === 'tapflow'
              ? await runTapflow(mainJs, capture, join(workDir, 'tapflow.ipfix'), workDir)
              : await runSoftflowd(capture, port, workDir);
          run.round = round;
          run.datagrams = tool === 'softflowd' ? await settle(() => datagrams) : 0;
          if (run.error === null && tool === 'softflowd' && run.datagrams === 0) run.error = 'no IPFIX datagram reached the sink';
          runs.push(run);
          options.onRun?.(run);
        }
      }
    }
  } finally {
    sink.close();
    rmSync(workDir, { recursive: true, force: true });
  }
  return runs;
}

async function runTapflow(mainJs: string, capture: BenchCapture, outFile: string, workDir: string): Promise<ProcessRun> {
  const run = emptyRun('tapflow', capture.scenario);
  if (!existsSync(mainJs)) return { ...run, error: `${mainJs} not built` };
  const result = await timedRun(process.execPath, [mainJs, 'replay', capture.path, '--out', outFile, '--summary-json'], workDir);
  Object.assign(run, result.measures);
  if (result.exitCode !== 0) return { ...run, error: `exit ${result.exitCode}: ${lastLines(result.stderr)}` };
  try {
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as { packets: number; elapsedMs: number; meteredOctets?: number };
    run.packets = summary.packets;
    run.inProcessMs = summary.elapsedMs;
    // A fast wrong answer is no result: the generator knows the IP octets it wrote.
    if (summary.meteredOctets !== undefined && summary.meteredOctets !== capture.truth.ipOctets) {
      return { ...run, error: `metered ${summary.meteredOctets} of ${capture.truth.ipOctets} IP octets` };
    }
  } catch {
    return { ...run, error: `no summary JSON on stdout: ${lastLines(result.stdout)}` };
  }
  if (run.packets !== capture.truth.packets) run.error = `processed ${run.packets} of ${capture.truth.packets} packets`;
  return run;
}

async function runSoftflowd(capture: BenchCapture, port: number, workDir: string): Promise<ProcessRun> {
  const run = emptyRun('softflowd', capture.scenario);
  const result = await timedRun('softflowd', softflowdArgs(capture.path, port), workDir);
  Object.assign(run, result.measures);
  if (result.exitCode !== 0) return { ...run, error: `exit ${result.exitCode}: ${lastLines(result.stderr)}` };
  const processed = /Packets processed: (\d+)/.exec(result.stdout);
  run.packets = processed ? Number(processed[1]) : null;
  if (run.packets !== capture.truth.packets) run.error = `processed ${run.packets} of ${capture.truth.packets} packets`;
  return run;
}

interface TimedResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  measures: Pick<ProcessRun, 'wallMs' | 'cpuS' | 'maxRssKiB'>;
}

/** Runs a command to completion under /usr/bin/time (when present) and measures its wall time here. */
async function timedRun(command: string, args: string[], workDir: string): Promise<TimedResult> {
  const timeFile = join(workDir, 'time.txt');
  rmSync(timeFile, { force: true });
  const useTime = existsSync(TIME_BIN);
  const [file, argv] = useTime ? [TIME_BIN, ['-f', '%e %U %S %M', '-o', timeFile, command, ...args]] : [command, args];
  const started = performance.now();
  const child = spawn(file, argv, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-OUTPUT_KEEP_BYTES)));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-OUTPUT_KEEP_BYTES)));
  const exitCode = await new Promise<number | null>((resolve) => {
    child.on('error', (error) => {
      stderr += String(error);
      resolve(null);
    });
    child.on('close', (code) => resolve(code));
  });
  const wallMs = performance.now() - started;
  let cpuS: number | null = null;
  let maxRssKiB: number | null = null;
  if (useTime && existsSync(timeFile)) {
    // The last line: "%e %U %S %M" (earlier lines may be "Command exited with non-zero status").
    const fields = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
    if (fields.length === 4 && fields.every(Number.isFinite)) {
      cpuS = fields[1]! + fields[2]!;
      maxRssKiB = fields[3]!;
    }
  }
  return { exitCode, stdout, stderr, measures: { wallMs, cpuS, maxRssKiB } };
}

function emptyRun(tool: Tool, scenario: string): ProcessRun {
  return { tool, scenario, round: 0, wallMs: 0, cpuS: null, maxRssKiB: null, packets: null, inProcessMs: null, datagrams: 0, error: null };
}

/** Waits until the sink's count stops changing (datagrams still in flight when softflowd exits). */
async function settle(count: () => number): Promise<number> {
  let last = -1;
  while (count() !== last) {
    last = count();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return last;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}

/** One row per scenario: medians over rounds, packets per second by whole-process wall time. */
export function formatThroughputTable(captures: readonly BenchCapture[], runs: readonly ProcessRun[]): string {
  const rows: string[][] = [];
  for (const capture of captures) {
    const packets = capture.truth.packets;
    const stats = (tool: Tool) => {
      const ok = runs.filter((r) => r.tool === tool && r.scenario === capture.scenario && r.error === null);
      if (ok.length === 0) return null;
      const wallMs = median(ok.map((r) => r.wallMs));
      const cpu = ok.every((r) => r.cpuS !== null) ? median(ok.map((r) => r.cpuS!)) : null;
      const rss = ok.every((r) => r.maxRssKiB !== null) ? median(ok.map((r) => r.maxRssKiB!)) : null;
      const inProcess = ok.every((r) => r.inProcessMs !== null) ? median(ok.map((r) => r.inProcessMs!)) : null;
      return { pps: packets / (wallMs / 1000), wallMs, cpu, rss, inProcessPps: inProcess === null ? null : packets / (inProcess / 1000), runs: ok.length };
    };
    const t = stats('tapflow');
    const s = stats('softflowd');
    const pps = (v: number | undefined | null) => (v == null ? 'n/a' : Math.round(v).toLocaleString('en-US'));
    const secs = (ms: number | undefined) => (ms === undefined ? 'n/a' : (ms / 1000).toFixed(2));
    const cpu = (v: number | null | undefined) => (v == null ? 'n/a' : v.toFixed(2));
    const mib = (v: number | null | undefined) => (v == null ? 'n/a' : (v / 1024).toFixed(0));
    rows.push([
      capture.scenario, packets.toLocaleString('en-US'), pps(t?.pps), pps(s?.pps), t && s ? (t.pps / s.pps).toFixed(2) : 'n/a',
      `${secs(t?.wallMs)} / ${secs(s?.wallMs)}`, `${cpu(t?.cpu)} / ${cpu(s?.cpu)}`, `${mib(t?.rss)} / ${mib(s?.rss)}`, pps(t?.inProcessPps),
    ]);
  }
  return formatTable(
    ['scenario', 'packets', 'tapflow pps', 'softflowd pps', 'ratio', 'wall s (t/s)', 'cpu s (t/s)', 'max RSS MiB (t/s)', 'tapflow in-process pps'],
    rows,
  );
}
