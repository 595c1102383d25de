import type { HealthPayload, SummaryPayload } from './fleet-messages.js';
import type { ProbeState } from './fleet-view.js';

/**
 * The fleet as compact aligned text for a terminal: one header line per probe (liveness, since
 * when, version, interfaces), then indented health and summary lines in human units. Every line
 * is cut to `width`. Payload figures are read defensively: a number a probe left out shows as '-'.
 */

export interface RenderOptions {
  /** Terminal columns; lines longer than this are cut with '…'. */
  width: number;
  /** Services listed from each summary (default 5). */
  maxServices?: number;
}

const DEFAULT_MAX_SERVICES = 5;
const MIN_WIDTH = 40;
const MAX_PROBE_ID_COLUMN = 24;
const LABEL_WIDTH = 9;
const INDENT = '  ';

export function renderFleetView(probes: ProbeState[], nowMs: number, options: RenderOptions): string {
  const width = Math.max(MIN_WIDTH, Math.floor(options.width));
  const count = (liveness: ProbeState['liveness']): number => probes.filter((p) => p.liveness === liveness).length;
  const lines = [`${probes.length} probe${probes.length === 1 ? '' : 's'}: ${count('online')} online, ${count('offline')} offline, ${count('stale')} stale   (at ${formatTime(nowMs)})`];
  if (probes.length === 0) lines.push('no probe seen yet');
  const idColumn = Math.min(MAX_PROBE_ID_COLUMN, Math.max(0, ...probes.map((p) => p.probeId.length)));
  for (const probe of probes) {
    lines.push('');
    lines.push(headerLine(probe, nowMs, idColumn));
    if (probe.health !== null) lines.push(...healthLines(probe.health, nowMs));
    if (probe.summary !== null) lines.push(...summaryLines(probe.summary, width, options.maxServices ?? DEFAULT_MAX_SERVICES));
  }
  return `${lines.map((line) => fit(line, width)).join('\n')}\n`;
}

function headerLine(probe: ProbeState, nowMs: number, idColumn: number): string {
  const parts = [probe.probeId.padEnd(idColumn), probe.liveness.toUpperCase().padEnd(7)];
  const status = probe.status;
  const reason = status?.state === 'offline' && typeof status.reason === 'string' ? `, ${status.reason}` : '';
  if (probe.sinceMs === null) parts.push('since ?');
  else parts.push(`${probe.liveness === 'stale' ? 'last heard' : 'since'} ${formatMoment(probe.sinceMs, nowMs)} (${formatDuration(nowMs - probe.sinceMs)} ago${reason})`);
  if (status !== null) {
    parts.push(`v${status.version}`, `${status.mode} ${Array.isArray(status.interfaces) ? status.interfaces.join(',') : '-'}`, `on ${status.hostname}`);
  }
  return parts.join('  ');
}

function healthLines(h: HealthPayload, nowMs: number): string[] {
  const system = h.system;
  const memory = system.memory;
  const memoryText = memory ? `${formatBytes(memory.usedBytes)}/${formatBytes(memory.totalBytes)}` : '-';
  const temperature = finite(system.temperatureC);
  const lines = [
    row('system', [
      `cpu ${formatFixed(system.cpuPercent, 1)}%`,
      `mem ${memoryText}`,
      `temp ${temperature === null ? '-' : `${temperature.toFixed(1)}°C`}`,
      `load ${Array.isArray(system.load) ? formatFixed(system.load[0], 2) : '-'}`,
      `rss ${formatBytes(h.process?.rssBytes)}`,
      `up ${formatDuration(finite(h.uptimeS) === null ? null : h.uptimeS * 1000)}`,
    ]),
    row('traffic', [
      formatPacketRate(h.traffic.packetsPerSecond),
      formatBitRate(h.traffic.bitsPerSecond),
      `malformed ${formatExact(h.traffic.malformedTotal)}`,
      `drops ring ${formatExact(h.capture?.ringDropped)} kernel ${formatExact(kernelDropped(h))} nic ${formatExact(nicDropped(h))}`,
    ]),
  ];
  const destinations = h.export.destinations;
  const exportErrors = sum(destinations.map((d) => d.errors));
  const exportDropped = sum(destinations.map((d) => d.dropped));
  const droppedRecords = sum(destinations.map((d) => d.droppedRecords));
  lines.push(
    row('flows', [`${formatExact(h.flows.active)}/${formatExact(h.flows.capacity)} active`, `${formatCount(h.flows.created)} created`, `evictions ${formatExact(h.flows.evictions)}`]),
    row('export', [
      `${formatCount(h.export.records)} records`,
      `${formatCount(h.export.messages)} msgs`,
      formatBytes(h.export.bytes),
      `errors ${formatExact(exportErrors)}`,
      `dropped ${formatExact(exportDropped)} msgs (${formatExact(droppedRecords)} records)`,
    ]),
    row('outbox', [
      `${formatExact(h.outbox.depth)}/${formatExact(h.outbox.capacity)} queued`,
      `${formatExact(h.outbox.dropped)} dropped`,
      `health #${formatExact(h.seq)} ${formatDuration(nowMs - h.at)} ago${h.final ? ' (final)' : ''}`,
    ]),
  );
  for (const d of destinations) if (typeof d.problem === 'string' && d.problem !== '') lines.push(`${INDENT}! ${d.target}: ${d.problem}`);
  return lines;
}

