import { formatExportWarnings } from '../export/format-export-warnings.js';
import type { MeterWorkerReport } from './meter-worker-protocol.js';

/** What `tapflow run` reports: per interface, the ring, and the meter's counters. */
export interface RunSummary {
  elapsedMs: number;
  interfaces: {
    name: string;
    ifIndex: number;
    linkType: number;
    /** Frames the capture delivered. */
    packetsSeen: number;
    /** rx_dropped + rx_missed_errors since start (null without sysfs). */
    kernelDropped: number | null;
    /** Frames the interface handled that the capture did not deliver: an upper bound with a BPF filter. */
    unseenEstimate: number | null;
    /** Times capture stopped by itself (interface down) and was reopened, and the time without capture. */
    outages: number;
    outageMs: number;
  }[];
  /** Frames captured before the ring existed (only while a second interface was being waited for). */
  packetsBeforeStart: number;
  /** Packets refused because the ring between capture and meter was full. */
  ringDropped: number;
  ringQueued: number;
  meter: MeterWorkerReport | null;
}

/** One status line for stderr. */
export function formatRunStatus(s: RunSummary): string {
  const seen = s.interfaces.reduce((n, i) => n + i.packetsSeen, 0);
  const pps = Math.round(seen / Math.max(s.elapsedMs / 1000, 0.001));
  const m = s.meter;
  return (
    `tapflow: ${seen} packets (${pps}/s avg), ring dropped ${s.ringDropped}, ` +
    `${m ? `${m.activeFlows} active flows, ${m.records} records exported, ${m.export.messages} messages` : 'meter starting'}`
  );
}

/** The end-of-run report. */
export function formatRunSummary(s: RunSummary, destinations: string[]): string {
  const lines: string[] = [];
  for (const i of s.interfaces) {
    const drops = i.kernelDropped === null ? '' : `, kernel dropped ${i.kernelDropped}, not delivered (estimate) ${i.unseenEstimate}`;
    const outages = i.outages > 0 ? `, ${i.outages} outage(s) totalling ${(i.outageMs / 1000).toFixed(1)} s` : '';
    lines.push(`interface  ${i.name} (ifIndex ${i.ifIndex}, link type ${i.linkType}): ${i.packetsSeen} packets${drops}${outages}`);
  }
  lines.push(`ring       ${s.ringDropped} dropped (full), ${s.ringQueued} left`);
  const m = s.meter;
  if (m) {
    const malformed = Object.entries(m.malformed).map(([k, v]) => `${k}=${v}`).join(', ');
    lines.push(`packets    ${m.packets} metered by the flow meter (${m.meteredPackets} IP, ${m.meteredOctets} octets)`);
    lines.push(`malformed  ${m.malformedTotal}${malformed ? ` (${malformed})` : ''}`);
    lines.push(`flows      ${m.flows} (${m.evictions} evicted), ${m.records} records`);
    lines.push(`export     ${m.export.messages} messages, ${m.export.bytes} bytes → ${destinations.join(', ')}`);
    lines.push(...formatExportWarnings(m.export));
  } else {
    lines.push('meter      no final report (it failed or did not stop in time)');
  }
  lines.push(`elapsed    ${(s.elapsedMs / 1000).toFixed(1)} s`);
  return `${lines.join('\n')}\n`;
}
