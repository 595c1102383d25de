import { DECODE_STATUS_NAMES } from '../../../src/decode/decode-status.js';
import { HINT_STATUS_NAMES } from '../../../src/hints/app-hints.js';
import type { FuzzCaseResult, FuzzOutcome } from './run-fuzz-case.js';

/** What one case reports to the campaign (a worker posts it; bytes only for a failure). */
export interface FuzzCaseReport {
  index: number;
  source: string;
  mutations: string[];
  fileBytes: number;
  result: FuzzCaseResult;
  /** The case's bytes in hex when it failed (to paste into a regression test), else null. */
  failingHex: string | null;
}

export interface FuzzFailure {
  index: number;
  source: string;
  mutations: string[];
  outcome: FuzzOutcome;
  problems: string[];
  hex: string | null;
}

/** The totals of a campaign: what ran, what it reached, what failed. */
export interface FuzzReport {
  seed: number;
  firstCase: number;
  cases: number;
  seedFiles: number;
  elapsedMs: number;
  casesPerSecond: number;
  outcomes: Record<FuzzOutcome, number>;
  crashes: number;
  hangs: number;
  /** Cases with any broken rule (crashes and hangs included). */
  failedCases: number;
  packets: number;
  meteredPackets: number;
  ipfixMessages: number;
  byErrorCode: Record<string, number>;
  byDecodeStatus: Record<string, number>;
  byHintStatus: Record<string, number>;
  byMutation: Record<string, number>;
  maxCaseMs: number;
  slowestCase: number;
  /** The first failures (at most MAX_LISTED_FAILURES). */
  failures: FuzzFailure[];
}

const MAX_LISTED_FAILURES = 20;

export class FuzzTally {
  readonly report: FuzzReport;

  constructor(seed: number, firstCase: number) {
    this.report = {
      seed, firstCase, cases: 0, seedFiles: 0, elapsedMs: 0, casesPerSecond: 0,
      outcomes: { read: 0, rejected: 0, crash: 0, hang: 0 }, crashes: 0, hangs: 0, failedCases: 0,
      packets: 0, meteredPackets: 0, ipfixMessages: 0,
      byErrorCode: {}, byDecodeStatus: {}, byHintStatus: {}, byMutation: {}, maxCaseMs: 0, slowestCase: -1, failures: [],
    };
  }

  add(caseReport: FuzzCaseReport): void {
    const r = this.report;
    const { result } = caseReport;
    r.cases++;
    r.outcomes[result.outcome]++;
    r.packets += result.packets;
    r.meteredPackets += result.meteredPackets;
    r.ipfixMessages += result.ipfixMessages;
    if (result.errorCode !== null) bump(r.byErrorCode, result.errorCode.replace('TAPFLOW_E_CAPTURE_', '').toLowerCase());
    result.byDecodeStatus.forEach((count, status) => count > 0 && bump(r.byDecodeStatus, DECODE_STATUS_NAMES[status] ?? String(status), count));
    result.byHintStatus.forEach((count, status) => count > 0 && bump(r.byHintStatus, HINT_STATUS_NAMES[status] ?? String(status), count));
    for (const mutation of caseReport.mutations) bump(r.byMutation, mutation);
    if (caseReport.mutations.length === 0) bump(r.byMutation, caseReport.source);
    if (result.elapsedMs > r.maxCaseMs) {
      r.maxCaseMs = result.elapsedMs;
      r.slowestCase = caseReport.index;
    }
    if (result.problems.length > 0) this.fail(caseReport.index, caseReport.source, caseReport.mutations, result.outcome, result.problems, caseReport.failingHex);
  }

  /** A case that never reported (the worker was stopped by the wall-clock watchdog). */
  addHang(index: number, afterMs: number): void {
    this.report.cases++;
    this.report.outcomes.hang++;
    this.fail(index, '(rebuild with generateFuzzCase)', [], 'hang', [`no answer for ${afterMs} ms: worker stopped`], null);
  }

  finish(elapsedMs: number, seedFiles: number): FuzzReport {
    const r = this.report;
    r.elapsedMs = elapsedMs;
    r.seedFiles = seedFiles;
    r.casesPerSecond = elapsedMs > 0 ? Math.round((r.cases / elapsedMs) * 1000) : 0;
    r.crashes = r.outcomes.crash;
    r.hangs = r.outcomes.hang;
    return r;
  }

  private fail(index: number, source: string, mutations: string[], outcome: FuzzOutcome, problems: string[], hex: string | null): void {
    this.report.failedCases++;
    if (this.report.failures.length < MAX_LISTED_FAILURES) this.report.failures.push({ index, source, mutations, outcome, problems, hex });
  }
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}
