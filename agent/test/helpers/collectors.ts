/**
 * Independent IPFIX collectors for tests: nfcapd/nfdump 1.7.1 and tshark 4.0, plus an in-process
 * UDP receiver that keeps the datagrams exactly as they arrived.
 *
 * What was learned (tshark 4.0.17, nfdump 1.7.1):
 * - tshark reads an RFC 5655 IPFIX file directly (`tshark -r flows.ipfix`, wiretap "IPFIX File
 *   Format", encapsulation 128, dissected by cflow). The format is detected heuristically from the
 *   first messages: if one of them is damaged the file is not recognised at all (another reader may
 *   claim it, or tshark prints nothing), so a file decode must also check the frame count.
 * - Real loopback capture (dumpcap -i lo) works but needs start/stop timing; instead the UDP path
 *   is checked by receiving the datagrams in-process and wrapping them in a pcap with synthetic
 *   IPv4/UDP headers (LINKTYPE_RAW), decoded with `-d udp.port==PORT,cflow`.
 * - tshark -T json nests each record as "Flow N" inside "Set K [id=T] ..." objects; malformed
 *   frames carry "_ws.malformed", errors "_ws.expert.severity": "8388608" (PI_ERROR), warnings
 *   "6291456" (PI_WARN). The cflow dissector checks IPFIX sequence numbers per observation domain
 *   (warning "Unexpected flow sequence for domain ID 1 (expected 31, got 30)"), so zero warnings
 *   over a whole export confirms RFC 7011 §3.1 numbering independently.
 * - nfcapd 1.7.1: `-w DIR -p PORT -b 127.0.0.1` runs in the foreground, logs to stdout, prints
 *   "Startup nfcapd." once bound; SIGTERM flushes and renames nfcapd.current.PID to
 *   nfcapd.YYYYMMDDhhmm. It understands flowStart/EndMilliseconds (152/153, absolute), MACs,
 *   vlanId, icmpTypeCode*, 64-bit counters; `nfdump -R DIR -o json` prints local times (we run it
 *   with TZ=UTC).
 */
