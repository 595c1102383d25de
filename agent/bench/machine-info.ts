import { readFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, release, totalmem, type } from 'node:os';

export interface MachineInfo {
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  kernel: string;
  memoryGiB: number;
  /** 1-minute load average at start (a busy shared machine makes every figure slower). */
  loadAverage1m: number | null;
}

/** What every benchmark run prints first, so figures can be compared across machines. */
export function machineInfo(): MachineInfo {
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    kernel: `${type()} ${release()} ${arch()}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage1m: readLoadAverage(),
  };
}

export function formatMachineInfo(info: MachineInfo): string {
  const load = info.loadAverage1m === null ? '' : `, load ${info.loadAverage1m.toFixed(2)}`;
  return `Node ${info.node} (V8 ${info.v8}) · ${info.cpu} · ${info.cores} cores · ${info.memoryGiB} GiB · ${info.kernel}${load}`;
}

function readLoadAverage(): number | null {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}
