/**
 * `tapflow inspect FILE.ipfix [--json]`: print the data records of an IPFIX File (RFC 5655), from
 * tapflow or any other exporter. Table: one aligned row per flow record. JSON: one object per
 * record per line, keyed by IANA element names (values as documented in field-decoder.ts).
 * A corrupt file prints every record before the damage, then the error (with its byte offset) on
 * the error stream, and exits 1.
 */
import type { IpfixValue } from '../export/ipfix/field-decoder.js';
import { FLOW_END_REASON_NAMES } from '../export/ipfix/information-elements.js';
import { readIpfixFile } from '../export/ipfix/ipfix-file-reader.js';
import { IpfixParseError, type ParsedRecord } from '../export/ipfix/message-parser.js';
import { AgentError } from '../core/errors.js';
import { EXIT_INPUT_DAMAGED, EXIT_OK } from './usage-error.js';

/** Exit codes shared with replay: 2 = the input file is unreadable, corrupt or truncated. */
export const INSPECT_EXIT_OK = EXIT_OK;
export const INSPECT_EXIT_FAILED = EXIT_INPUT_DAMAGED;

/** Table rows are aligned in blocks of this many; column widths only grow. */
const TABLE_BLOCK_ROWS = 1_000;
const COLUMNS = ['start', 'end', 'proto', 'src', 'dst', 'packets', 'bytes', 'flags', 'endReason', 'vlan', 'ifIndex'] as const;
const RIGHT_ALIGNED = new Set<string>(['packets', 'bytes', 'vlan', 'ifIndex']);
const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 2: 'IGMP', 6: 'TCP', 17: 'UDP', 47: 'GRE', 50: 'ESP', 58: 'ICMP6', 132: 'SCTP' };
const TCP_FLAG_LETTERS = 'CEUAPRSF';

function first(values: Record<string, IpfixValue>, ...names: string[]): IpfixValue | undefined {
  for (const name of names) if (values[name] !== undefined) return values[name];
  return undefined;
}

function formatTime(ms: IpfixValue | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '-';
  const date = new Date(Math.floor(ms));
  return Number.isNaN(date.getTime()) ? '-' : date.toISOString().replace('T', ' ').replace('Z', '');
}

function endpoint(address: IpfixValue | undefined, port: string): string {
  if (address === undefined) return '-';
  const text = String(address);
  return text.includes(':') ? `[${text}]:${port}` : `${text}:${port}`;
}

export function tcpFlagLetters(bits: number): string {
  let text = '';
  for (let i = 0; i < 8; i++) text += bits & (0x80 >> i) ? TCP_FLAG_LETTERS.charAt(i) : '.';
  return text;
}

function tableRow(values: Record<string, IpfixValue>): string[] {
  const protocol = values.protocolIdentifier;
  const icmp = first(values, 'icmpTypeCodeIPv4', 'icmpTypeCodeIPv6');
  const isIcmp = (protocol === 1 || protocol === 58) && typeof icmp === 'number';
  // ICMP: type.code where the destination port would be (nfdump's convention).
  const dstPort = isIcmp ? `${icmp >> 8}.${icmp & 0xff}` : String(first(values, 'destinationTransportPort') ?? 0);
  const reason = values.flowEndReason;
  const flags = values.tcpControlBits;
  return [
    formatTime(first(values, 'flowStartMilliseconds', 'flowStartSeconds', 'flowStartMicroseconds', 'flowStartNanoseconds')),
    formatTime(first(values, 'flowEndMilliseconds', 'flowEndSeconds', 'flowEndMicroseconds', 'flowEndNanoseconds')),
    typeof protocol === 'number' ? (PROTOCOL_NAMES[protocol] ?? String(protocol)) : '-',
    endpoint(first(values, 'sourceIPv4Address', 'sourceIPv6Address'), String(first(values, 'sourceTransportPort') ?? 0)),
    endpoint(first(values, 'destinationIPv4Address', 'destinationIPv6Address'), dstPort),
    String(first(values, 'packetDeltaCount', 'packetTotalCount') ?? '-'),
    String(first(values, 'octetDeltaCount', 'octetTotalCount') ?? '-'),
    protocol === 6 && typeof flags === 'number' ? tcpFlagLetters(flags) : '-',
    typeof reason === 'number' ? (FLOW_END_REASON_NAMES[reason] ?? String(reason)) : '-',
    String(first(values, 'vlanId', 'dot1qVlanId') ?? '-'),
    String(first(values, 'ingressInterface') ?? '-'),
  ];
}

class TableWriter {
  private readonly widths: number[] = COLUMNS.map((name) => name.length);
  private rows: string[][] = [];
  private headerWritten = false;

  add(row: string[]): boolean {
    this.rows.push(row);
    return this.rows.length >= TABLE_BLOCK_ROWS;
  }

  /** Render buffered rows (and the header before the first block). */
  take(): string {
    for (const row of this.rows) row.forEach((cell, i) => (this.widths[i] = Math.max(this.widths[i] ?? 0, cell.length)));
    let text = '';
    if (!this.headerWritten) {
      text += this.line([...COLUMNS]);
      this.headerWritten = true;
    }
    for (const row of this.rows) text += this.line(row);
    this.rows = [];
    return text;
  }

  private line(cells: string[]): string {
    const padded = cells.map((cell, i) => {
      const width = this.widths[i] ?? 0;
      return RIGHT_ALIGNED.has(COLUMNS[i] ?? '') ? cell.padStart(width) : cell.padEnd(width);
    });
    return `${padded.join('  ').trimEnd()}\n`;
  }
}

function write(out: NodeJS.WritableStream, text: string): Promise<void> | undefined {
  if (text.length === 0 || out.write(text)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done);
    out.on('error', done);
  });
}

export async function runInspect(
  path: string,
  opts: { json: boolean },
  out: NodeJS.WritableStream,
  errors: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const table = new TableWriter();
  let pending = '';
  let dataRecords = 0;
  let optionsRecords = 0;
  let messages = 0;
  // A reader that went away (`| head`: EPIPE) ends the listing quietly instead of crashing.
  let outputGone = false;
  const onOutputError = () => {
    outputGone = true;
  };
  out.on('error', onOutputError);

  const emit = async (record: ParsedRecord): Promise<void> => {
    if (record.kind === 'options') optionsRecords++;
    else dataRecords++;
    if (opts.json) {
      pending += `${JSON.stringify(record.values)}\n`;
      if (pending.length >= 64 * 1024) {
        await write(out, pending);
        pending = '';
      }
    } else if (record.kind === 'data' && table.add(tableRow(record.values))) {
      await write(out, table.take());
    }
  };
  const finish = async (): Promise<void> => {
    await write(out, opts.json ? pending : table.take());
    pending = '';
    if (!opts.json) await write(out, `# ${dataRecords} data records, ${optionsRecords} options records, ${messages} messages\n`);
  };

  try {
    for (const message of readIpfixFile(path)) {
      if (outputGone) return INSPECT_EXIT_OK;
      messages++;
      for (const record of message.records) await emit(record);
    }
    if (!outputGone) await finish();
    return INSPECT_EXIT_OK;
  } catch (error) {
    if (!(error instanceof AgentError)) throw error;
    if (error instanceof IpfixParseError) for (const record of error.recordsBefore) await emit(record);
    await finish();
    await write(errors, `tapflow inspect: ${path}: ${error.message}\n`);
    return INSPECT_EXIT_FAILED;
  } finally {
    out.off('error', onOutputError);
  }
}