function summaryLines(s: SummaryPayload, width: number, maxServices: number): string[] {
  const t = s.totals;
  const lines = [
    row('summary', [
      `${formatClock(s.from)}–${formatClock(s.to)}Z (${formatDuration(s.to - s.from)})${s.final ? ' final' : ''}:`,
      `${formatCount(t.records)} records`,
      `${formatCount(t.connections)} conns`,
      `${formatCount(t.packets)} pkts`,
      formatBytes(t.octets),
    ]),
    row('tcp', [
      `completed ${formatExact(t.tcp.completed)}`,
      `reset ${formatExact(t.tcp.resetByClient)}+${formatExact(t.tcp.resetByServer)}`, // by client + by server
      `rejected ${formatExact(t.tcp.rejected)}`,
      `unanswered ${formatExact(t.tcp.synUnanswered)}`,
      `idle ${formatExact(t.tcp.idle)}`,
      `open ${formatExact(t.tcp.openAtEnd)}`,
      `midstream ${formatExact(t.tcp.midStream)}`,
    ]),
    row('', [
      `handshake ${formatQuantiles(t.tcp.handshakeRtt)}`,
      `server ${formatQuantiles(t.tcp.handshakeServerRtt)}`,
      `response ${formatQuantiles(t.tcp.serverResponse)}`,
      `retrans ${formatPercent(t.tcp.retransmissionRate)}`,
    ]),
  ];
  const services = s.services.slice(0, maxServices);
  const serviceColumn = Math.max(0, ...services.map((v) => serviceName(v).length));
  services.forEach((v, i) => {
    const tcp = v.protocol === 6;
    const outcomes = tcp
      ? `  completed ${formatExact(v.completed)}  reset ${formatSum(v.resetByClient, v.resetByServer)}  rejected ${formatExact(v.rejected)}`
      : '';
    const text = `${serviceName(v).padEnd(serviceColumn)}  ${formatCount(v.connections).padStart(6)} conns  ${formatBytes(v.octets).padStart(9)}${outcomes}`;
    lines.push(row(i === 0 ? 'services' : '', [text]));
    // The rest of a TCP service on a line of its own: handshake RTT and response time p50/p95.
    if (tcp) {
      lines.push(row('', [`  unanswered ${formatExact(v.synUnanswered)}`, `rtt ${formatQuantiles(v.handshakeRtt)}`, `resp ${formatQuantiles(v.serverResponse)}`, `retrans ${formatPercent(v.retransmissionRate)}`]));
    }
  });
  // Talkers fill one line: as many as fit the width.
  const talkers = s.talkers.byOctets.map((v) => `${v.address} ${formatBytes(v.value)}`);
  let line = row('talkers', []);
  for (const [i, talker] of talkers.entries()) {
    const next = i === 0 ? `${line}${talker}` : `${line}  ${talker}`;
    if (next.length > width && i > 0) break;
    line = next;
  }
  if (talkers.length > 0) lines.push(line);
  return lines;
}

function serviceName(v: SummaryPayload['services'][number]): string {
  const address = typeof v.address === 'string' && v.address.includes(':') ? `[${v.address}]` : String(v.address);
  return `${address}:${v.port}/${protocolName(v.protocol)}`;
}

function protocolName(protocol: number): string {
  return protocol === 6 ? 'tcp' : protocol === 17 ? 'udp' : protocol === 132 ? 'sctp' : String(protocol);
}

