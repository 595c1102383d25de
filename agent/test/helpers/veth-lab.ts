import { execFile, execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { hasTool } from './collectors.js';

const execFileAsync = promisify(execFile);

/**
 * A private test network: veth pairs whose outer ends stay in the root namespace (where tapflow
 * captures) and whose inner ends live in a namespace this test run creates, where tcpreplay writes
 * known pcaps. IPv6 is off on every end, so the pairs carry only the replayed frames. Nothing
 * leaves the pairs. Names carry a prefix and the pid; leftovers of crashed runs are removed.
 */
export interface VethLab {
  namespace: string;
  /** Outer (captured) end of pair i. */
  outside(i: number): string;
  /** Inner end of pair i (inside the namespace). */
  inside(i: number): string;
  /** tcpreplay inside the namespace onto inner end(s); extra arguments e.g. ['--pps', '20000']. */
  replay(pcap: string, args: string[]): Promise<void>;
  /**
   * A TAP's two sides: tcpprep splits the pcap by direction (client→server on pair 0,
   * server→client on pair 1) and tcpreplay sends each side on its own pair.
   */
  replayTap(pcap: string, cacheFile: string, args: string[]): Promise<void>;
  remove(): void;
}

export const VETH_LAB_SKIP: string | false =
  process.platform !== 'linux' || process.getuid?.() !== 0
    ? 'live capture needs root on Linux (namespaces, veth, CAP_NET_RAW): skipped'
    : !hasTool('ip') || !hasTool('tcpreplay')
      ? '`ip` (iproute2) or tcpreplay not installed: skipped'
      : false;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // removing something that may not exist
  }
}

/** prefix: at most 5 characters (interface names are limited to 15). */
export function createVethLab(prefix: string, pairs = 1): VethLab {
  removeLeftovers(prefix);
  const namespace = `${prefix}ns${process.pid}`;
  const outside = (i: number) => `${prefix}${process.pid}o${i}`;
  const inside = (i: number) => `${prefix}${process.pid}i${i}`;
  const remove = () => {
    for (let i = 0; i < pairs; i++) quietly(() => ip('link', 'del', outside(i)));
    quietly(() => ip('netns', 'del', namespace));
  };
  try {
    ip('netns', 'add', namespace);
    for (let i = 0; i < pairs; i++) {
      ip('link', 'add', outside(i), 'type', 'veth', 'peer', 'name', inside(i));
      ip('link', 'set', inside(i), 'netns', namespace);
      writeFileSync(`/proc/sys/net/ipv6/conf/${outside(i)}/disable_ipv6`, '1');
      execFileSync('ip', ['netns', 'exec', namespace, 'sysctl', '-qw', `net.ipv6.conf.${inside(i)}.disable_ipv6=1`], { stdio: 'ignore' });
      ip('link', 'set', outside(i), 'up');
      ip('netns', 'exec', namespace, 'ip', 'link', 'set', inside(i), 'up');
    }
  } catch (error) {
    remove();
    throw error;
  }
  return {
    namespace,
    outside,
    inside,
    async replay(pcap, args) {
      await execFileAsync('ip', ['netns', 'exec', namespace, 'tcpreplay', '-q', '-i', inside(0), ...args, pcap]);
    },
    async replayTap(pcap, cacheFile, args) {
      await execFileAsync('tcpprep', ['--auto=client', `--pcap=${pcap}`, `--cachefile=${cacheFile}`]);
      await execFileAsync('ip', ['netns', 'exec', namespace, 'tcpreplay', '-q', `--cachefile=${cacheFile}`, '-i', inside(0), '-I', inside(1), ...args, pcap]);
    },
    remove,
  };
}

function removeLeftovers(prefix: string): void {
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const match of names.matchAll(new RegExp(`^${prefix}ns(\\d+)\\b`, 'gm'))) {
    const pid = match[1]!;
    if (pid === String(process.pid) || existsSync(`/proc/${pid}`)) continue;
    for (let i = 0; i < 4; i++) quietly(() => ip('link', 'del', `${prefix}${pid}o${i}`));
    quietly(() => ip('netns', 'del', `${prefix}ns${pid}`));
  }
}
