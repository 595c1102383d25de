import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createVethLab, VETH_LAB_SKIP, type VethLab } from '../test/helpers/veth-lab.js';
import type { BenchCapture } from './bench-captures.js';
import { softflowdArgs, type Tool } from './replay-throughput.bench.js';

const execFileAsync = promisify(execFile);

/**
 * Live capture, tapflow vs softflowd, side by side: tcpreplay sends the same capture at fixed rates
 * from inside a private namespace onto a veth pair, and each tool captures on the outer end. Per
 * run: what tcpreplay sent, what the tool saw, where the rest was lost, and the tool's CPU over the
 * replay. Each run is a fresh process; tools alternate (the order swaps by rate and by round).
 */

/** Replay rates in packets per second; null is tcpreplay's --topspeed. */
export const LIVE_RATES: readonly (number | null)[] = [50_000, 100_000, 150_000, null];
/** Capture left to drain after tcpreplay returns, inside the CPU window (the tools read in batches). */
const DRAIN_MS = 300;
const READY_TIMEOUT_MS = 15_000;
const OUTPUT_KEEP_BYTES = 64 * 1024;
const TIME_BIN = '/usr/bin/time';

export const LIVE_CAPTURE_SKIP: string | false = VETH_LAB_SKIP;

export interface LiveRun {
  tool: Tool;
  /** Target pps; null for --topspeed. */
  ratePps: number | null;
  round: number;
  /** tcpreplay's own count of packets it sent, and the rate it reports having achieved. */
  sent: number | null;
  sentPps: number | null;
  /** tcpreplay's own user + sys seconds (from /usr/bin/time when installed): it shares the cores. */
  senderCpuS: number | null;
  /** Frames the capture socket took in (tapflow: packetsSeen; softflowd: libpcap's ps_recv - ps_drop). */
  seen: number | null;
  /** Packets that reached flow metering (tapflow: meter.packets; softflowd: processed + ignored). */
  metered: number | null;
  /** tapflow: the interface's rx_dropped + rx_missed; softflowd: libpcap's ps_ifdrop. */
  interfaceDropped: number | null;
  /** tapflow: frames the interface handled but the capture did not deliver; softflowd: libpcap's ps_drop. */
  socketDropped: number | null;
  /** tapflow only: packets refused by the full ring between capture and meter. */
  ringDropped: number | null;
  /** Window from just before tcpreplay starts to DRAIN_MS after it returns. */
  windowMs: number;
  /** user + sys seconds of the whole process over the window. */
  cpuS: number | null;
  /** tapflow only: the main (capture) thread and the meter worker thread. */
  captureThreadCpuS: number | null;
  meterThreadCpuS: number | null;
  error: string | null;
}

export interface LiveOptions {
  rounds: number;
  repoRoot: string;
  onRun?: (run: LiveRun) => void;
}