function kernelDropped(h: HealthPayload): number | null {
  if (h.capture === null) return null;
  const known = h.capture.interfaces.map((i) => i.kernelDropped).filter((n): n is number => typeof n === 'number');
  return known.length === 0 ? null : sum(known);
}

function nicDropped(h: HealthPayload): number | null {
  return Array.isArray(h.system.nics) ? sum(h.system.nics.map((n) => n.rxDropped)) : null;
}

function row(label: string, parts: string[]): string {
  return `${INDENT}${label.padEnd(LABEL_WIDTH)}${parts.join('  ')}`;
}

function fit(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

function sum(values: unknown[]): number {
  let total = 0;
  for (const value of values) total += finite(value) ?? 0;
  return total;
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

// Human units. Rates are decimal (network convention), sizes binary (IEC), error counts exact.

/** One decimal below 100 of a unit, none above (1.2 GiB, 12.3 Mb/s, 123 kpps); base units are whole. */
function scaled(value: number, units: string[], base: number): string {
  let unit = 0;
  // Rounding decides the unit too: 999 960 b/s is '1.0 Mb/s', not '1000 kb/s'.
  while (unit < units.length - 1 && Math.abs(Number(value.toFixed(unit === 0 ? 0 : 1))) >= base) {
    value /= base;
    unit++;
  }
  const digits = unit === 0 || Math.abs(Number(value.toFixed(1))) >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

export function formatBitRate(bitsPerSecond: unknown): string {
  const v = finite(bitsPerSecond);
  return v === null ? '- b/s' : scaled(v, ['b/s', 'kb/s', 'Mb/s', 'Gb/s', 'Tb/s'], 1000);
}

export function formatPacketRate(packetsPerSecond: unknown): string {
  const v = finite(packetsPerSecond);
  return v === null ? '- pps' : scaled(v, ['pps', 'kpps', 'Mpps', 'Gpps'], 1000);
}

export function formatBytes(bytes: unknown): string {
  const v = finite(bytes);
  return v === null ? '-' : scaled(v, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], 1024);
}

/** Totals: exact below 10 000, then 12.3 k, 4.6 M. */
export function formatCount(count: unknown): string {
  const v = finite(count);
  if (v === null) return '-';
  return Math.abs(v) < 10_000 ? String(Math.round(v)) : scaled(v, ['', 'k', 'M', 'G', 'T'], 1000);
}

function formatExact(count: unknown): string {
  const v = finite(count);
  return v === null ? '-' : String(v);
}

function formatSum(a: unknown, b: unknown): string {
  const x = finite(a);
  const y = finite(b);
  return x === null || y === null ? '-' : String(x + y);
}

/** A latency in µs as '850µs', '12.3ms', '1.23s'; '-' when absent. */
export function formatMicros(us: unknown): string {
  const v = finite(us);
  if (v === null) return '-';
  if (v < 1000) return `${Math.round(v)}µs`;
  if (v < 1_000_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)}ms`;
  return `${(v / 1_000_000).toFixed(2)}s`;
}

/** p50/p95 of a LatencyQuantiles: '12.3ms/45.6ms'; '-' when there were no samples (or an older probe sent none). */
function formatQuantiles(q: unknown): string {
  if (typeof q !== 'object' || q === null) return '-';
  const { p50Us, p95Us } = q as { p50Us?: unknown; p95Us?: unknown };
  return finite(p50Us) === null ? '-' : `${formatMicros(p50Us)}/${formatMicros(p95Us)}`;
}

function formatPercent(rate: unknown): string {
  const v = finite(rate);
  return v === null ? '-' : `${(v * 100).toFixed(2)}%`;
}

function formatFixed(value: unknown, digits: number): string {
  const v = finite(value);
  return v === null ? '-' : v.toFixed(digits);
}

/** '45s', '5m 03s', '3h 12m', '2d 04h'; negative ages (a probe clock ahead of ours) read as 0s. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d ${two(Math.floor(s / 3600) % 24)}h`;
}

/** The time of day when on the same (UTC) day as `nowMs`, else the date too. */
function formatMoment(ms: number, nowMs: number): string {
  const full = formatTime(ms);
  return full.slice(0, 10) === formatTime(nowMs).slice(0, 10) ? full.slice(11) : full;
}

/** UTC, to the second: '2024-05-01 12:00:03Z'. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function formatClock(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 19) : '-';
}
