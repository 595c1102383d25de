import type { HealthPayload, StatusPayload, SummaryPayload } from './fleet-messages.js';

/**
 * What `tapflow watch` knows about a fleet: the latest status, health and summary of each probe,
 * keyed by the probeId inside the payload (topic roots are configurable, payloads name their
 * probe). Pure state: time comes in as arguments, nothing here touches the network or a clock.
 */

/** A probe with no message for this many health intervals is 'stale' (it may have died without a will). */
export const STALE_HEALTH_INTERVALS = 3;
/** The health interval assumed until a probe has told us its own (the default cron, every 30 s). */
export const DEFAULT_HEALTH_INTERVAL_MS = 30_000;
/** Probes kept; messages naming further probes are counted as ignored. */
export const MAX_PROBES = 10_000;

export type ProbeLiveness = 'online' | 'offline' | 'stale';
export type MessageKind = 'status' | 'health' | 'summary';

export interface ProbeState {
  probeId: string;
  liveness: ProbeLiveness;
  /** Since when `liveness` holds, as best known (ms since the epoch); null when unknown. */
  sinceMs: number | null;
  /** The probe's last sign of life (ms since the epoch): see FleetView.update. */
  lastHeardMs: number;
  /** The health interval the stale rule uses. */
  healthIntervalMs: number;
  /** Messages accepted for this probe. */
  messages: number;
  status: StatusPayload | null;
  health: HealthPayload | null;
  summary: SummaryPayload | null;
}

export interface FleetViewOptions {
  /** Only this probe; messages of others are counted as `filtered`. */
  probeId?: string | null;
  maxProbes?: number;
}

interface ProbeRecord {
  probeId: string;
  lastHeardMs: number;
  messages: number;
  status: StatusPayload | null;
  /** Receipt time of the status when it arrived live (a transition we saw), null when retained. */
  statusLiveAtMs: number | null;
  health: HealthPayload | null;
  summary: SummaryPayload | null;
}

const SCHEMAS: Record<string, MessageKind> = {
  'tapflow.status/1': 'status',
  'tapflow.health/1': 'health',
  'tapflow.summary/2': 'summary',
};

export class FleetView {
  private readonly records = new Map<string, ProbeRecord>();
  private readonly onlyProbeId: string | null;
  private readonly maxProbes: number;
  private latestMs = 0;
  /** Messages accepted, not understood (garbage, unknown schema, wrong topic), and of other probes. */
  accepted = 0;
  ignored = 0;
  filtered = 0;

  constructor(options: FleetViewOptions = {}) {
    this.onlyProbeId = options.probeId ?? null;
    this.maxProbes = options.maxProbes ?? MAX_PROBES;
  }

  /**
   * Takes one decoded message received at `atMs` (the watcher's clock); true when the view changed.
   * `retained` says the broker replayed it from its store on subscription: its age is then the
   * payload's own time (capped at `atMs`, against a probe clock running ahead), whereas a message
   * arriving live proves the probe alive at `atMs` whatever its clock says.
   */
  update(topic: string, payload: unknown, atMs: number, retained = false): boolean {
    this.latestMs = Math.max(this.latestMs, atMs);
    const kind = messageKind(topic, payload);
    if (kind === null) {
      this.ignored++;
      return false;
    }
    const message = payload as { probeId: string };
    if (this.onlyProbeId !== null && message.probeId !== this.onlyProbeId) {
      this.filtered++;
      return false;
    }
    const record = this.recordFor(message.probeId);
    if (record === null) {
      this.ignored++;
      return false;
    }
    this.accepted++;
    record.messages++;
    const heardMs = retained ? Math.min(sentAtMs(kind, payload), atMs) : atMs;
    if (kind === 'status') {
      record.status = payload as StatusPayload;
      record.statusLiveAtMs = retained ? null : atMs;
      // The broker publishes the last will, not the probe: it is no sign of life.
      if (record.status.state === 'online') record.lastHeardMs = Math.max(record.lastHeardMs, heardMs);
    } else {
      if (kind === 'health') record.health = payload as HealthPayload;
      else record.summary = payload as SummaryPayload;
      record.lastHeardMs = Math.max(record.lastHeardMs, heardMs);
    }
    return true;
  }

