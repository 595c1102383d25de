/**
 * Shared pieces of the fault-injection tests (agent/test/integration/fault-injection.test.ts):
 * the JSON `tapflow run --summary-json` prints at exit, the agent's stderr as it arrives, polling,
 * a tcpreplay that reports how many packets it sent, and IPFIX sequence-number accounting over
 * the messages a collector received (RFC 7011 §3.1: the header's sequence number counts the data
 * records, options data included, sent BEFORE the message, so a gap between two messages is the
 * number of records lost between them).
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { IpfixParser } from '../../src/export/ipfix/message-parser.js';
import type { runTapflow } from './run-tapflow.js';
import type { FlowTotals } from './tshark-truth.js';

const execFileAsync = promisify(execFile);

export type RunningAgent = ReturnType<typeof runTapflow>;

export interface DestinationSummary {
  target: string;
  sent: number;
  dropped: number;
  droppedRecords: number;
  errors: number;
  problem: string | null;
}

/** What `tapflow run --summary-json` prints last (run-summary.ts RunSummary plus destinations). */
export interface RunSummaryJson {
  elapsedMs: number;
  interfaces: { name: string; packetsSeen: number; kernelDropped: number | null; unseenEstimate: number | null; outages: number; outageMs: number }[];
  packetsBeforeStart: number;
  ringDropped: number;
  meter: {
    packets: number;
    meteredPackets: number;
    meteredOctets: number;
    malformedTotal: number;
    ignored: Record<string, number>;
    activeFlows: number;
    records: number;
    export: { messages: number; records: number; optionsRecords: number; destinations: DestinationSummary[] };
  } | null;
  destinations: string[];
}

export function runSummaryOf(stdout: string, stderr: string): RunSummaryJson {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as RunSummaryJson;
  } catch {
    throw new Error(`no JSON summary:\nstdout: ${stdout}\nstderr: ${stderr}`);
  }
}

/** The destination of the final summary whose target contains `part`. */
export function destinationOf(summary: RunSummaryJson, part: string): DestinationSummary {
  const found = summary.meter?.export.destinations.find((d) => d.target.includes(part));
  if (found === undefined) throw new Error(`no destination ${part} in ${JSON.stringify(summary.meter?.export.destinations)}`);
  return found;
}

/** The agent's stderr as it arrives. */
export function watchStderr(agent: RunningAgent): () => string {
  let text = '';
  agent.child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

export async function waitUntil<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 10_000, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}\n${context()}`);
    await sleep(20);
  }
}

/** Polls `count()` until it has not changed for `quietMs` (a collector that stopped receiving). */
export async function waitForQuiet(count: () => number, quietMs: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = count();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) throw new Error(`still changing after ${timeoutMs} ms (${last})`);
    await sleep(20);
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

/** SIGKILL an agent still running (cleanup after a failed assertion). */
export async function killAgent(agent: RunningAgent | null): Promise<void> {
  if (agent !== null && agent.child.exitCode === null && agent.child.signalCode === null) {
    agent.child.kill('SIGKILL');
    await agent.catch(() => undefined);
  }
}

/**
 * tcpreplay inside `namespace` onto `device`; resolves with the packets it says it sent
 * ("Actual: N packets"), an independent count of what went onto the wire.
 */
export async function replayCounted(namespace: string, device: string, pcap: string, args: string[]): Promise<number> {
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', namespace, 'tcpreplay', '-i', device, ...args, pcap]);
  const match = /Actual: (\d+) packets/.exec(stdout);
  if (match === null) throw new Error(`no packet count in tcpreplay's output:\n${stdout}`);
  return Number(match[1]);
}

export function sumOf(totals: FlowTotals): { packets: number; octets: number } {
  let packets = 0;
  let octets = 0;
  for (const value of totals.values()) {
    packets += value.packets;
    octets += value.octets;
  }
  return { packets, octets };
}

/** Every flow's packets and octets times `factor` (a capture replayed `factor` times). */
export function scaled(totals: FlowTotals, factor: number): FlowTotals {
  return new Map([...totals].map(([key, value]) => [key, { packets: value.packets * factor, octets: value.octets * factor }]));
}

export interface SequenceAccount {
  /** Messages carrying records (templates-only messages left out), over every connection. */
  dataMessages: number;
  /** Records received (data and options data). */
  records: number;
  /** Records the sequence numbers say were sent but never arrived, between received messages. */
  gapRecords: number;
  /** Gaps as `after seq S: N records`, for messages. */
  gaps: string[];
  /** A message whose sequence number is below what the previous one implies (a duplicate or reordering). */
  backwards: string[];
  /** Sequence number + records of the last message: the records sent up to and including it. */
  end: number;
}

/**
 * Sequence accounting over IPFIX messages in arrival order, one array per transport session
 * (each parsed with a fresh template cache: a session must carry its own templates, RFC 7011 §8).
 */
export function accountSequence(sessions: readonly (readonly Uint8Array[])[]): SequenceAccount {
  const account: SequenceAccount = { dataMessages: 0, records: 0, gapRecords: 0, gaps: [], backwards: [], end: 0 };
  let expected: number | null = null;
  for (const messages of sessions) {
    const parser = new IpfixParser();
    for (const bytes of messages) {
      const message = parser.parseMessage(bytes, 0);
      if (message.unknownTemplateSets > 0) throw new Error(`a data set with no template on this session (seq ${message.header.sequenceNumber})`);
      if (message.records.length === 0) continue;
      const seq = message.header.sequenceNumber;
      if (expected !== null && seq > expected) {
        account.gapRecords += seq - expected;
        account.gaps.push(`after seq ${expected}: ${seq - expected} records`);
      } else if (expected !== null && seq < expected) {
        account.backwards.push(`seq ${seq}, expected ${expected}`);
      }
      account.dataMessages++;
      account.records += message.records.length;
      expected = seq + message.records.length;
      account.end = expected;
    }
  }
  return account;
}