import { spawn, execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { flowKey, type FlowTotals } from './tshark-truth.js';

const execFileAsync = promisify(execFile);
const MAX_TOOL_OUTPUT_BYTES = 512 * 1024 * 1024;

/** True when `tool` is an executable on the PATH (tests skip with a message otherwise). */
export function hasTool(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const NFCAPD_MISSING = 'nfcapd/nfdump not installed: skipped';
export const TSHARK_MISSING = 'tshark not installed: skipped';

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Bytes waiting in the receive queue of the UDP socket bound to 127.0.0.1:port (/proc/net/udp). */
export function udpReceiveQueueBytes(port: number): number {
  const wanted = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n')) {
    const columns = line.trim().split(/\s+/);
    if (columns[1] === wanted) return parseInt((columns[4] ?? '0:0').split(':')[1] ?? '0', 16);
  }
  return 0;
}

export interface NfcapdHandle {
  port: number;
  dir: string;
  /** Waits until nfcapd has read every queued datagram, then SIGTERM (which flushes the file). */
  stop(): Promise<void>;
  /** stdout/stderr so far (nfcapd's own statistics line appears at stop). */
  log(): string;
  /** Delete the flow directory (after stop and nfdumpFlows). */
  remove(): void;
}

export async function startNfcapd(): Promise<NfcapdHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'tapflow-nfcapd-'));
  const port = await freeUdpPort();
  // -B: a 4 MiB receive buffer (net.core.rmem_max here) so bursts are not dropped by the kernel.
  const child = spawn('nfcapd', ['-w', dir, '-p', String(port), '-b', '127.0.0.1', '-B', '4194304'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 5_000;
  while (!output.includes('Startup nfcapd.')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nfcapd did not start on port ${port}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let stopped = false;
  return {
    port,
    dir,
    log: () => output,
    remove: () => rmSync(dir, { recursive: true, force: true }),
    async stop() {
      if (stopped) return;
      stopped = true;
      const drainDeadline = Date.now() + 3_000;
      while (udpReceiveQueueBytes(port) > 0 && Date.now() < drainDeadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface NfdumpFlow {
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  packets: number;
  bytes: number;
  /** nfdump's letters, e.g. '...AP.SF' (TCP only). */
  tcpFlags: string;
  icmpType: number;
  icmpCode: number;
  vlan: number;
  inputInterface: number;
  tos: number;
  srcMac: string;
  dstMac: string;
  startMs: number;
  endMs: number;
}

/** Every flow nfcapd stored under `dir`, via `nfdump -R dir -o json`. */
export async function nfdumpFlows(dir: string): Promise<NfdumpFlow[]> {
  const { stdout } = await execFileAsync('nfdump', ['-R', dir, '-o', 'json'], {
    maxBuffer: MAX_TOOL_OUTPUT_BYTES,
    env: { ...process.env, TZ: 'UTC' },
  });
  const text = stdout.trim();
  if (text === '' || text === '[]') return [];
  const rows = JSON.parse(text) as Array<Record<string, string | number>>;
  const num = (value: string | number | undefined) => (value === undefined ? 0 : Number(value));
  const str = (value: string | number | undefined) => (value === undefined ? '' : String(value));
  return rows
    .filter((row) => row.type === 'FLOW')
    .map((row) => ({
      srcAddr: str(row.src4_addr ?? row.src6_addr),
      dstAddr: str(row.dst4_addr ?? row.dst6_addr),
      srcPort: num(row.src_port),
      dstPort: num(row.dst_port),
      protocol: num(row.proto),
      packets: num(row.in_packets),
      bytes: num(row.in_bytes),
      tcpFlags: str(row.tcp_flags),
      icmpType: num(row.icmp_type),
      icmpCode: num(row.icmp_code),
      vlan: num(row.src_vlan),
      inputInterface: num(row.input_snmp),
      tos: num(row.src_tos),
      srcMac: str(row.in_src_mac),
      dstMac: str(row.in_dst_mac),
      startMs: Date.parse(`${str(row.first)}Z`),
      endMs: Date.parse(`${str(row.last)}Z`),
    }));
}

/**
 * nfdump's flows as per-5-tuple totals keyed like tshark-truth.ts (ICMP: ports 0 and type<<8|code),
 * optionally only those `keep` accepts (e.g. IPv4 for NetFlow v5).
 */
export async function nfdumpFlowTotals(dir: string, keep: (flow: NfdumpFlow) => boolean = () => true): Promise<FlowTotals> {
  const totals: FlowTotals = new Map();
  for (const flow of await nfdumpFlows(dir)) {
    if (!keep(flow)) continue;
    const icmp = flow.protocol === 1 || flow.protocol === 58;
    const key = flowKey(flow.srcAddr.includes(':') ? 6 : 4, flow.srcAddr, flow.dstAddr, flow.protocol,
      icmp ? 0 : flow.srcPort, icmp ? (flow.icmpType << 8) | flow.icmpCode : flow.dstPort);
    const entry = totals.get(key) ?? { packets: 0, octets: 0 };
    entry.packets += flow.packets;
    entry.octets += flow.bytes;
    totals.set(key, entry);
  }
  return totals;
}

export interface TsharkIpfixDecode {
  /** Frames tshark read: IPFIX messages (file) or datagrams (pcap). */
  frames: number;
  /** One flat object per data record: cflow field name → display value (first occurrence). */
  records: Record<string, string>[];
  malformed: number;
  expertErrors: number;
  /** PI_WARN items: e.g. "Unexpected flow sequence for domain ID 1 (expected 31, got 30)". */
  expertWarnings: number;
  /** The text of every expert item (errors and warnings), for assertion messages. */
  expertMessages: string[];
  /** tshark's stderr, minus the "Running as root" notice. */
  warnings: string[];
}

/** tshark -T json nests fields; keep the first value of every field name. */
export function flatten(node: unknown, into: Record<string, string>): void {
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (typeof value === 'string') {
      if (!(key in into)) into[key] = value;
    } else {
      flatten(value, into);
    }
  }
}

function collectFlows(node: unknown, parentKey: string, records: Record<string, string>[]): void {
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (/^Flow \d+$/.test(key) && parentKey.startsWith('Set ')) {
      const record: Record<string, string> = {};
      flatten(value, record);
      records.push(record);
    } else {
      collectFlows(value, key, records);
    }
  }
}

/**
 * Decode with tshark: an IPFIX file, or (udpPort given) a pcap of IPFIX datagrams to that port.
 * Throws when tshark fails; check `frames` as well (see the file-detection note above).
 */
export async function tsharkDecodeIpfix(path: string, opts: { udpPort?: number } = {}): Promise<TsharkIpfixDecode> {
  const args = ['-r', path, '-T', 'json'];
  if (opts.udpPort !== undefined) args.push('-d', `udp.port==${opts.udpPort},cflow`);
  const { stdout, stderr } = await execFileAsync('tshark', args, { maxBuffer: MAX_TOOL_OUTPUT_BYTES });
  const frames = JSON.parse(stdout.trim() === '' ? '[]' : stdout) as Array<{ _source?: { layers?: { cflow?: unknown } } }>;
  const records: Record<string, string>[] = [];
  for (const frame of frames) collectFlows(frame._source?.layers?.cflow, '', records);
  return {
    frames: frames.length,
    records,
    malformed: stdout.split('"_ws.malformed"').length - 1,
    expertErrors: stdout.split(/"_ws\.expert\.severity":\s*"8388608"/).length - 1,
    expertWarnings: stdout.split(/"_ws\.expert\.severity":\s*"6291456"/).length - 1,
    expertMessages: [...stdout.matchAll(/"_ws\.expert\.message":\s*"([^"]*)"/g)].map((match) => match[1] ?? ''),
    warnings: stderr.split('\n').filter((line) => line.trim() !== '' && !line.includes('Running as user')),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** tshark's absolute time text ('Nov 14, 2023 22:13:20.001000000 UTC') → ms since the epoch. */
export function tsharkTimeToMs(text: string): number {
  const match = /^(\w{3}) +(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d+) UTC$/.exec(text.trim());
  if (match === null) return Number.NaN;
  const [, month, day, year, hours, minutes, seconds, fraction] = match;
  const ms = Number(`0.${fraction}`) * 1000;
  return Date.UTC(Number(year), MONTHS.indexOf(month ?? ''), Number(day), Number(hours), Number(minutes), Number(seconds)) + Math.round(ms);
}

export interface UdpCapture {
  port: number;
  /** Datagrams in arrival order, copied. */
  readonly datagrams: Buffer[];
  /** Resolves once at least `count` datagrams arrived (rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** An in-process collector on 127.0.0.1 that keeps every datagram (large receive buffer). */
export async function captureUdpExport(port = 0): Promise<UdpCapture> {
  const socket: Socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  const datagrams: Buffer[] = [];
  socket.on('message', (message) => datagrams.push(Buffer.from(message)));
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    datagrams,
    async waitFor(count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (datagrams.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${datagrams.length} of ${count} datagrams arrived`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function ipv4HeaderChecksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * A classic pcap (LINKTYPE_RAW, IPv4) with each payload as one UDP datagram 127.0.0.1:50000 →
 * 127.0.0.1:dstPort, one second apart (UDP checksum 0, allowed over IPv4).
 */
export function writeUdpPcap(path: string, payloads: readonly Uint8Array[], dstPort: number): void {
  const parts: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65_535, 16);
  global.writeUInt32LE(101, 20); // LINKTYPE_RAW
  parts.push(global);
  payloads.forEach((payload, index) => {
    const ip = Buffer.alloc(28);
    ip.writeUInt8(0x45, 0);
    ip.writeUInt16BE(28 + payload.length, 2);
    ip.writeUInt16BE(index & 0xffff, 4);
    ip.writeUInt8(64, 8);
    ip.writeUInt8(17, 9);
    ip.writeUInt32BE(0x7f000001, 12);
    ip.writeUInt32BE(0x7f000001, 16);
    ip.writeUInt16BE(ipv4HeaderChecksum(ip.subarray(0, 20)), 10);
    ip.writeUInt16BE(50_000, 20);
    ip.writeUInt16BE(dstPort, 22);
    ip.writeUInt16BE(8 + payload.length, 24);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(1_700_000_000 + index, 0);
    record.writeUInt32LE(28 + payload.length, 8);
    record.writeUInt32LE(28 + payload.length, 12);
    parts.push(record, ip, Buffer.from(payload.buffer, payload.byteOffset, payload.length));
  });
  writeFileSync(path, Buffer.concat(parts));
}

/** A temporary directory removed by the returned function. */
export function tempDir(prefix = 'tapflow-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
