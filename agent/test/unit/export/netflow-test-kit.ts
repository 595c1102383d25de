/**
 * Test tools for the NetFlow v9/v5 builders: flows as the meter would hand them over, and a tshark
 * (4.0) decode of NetFlow datagrams that keeps each packet's header next to its records.
 *
 * What was learned (tshark 4.0.17): `-d udp.port==PORT,cflow` decodes v5 and v9. Flow times
 * (v9 FIRST/LAST_SWITCHED, v5 First/Last) are shown as uptime seconds ("cflow.timestart":
 * "0.780000000"), not as absolute times, so absolute times are computed here from tshark's own
 * header fields: unix_secs * 1000 + unix_nsecs / 1e6 - sysuptime + timestart. v9 FlowSets appear as
 * "FlowSet N [id=T] ..." objects holding "Flow K" records; v5 records as "pdu K/N". tshark checks
 * the sequence numbers (v9: +1 per packet per source id; v5: + count) and warns on a mismatch.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomFlows, type FlowSnapshot } from './export-test-kit.js';
import { flatten } from '../../helpers/collectors.js';

const execFileAsync = promisify(execFile);

/**
 * randomFlows as the flow table fills them: an ICMP flow's key holds type << 8 | code in dstPort
 * (decode/transport.ts), so dstPort equals icmpTypeCode there.
 */
export function meteredFlows(count: number, seed: number): FlowSnapshot[] {
  return randomFlows(count, seed).map((flow) =>
    flow.protocol === 1 || flow.protocol === 58 ? { ...flow, srcPort: 0, dstPort: flow.icmpTypeCode } : flow,
  );
}

export interface NetflowHeader {
  version: number;
  count: number;
  sysUptimeMs: number;
  unixSecs: number;
  unixNsecs: number;
  sequence: number;
  /** v9 only. */
  sourceId: number;
  /** v5 only. */
  engineType: number;
  engineId: number;
  samplingMode: number;
  sampleRate: number;
}

export interface NetflowFlowSet {
  /** v9 FlowSet id (0 templates, 1 options templates, >= 256 data); -1 for v5 records. */
  id: number;
  /** Flat records: cflow field name → display value. */
  records: Record<string, string>[];
}

export interface NetflowFrame {
  header: NetflowHeader;
  flowSets: NetflowFlowSet[];
}

export interface NetflowDecode {
  frames: NetflowFrame[];
  malformed: number;
  expertErrors: number;
  expertWarnings: number;
  expertMessages: string[];
}

/** tshark's "75808.780000000" (seconds) → integer ms. */
export function secondsTextToMs(text: string | undefined): number {
  const match = /^(-?)(\d+)\.(\d{3})\d*$/.exec(text ?? '');
  if (match === null) return Number.NaN;
  const ms = Number(match[2]) * 1000 + Number(match[3]);
  return match[1] === '-' ? -ms : ms;
}

/** Absolute time of a flow time offset (ms since the epoch) from its packet's header. */
export function absoluteMs(header: NetflowHeader, offsetText: string | undefined): number {
  return header.unixSecs * 1000 + Math.floor(header.unixNsecs / 1e6) - header.sysUptimeMs + secondsTextToMs(offsetText);
}

function recordsOf(flowSet: Record<string, unknown>): Record<string, string>[] {
  const records: Record<string, string>[] = [];
  for (const [key, value] of Object.entries(flowSet)) {
    if (!/^Flow \d+$/.test(key)) continue;
    const record: Record<string, string> = {};
    flatten(value, record);
    records.push(record);
  }
  return records;
}

function frameOf(cflow: Record<string, unknown>): NetflowFrame {
  const scalars: Record<string, string> = {};
  flatten(
    Object.fromEntries(Object.entries(cflow).filter(([key]) => key.startsWith('cflow.'))),
    scalars,
  );
  const num = (key: string) => Number(scalars[key] ?? Number.NaN);
  const header: NetflowHeader = {
    version: num('cflow.version'),
    count: num('cflow.count'),
    sysUptimeMs: secondsTextToMs(scalars['cflow.sysuptime']),
    unixSecs: num('cflow.unix_secs'),
    unixNsecs: Number(scalars['cflow.unix_nsecs'] ?? 0),
    sequence: num('cflow.sequence'),
    sourceId: Number(scalars['cflow.source_id'] ?? Number.NaN),
    engineType: Number(scalars['cflow.engine_type'] ?? Number.NaN),
    engineId: Number(scalars['cflow.engine_id'] ?? Number.NaN),
    samplingMode: Number(scalars['cflow.samplingmode'] ?? Number.NaN),
    sampleRate: Number(scalars['cflow.samplerate'] ?? Number.NaN),
  };
  const flowSets: NetflowFlowSet[] = [];
  const v5Records: Record<string, string>[] = [];
  for (const [key, value] of Object.entries(cflow)) {
    const flowSet = /^FlowSet \d+ \[id=(\d+)\]/.exec(key);
    if (flowSet !== null) {
      flowSets.push({ id: Number(flowSet[1]), records: recordsOf(value as Record<string, unknown>) });
    } else if (/^pdu \d+\/\d+$/.test(key)) {
      const record: Record<string, string> = {};
      flatten(value, record);
      v5Records.push(record);
    }
  }
  if (v5Records.length > 0) flowSets.push({ id: -1, records: v5Records });
  return { header, flowSets };
}

/** Decode a pcap of NetFlow datagrams to `udpPort` with tshark's cflow dissector. */
export async function tsharkDecodeNetflow(pcapPath: string, udpPort: number): Promise<NetflowDecode> {
  const { stdout } = await execFileAsync('tshark', ['-r', pcapPath, '-T', 'json', '-d', `udp.port==${udpPort},cflow`], {
    maxBuffer: 1024 * 1024 * 1024,
  });
  const packets = JSON.parse(stdout.trim() === '' ? '[]' : stdout) as Array<{ _source?: { layers?: { cflow?: Record<string, unknown> } } }>;
  return {
    frames: packets.map((packet) => frameOf(packet._source?.layers?.cflow ?? {})),
    malformed: stdout.split('"_ws.malformed"').length - 1,
    expertErrors: stdout.split(/"_ws\.expert\.severity":\s*"8388608"/).length - 1,
    expertWarnings: stdout.split(/"_ws\.expert\.severity":\s*"6291456"/).length - 1,
    expertMessages: [...stdout.matchAll(/"_ws\.expert\.message":\s*"([^"]*)"/g)].map((match) => match[1] ?? ''),
  };
}

/** Each data record with its packet's header, in order (v9: FlowSets with id >= 256 except `skipIds`). */
export function dataRecords(decode: NetflowDecode, skipIds: readonly number[] = []): Array<{ header: NetflowHeader; record: Record<string, string> }> {
  const out: Array<{ header: NetflowHeader; record: Record<string, string> }> = [];
  for (const frame of decode.frames) {
    for (const flowSet of frame.flowSets) {
      if ((flowSet.id >= 0 && flowSet.id < 256) || skipIds.includes(flowSet.id)) continue;
      for (const record of flowSet.records) out.push({ header: frame.header, record });
    }
  }
  return out;
}

/** nfdump's TCP flag letters for the low 8 bits. */
export function nfdumpFlagLetters(tcpFlags: number): string {
  return [...'CEUAPRSF'].map((letter, bit) => (tcpFlags & (0x80 >> bit) ? letter : '.')).join('');
}
