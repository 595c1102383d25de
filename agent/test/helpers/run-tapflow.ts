import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './shared-pcaps.js';

export const TAPFLOW_BIN = join(REPO_ROOT, 'agent/bin/tapflow');

export interface TapflowRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (agent/bin/tapflow) as a user would, optionally piping `stdin` into it. The
 * returned promise carries the child process, to send it signals.
 */
export function runTapflow(args: string[], options: { stdin?: NodeJS.ReadableStream; cwd?: string; timeoutMs?: number } = {}): Promise<TapflowRun> & { child: ChildProcess } {
  let child!: ChildProcess;
  const done = new Promise<TapflowRun>((resolve, reject) => {
    child = spawn(process.execPath, [TAPFLOW_BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    if (options.stdin && child.stdin) options.stdin.pipe(child.stdin);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
  return Object.assign(done, { child });
}

/** Parses `tapflow replay --summary-json` output. */
export function replaySummary(run: TapflowRun): {
  packets: number;
  meteredPackets: number;
  meteredOctets: number;
  malformedTotal: number;
  malformed: Record<string, number>;
  records: number;
  flows: number;
  incomplete: boolean;
  files: { path: string; packets: number; error: { code: string; offset: number; message: string } | null }[];
  sampling: { interval: number; method: string; skipped: number };
  export: {
    messages: number;
    records: number;
    optionsRecords: number;
    bytes: number;
    notExportable: number;
    destinations: { target: string; format: string; sent: number; dropped: number; droppedRecords: number; errors: number; problem: string | null; active: boolean }[];
  };
} {
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`no JSON summary (status ${run.status}):\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
}
