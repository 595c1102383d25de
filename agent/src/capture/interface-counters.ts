import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The kernel's per-interface counters (Linux sysfs, /sys/class/net/<if>/statistics), read to
 * estimate what a live capture missed: npm `cap` does not expose pcap_stats(), so the capture
 * socket's own drop counter is out of reach. Read these on the tick, never per packet (each read
 * opens a handful of files).
 */
export const SYS_CLASS_NET = '/sys/class/net';

export interface InterfaceCounterReading {
  /** Frames the interface received (includes frames our BPF filter later rejected). */
  rxPackets: number;
  /** Frames the interface sent; a capture sees these too. */
  txPackets: number;
  /** Received frames the kernel dropped (no buffer, unknown protocol, ...). */
  rxDropped: number;
  /** Frames the NIC missed (its FIFO overflowed); 0 for virtual interfaces. */
  rxMissedErrors: number;
  /** operstate: 'up', 'down', 'unknown' (usual for tun/lo), 'lowerlayerdown', ... */
  operState: string;
}

export interface DropEstimate {
  /** rxDropped + rxMissedErrors delta: frames lost before any socket could see them. */
  kernelDroppedPackets: number;
  /** Frames the interface handled but the capture did not deliver (never below 0). */
  unseenPackets: number;
  /** kernelDroppedPackets + unseenPackets. */
  estimatedDroppedPackets: number;
}

/** The OS interface index, or -1 when the interface does not exist (or sysfs is absent). */
export function readInterfaceIndex(interfaceName: string, sysRoot = SYS_CLASS_NET): number {
  const text = readTextOrNull(join(sysRoot, interfaceName, 'ifindex'));
  if (text === null) return -1;
  const index = Number.parseInt(text, 10);
  return Number.isInteger(index) && index >= 0 ? index : -1;
}

/** True when the interface has a sysfs entry (Linux), i.e. it exists in this network namespace. */
export function interfaceExists(interfaceName: string, sysRoot = SYS_CLASS_NET): boolean {
  return readInterfaceIndex(interfaceName, sysRoot) >= 0;
}

/** Reads the counters once; null when the interface (or sysfs) is not there. */
export function readInterfaceCounters(interfaceName: string, sysRoot = SYS_CLASS_NET): InterfaceCounterReading | null {
  const dir = join(sysRoot, interfaceName);
  const operState = readTextOrNull(join(dir, 'operstate'));
  if (operState === null) return null;
  const stats = join(dir, 'statistics');
  return {
    rxPackets: readCounter(join(stats, 'rx_packets')),
    txPackets: readCounter(join(stats, 'tx_packets')),
    rxDropped: readCounter(join(stats, 'rx_dropped')),
    rxMissedErrors: readCounter(join(stats, 'rx_missed_errors')),
    operState,
  };
}

/**
 * Estimates the frames a capture lost between two readings, given how many it delivered meanwhile.
 *
 * It is an ESTIMATE, in both directions:
 * - the interface counts every frame, so with a BPF filter the frames the filter rejected show up as
 *   "unseen" (an upper bound, then; exact only with an empty filter);
 * - counters are read at slightly different instants than packetsSeen, so a burst in flight at a
 *   reading lands in one interval or the next;
 * - rx_dropped also counts frames the stack discarded after a capture socket got its copy.
 * A capture sees both directions, so received + sent frames are what it should have delivered.
 * Counters are unsigned longs in the kernel; a reset (interface re-created) gives a negative delta,
 * which is clamped to 0.
 */
export function estimateDrops(
  before: InterfaceCounterReading,
  after: InterfaceCounterReading,
  packetsSeenDelta: number,
): DropEstimate {
  const kernelDroppedPackets =
    nonNegative(after.rxDropped - before.rxDropped) + nonNegative(after.rxMissedErrors - before.rxMissedErrors);
  const handledPackets = nonNegative(after.rxPackets - before.rxPackets) + nonNegative(after.txPackets - before.txPackets);
  const unseenPackets = nonNegative(handledPackets - packetsSeenDelta);
  return { kernelDroppedPackets, unseenPackets, estimatedDroppedPackets: kernelDroppedPackets + unseenPackets };
}

function nonNegative(value: number): number {
  return value > 0 ? value : 0;
}

/** A missing counter file (some drivers omit rx_missed_errors) reads as 0. */
function readCounter(path: string): number {
  const text = readTextOrNull(path);
  if (text === null) return 0;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : 0;
}

function readTextOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}
