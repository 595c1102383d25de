import { loadavg } from 'node:os';
import si from 'systeminformation';
import { readInterfaceCounters } from '../capture/interface-counters.js';
import type { SystemHealth } from './fleet-messages.js';

/** File systems that say nothing about the probe's storage. */
const PSEUDO_FILESYSTEMS = new Set(['tmpfs', 'devtmpfs', 'squashfs', 'overlay', 'ramfs', 'proc', 'sysfs']);
const MAX_DISKS = 8;

/**
 * Reads the machine's figures through systeminformation, each reading raced against a timeout:
 * a slow one (a temperature sensor behind a hung driver, a stalled NFS mount) is reported as
 * timed out and null, never holding up the health message. It runs on the main thread's event
 * loop as async I/O; the packet path is not involved. Readings that outlive their timeout finish
 * in the background and are discarded.
 */
export async function sampleSystemHealth(nicNames: readonly string[], timeoutMs: number): Promise<SystemHealth> {
  const started = Date.now();
  const timedOut: string[] = [];
  const within = <T>(name: string, reading: Promise<T>): Promise<T | null> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timedOut.push(name);
        resolve(null);
      }, timeoutMs);
      timer.unref();
      reading.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        () => {
          clearTimeout(timer);
          resolve(null);
        },
      );
    });

  const [load, memory, temperature, disks, nics] = await Promise.all([
    within('cpu', si.currentLoad()),
    within('memory', si.mem()),
    within('temperature', si.cpuTemperature()),
    within('disks', si.fsSize()),
    nicNames.length > 0 ? within('nics', si.networkStats(nicNames.join(','))) : Promise.resolve([]),
  ]);
  return {
    cpuPercent: load ? round2(load.currentLoad) : null,
    load: loadavg().map(round2),
    memory: memory ? { totalBytes: memory.total, usedBytes: memory.active, availableBytes: memory.available } : null,
    // null where the machine has no sensor (VMs); a Pi reports its SoC temperature.
    temperatureC: temperature && typeof temperature.main === 'number' && temperature.main > -273 ? temperature.main : null,
    disks: disks
      ? disks
          .filter((d) => !PSEUDO_FILESYSTEMS.has(d.type))
          .slice(0, MAX_DISKS)
          .map((d) => ({ mount: d.mount, sizeBytes: d.size, usedBytes: d.used, usePercent: round2(d.use) }))
      : null,
    nics: nics
      ? nics.map((n) => ({
          name: n.iface,
          rxBytes: n.rx_bytes,
          // systeminformation has no packet counter; sysfs does (the same source it reads).
          rxPackets: readInterfaceCounters(n.iface)?.rxPackets ?? null,
          rxDropped: n.rx_dropped,
          rxErrors: n.rx_errors,
          txBytes: n.tx_bytes,
        }))
      : null,
    timedOut,
    sampleMs: Date.now() - started,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