  /** Every probe seen, by probeId, with its liveness at `nowMs` (default: the latest update time). */
  probes(nowMs: number = this.latestMs): ProbeState[] {
    return [...this.records.values()].sort((a, b) => (a.probeId < b.probeId ? -1 : a.probeId > b.probeId ? 1 : 0)).map((record) => probeState(record, nowMs));
  }

  private recordFor(probeId: string): ProbeRecord | null {
    const known = this.records.get(probeId);
    if (known !== undefined) return known;
    if (this.records.size >= this.maxProbes) return null;
    const record: ProbeRecord = { probeId, lastHeardMs: 0, messages: 0, status: null, statusLiveAtMs: null, health: null, summary: null };
    this.records.set(probeId, record);
    return record;
  }
}

function probeState(record: ProbeRecord, nowMs: number): ProbeState {
  const { status, health, summary } = record;
  const healthIntervalMs = health !== null && health.seq > 1 && health.intervalS > 0 ? health.intervalS * 1000 : DEFAULT_HEALTH_INTERVAL_MS;
  let liveness: ProbeLiveness;
  let sinceMs: number | null;
  if (status?.state === 'offline') {
    liveness = 'offline';
    // A last will carries the time it was registered (the connection's start), so for a
    // replayed offline status the last health or summary tells more about when the probe went.
    sinceMs = record.statusLiveAtMs ?? Math.max(status.at, health?.at ?? 0, summary?.to ?? 0);
  } else if (record.lastHeardMs === 0 || nowMs - record.lastHeardMs > STALE_HEALTH_INTERVALS * healthIntervalMs) {
    liveness = 'stale';
    sinceMs = record.lastHeardMs === 0 ? null : record.lastHeardMs;
  } else {
    liveness = 'online';
    sinceMs = status?.at ?? null;
  }
  return {
    probeId: record.probeId,
    liveness,
    sinceMs,
    lastHeardMs: record.lastHeardMs,
    healthIntervalMs,
    messages: record.messages,
    status,
    health,
    summary,
  };
}

/**
 * The kind of a fleet message, or null when it is not one: an object with a known schema, a
 * non-empty probeId, the fields the view relies on, and a topic ending in the kind's name.
 */
export function messageKind(topic: string, payload: unknown): MessageKind | null {
  if (!isObject(payload) || typeof payload.schema !== 'string') return null;
  const kind = SCHEMAS[payload.schema];
  if (kind === undefined || (topic !== kind && !topic.endsWith(`/${kind}`))) return null;
  if (typeof payload.probeId !== 'string' || payload.probeId.length === 0) return null;
  return hasRequiredShape(kind, payload) ? kind : null;
}

function hasRequiredShape(kind: MessageKind, p: Record<string, unknown>): boolean {
  switch (kind) {
    case 'status':
      return (p.state === 'online' || p.state === 'offline') && isFiniteNumber(p.at);
    case 'health':
      return (
        isFiniteNumber(p.at) &&
        isFiniteNumber(p.seq) &&
        isFiniteNumber(p.intervalS) &&
        isObject(p.traffic) &&
        isObject(p.flows) &&
        isObject(p.export) &&
        Array.isArray(p.export.destinations) &&
        isObject(p.system) &&
        isObject(p.outbox) &&
        (p.capture === null || (isObject(p.capture) && Array.isArray(p.capture.interfaces)))
      );
    case 'summary':
      return (
        isFiniteNumber(p.from) &&
        isFiniteNumber(p.to) &&
        isObject(p.totals) &&
        isObject(p.totals.tcp) &&
        Array.isArray(p.services) &&
        isObject(p.talkers) &&
        Array.isArray(p.talkers.byOctets)
      );
  }
}

function sentAtMs(kind: MessageKind, payload: unknown): number {
  return kind === 'summary' ? (payload as SummaryPayload).to : (payload as { at: number }).at;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