export async function runLiveCapture(capture: BenchCapture, options: LiveOptions): Promise<LiveRun[]> {
  const workDir = mkdtempSync(join(tmpdir(), 'tapflow-bench-live-'));
  const sink = createSocket('udp4');
  sink.on('message', () => {});
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const mainJs = join(options.repoRoot, 'agent/dist/src/cli/main.js');
  const clockTicksPerS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  let lab: VethLab | null = null;
  const running: { child: ChildProcess | null } = { child: null };
  // An interrupted bench must not leave a namespace or a capturing process behind.
  const cleanUp = () => {
    if (running.child?.exitCode === null) running.child.kill('SIGKILL');
    lab?.remove();
    lab = null;
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanUp();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const runs: LiveRun[] = [];
  try {
    lab = createVethLab('tfbch', 1);
    const env: RunEnv = { lab, capture, workDir, mainJs, port: sink.address().port, clockTicksPerS, track: (child) => (running.child = child) };
    for (let round = 1; round <= options.rounds; round++) {
      for (const [index, ratePps] of LIVE_RATES.entries()) {
        const order: Tool[] = (round + index) % 2 === 1 ? ['tapflow', 'softflowd'] : ['softflowd', 'tapflow'];
        for (const tool of order) {
          const run = emptyRun(tool, ratePps, round);
          try {
            await (tool === 'tapflow' ? measureTapflow(env, run) : measureSoftflowd(env, run));
          } catch (error) {
            run.error ??= error instanceof Error ? error.message.split('\n')[0]! : String(error);
          } finally {
            if (running.child?.exitCode === null) running.child.kill('SIGKILL');
            running.child = null;
          }
          runs.push(run);
          options.onRun?.(run);
        }
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    sink.close();
    cleanUp();
  }
  return runs;
}

interface RunEnv {
  lab: VethLab;
  capture: BenchCapture;
  workDir: string;
  mainJs: string;
  port: number;
  clockTicksPerS: number;
  track(child: ChildProcess): void;
}

async function measureTapflow(env: RunEnv, run: LiveRun): Promise<void> {
  if (!existsSync(env.mainJs)) throw new Error(`${env.mainJs} not built`);
  const args = [env.mainJs, 'run', '-i', env.lab.outside(0), '--out', join(env.workDir, 'live.ipfix'), '--summary-json', '--quiet'];
  const child = started(env, process.execPath, args);
  // The meter worker starts right after this line; give it a moment to load.
  await child.waitFor(/capturing on/);
  await sleep(300);
  const window = await replayWindow(env, child.pid, run);
  run.captureThreadCpuS = window.mainThreadCpuS;
  run.meterThreadCpuS = window.busiestOtherThreadCpuS;
  child.process.kill('SIGTERM');
  const exitCode = await child.exited;
  if (exitCode !== 0) throw new Error(`tapflow exit ${exitCode}: ${lastLines(child.stderr())}`);
  const summary = JSON.parse(child.stdout().trim().split('\n').at(-1) ?? '') as {
    interfaces: { packetsSeen: number; kernelDropped: number | null; unseenEstimate: number | null }[];
    ringDropped: number;
    meter: { packets: number } | null;
  };
  const port = summary.interfaces[0]!;
  run.seen = port.packetsSeen;
  run.interfaceDropped = port.kernelDropped;
  run.socketDropped = port.unseenEstimate;
  run.ringDropped = summary.ringDropped;
  run.metered = summary.meter?.packets ?? null;
}

async function measureSoftflowd(env: RunEnv, run: LiveRun): Promise<void> {
  const control = join(env.workDir, 'softflowd.ctl');
  rmSync(control, { force: true });
  // Same table size and timeouts as the offline bench, minus the file-only -r and -a.
  const offline = softflowdArgs('-', env.port);
  const shared = offline.filter((arg, i) => arg !== '-a' && arg !== '-r' && offline[i - 1] !== '-r');
  const args = ['-i', env.lab.outside(0), '-d', '-c', control, '-p', join(env.workDir, 'softflowd.pid'), ...shared];
  const child = started(env, 'softflowd', args);
  await child.waitFor(/Exporting flows from/);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while ((await softflowdStatistics(control)) === null) {
    if (Date.now() > deadline || child.process.exitCode !== null) throw new Error(`softflowd control socket never answered: ${lastLines(child.stderr())}`);
    await sleep(50);
  }
  await replayWindow(env, child.pid, run);
  // softflowd reads in libpcap batches: wait until its counters stop moving.
  let stats = await softflowdStatistics(control);
  for (let previous = -1; stats !== null && stats.metered !== previous; stats = await softflowdStatistics(control)) {
    previous = stats.metered;
    await sleep(200);
  }
  child.process.kill('SIGTERM');
  await child.exited;
  if (stats === null) throw new Error('softflowctl statistics failed');
  run.seen = stats.received - stats.pcapDropped;
  run.metered = stats.metered;
  run.socketDropped = stats.pcapDropped;
  run.interfaceDropped = stats.interfaceDropped;
}

interface SoftflowdStatistics {
  received: number;
  metered: number;
  pcapDropped: number;
  interfaceDropped: number;
}

/** `softflowctl statistics` over softflowd's control socket; null until the socket answers. */
async function softflowdStatistics(control: string): Promise<SoftflowdStatistics | null> {
  try {
    const { stdout } = await execFileAsync('softflowctl', ['-c', control, 'statistics'], { encoding: 'utf8', timeout: 5000 });
    const count = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? Number.NaN);
    const stats = {
      received: count(/Packets received by libpcap: (\d+)/),
      metered: count(/Packets processed: (\d+)/) + count(/Ignored packets: (\d+)/),
      pcapDropped: count(/Packets dropped by libpcap: (\d+)/),
      interfaceDropped: count(/Packets dropped by interface: (\d+)/),
    };
    return Object.values(stats).every(Number.isFinite) ? stats : null;
  } catch {
    return null;
  }
}

interface WindowCpu {
  mainThreadCpuS: number;
  busiestOtherThreadCpuS: number | null;
}

/** Replays the capture onto the inner end, measuring the tool's CPU from just before to DRAIN_MS after. */
async function replayWindow(env: RunEnv, pid: number, run: LiveRun): Promise<WindowCpu> {
  const rate = run.ratePps === null ? ['--topspeed'] : ['--pps', String(run.ratePps)];
  const before = threadTicks(pid);
  const startedMs = performance.now();
  const timed = existsSync(TIME_BIN) ? [TIME_BIN, '-f', 'sender-cpu %U %S'] : [];
  const { stdout, stderr } = await execFileAsync('ip', ['netns', 'exec', env.lab.namespace, ...timed, 'tcpreplay', '-i', env.lab.inside(0), ...rate, env.capture.path], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const senderCpu = /sender-cpu ([\d.]+) ([\d.]+)/.exec(stderr);
  run.senderCpuS = senderCpu ? Number(senderCpu[1]) + Number(senderCpu[2]) : null;
  await sleep(DRAIN_MS);
  const after = threadTicks(pid);
  run.windowMs = performance.now() - startedMs;
  run.sent = Number(/Successful packets:\s+(\d+)/.exec(stdout)?.[1] ?? Number.NaN);
  run.sentPps = Number(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(stdout)?.[1] ?? Number.NaN);
  if (!Number.isFinite(run.sent)) throw new Error(`no packet count in tcpreplay's output: ${lastLines(stdout)}`);
  const seconds = (ticks: number) => ticks / env.clockTicksPerS;
  run.cpuS = seconds(after.process - before.process);
  let busiest: number | null = null;
  for (const [tid, ticks] of after.threads) {
    if (tid === pid) continue;
    const delta = ticks - (before.threads.get(tid) ?? 0);
    if (busiest === null || delta > busiest) busiest = delta;
  }
  return { mainThreadCpuS: seconds((after.threads.get(pid) ?? 0) - (before.threads.get(pid) ?? 0)), busiestOtherThreadCpuS: busiest === null ? null : seconds(busiest) };
}

/**
 * utime + stime in clock ticks, of the process (all threads, dead ones included) and of each live
 * thread. Node names every thread "node", so the meter worker is told apart by its CPU: the busiest
 * thread besides the main one (V8 GC helpers and libuv's pool stay far below it here).
 */
function threadTicks(pid: number): { process: number; threads: Map<number, number> } {
  const ticks = (statFile: string) => {
    const stat = readFileSync(statFile, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const threads = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(Number(tid), ticks(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { process: ticks(`/proc/${pid}/stat`), threads };
}

interface StartedProcess {
  process: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

function started(env: RunEnv, command: string, args: string[]): StartedProcess {
  const child = spawn(command, args, { cwd: env.workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  env.track(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-OUTPUT_KEEP_BYTES)));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-OUTPUT_KEEP_BYTES)));
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (error) => {
      stderr += String(error);
      resolve(null);
    });
    child.on('close', (code) => resolve(code));
  });
  return {
    process: child,
    pid: child.pid ?? -1,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitFor(pattern) {
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (!pattern.test(`${stdout}${stderr}`)) {
        if (Date.now() > deadline || child.exitCode !== null || child.pid === undefined) {
          throw new Error(`${command} did not start: ${lastLines(stderr)}`);
        }
        await sleep(20);
      }
    },
  };
}

function emptyRun(tool: Tool, ratePps: number | null, round: number): LiveRun {
  return {
    tool, ratePps, round, sent: null, sentPps: null, senderCpuS: null, seen: null, metered: null, interfaceDropped: null, socketDropped: null, ringDropped: null,
    windowMs: 0, cpuS: null, captureThreadCpuS: null, meterThreadCpuS: null, error: null,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}
