/**
 * IPFIX records encoded per second by IpfixMessageBuilder (encoder + message framing, a transport
 * that drops what it is given): the classic templates against the connection templates (TCP
 * metrics and variable-length hints), uniflow and biflow. Rounds alternate the cases; the median
 * is reported with its ratio to the classic uniflow case, measured in the same run.
 */
import { IpfixMessageBuilder, type MessageBuilderOptions } from '../src/export/ipfix/message-builder.js';
import { FlowRecord } from '../src/flow/flow-record.js';
import { fillRecord, NullTransport, randomFlows, seededRandom, withConnection } from '../test/unit/export/export-test-kit.js';
import { formatTable, median } from './bench-format.js';

interface EncodeCase {
  name: string;
  options: Omit<MessageBuilderOptions, 'transports' | 'exportTimeSeconds'>;
  connection: boolean;
}

const CASES: readonly EncodeCase[] = [
  { name: 'classic uniflow (256/257)', options: {}, connection: false },
  { name: 'connection uniflow (270/271)', options: { connectionFields: true, maxHintTextBytes: 64 }, connection: true },
  { name: 'connection biflow (274/275)', options: { connectionFields: true, biflow: true, maxHintTextBytes: 64 }, connection: true },
];

export interface EncodeResult {
  name: string;
  recordsPerSecond: number;
  bytesPerRecord: number;
}

/** 256 prepared records: TCP/UDP with connection metrics and a DNS, HTTP or TLS hint when `connection`. */
function recordPool(connection: boolean): FlowRecord[] {
  const random = seededRandom(5);
  return randomFlows(256, 3).map((flow, i) => {
    const rec = fillRecord(new FlowRecord(), flow);
    rec.reversePackets = rec.packets;
    rec.reverseOctets = rec.octets;
    rec.reverseStartMs = rec.startMs;
    rec.reverseEndMs = rec.endMs;
    return connection ? withConnection(rec, i, random) : rec;
  });
}

function measure(c: EncodeCase, records: number): { recordsPerSecond: number; bytesPerRecord: number } {
  const builder = new IpfixMessageBuilder({ transports: [new NullTransport()], exportTimeSeconds: () => 1_700_000_000, ...c.options });
  const pool = recordPool(c.connection);
  const run = (count: number): void => {
    for (let i = 0; i < count; i++) {
      builder.add(pool[i & 255]!);
      if ((i & 1023) === 1023) builder.flush(1_000_000 + i);
    }
    builder.flush(0);
  };
  run(200_000); // warm-up: optimised code before timing
  const octetsBefore = builder.stats.octets_total;
  const started = process.hrtime.bigint();
  run(records);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const uniflowRecords = records; // the builder is handed whole records; uniflow splitting is not measured here
  return { recordsPerSecond: uniflowRecords / seconds, bytesPerRecord: (builder.stats.octets_total - octetsBefore) / records };
}

export function runIpfixEncodeBench(records: number, rounds: number): EncodeResult[] {
  const samples = new Map<string, { rps: number[]; bytes: number }>();
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? CASES : [...CASES].reverse();
    for (const c of order) {
      const { recordsPerSecond, bytesPerRecord } = measure(c, records);
      const entry = samples.get(c.name) ?? { rps: [], bytes: bytesPerRecord };
      entry.rps.push(recordsPerSecond);
      samples.set(c.name, entry);
    }
  }
  return CASES.map((c) => ({ name: c.name, recordsPerSecond: median(samples.get(c.name)!.rps), bytesPerRecord: samples.get(c.name)!.bytes }));
}

export function formatIpfixEncodeTable(results: readonly EncodeResult[]): string {
  const base = results[0]?.recordsPerSecond ?? 1;
  return formatTable(
    ['templates', 'records/s', 'ratio', 'bytes/record (framing incl.)'],
    results.map((r) => [r.name, Math.round(r.recordsPerSecond).toLocaleString('en-US'), (r.recordsPerSecond / base).toFixed(2), r.bytesPerRecord.toFixed(1)]),
  );
}
