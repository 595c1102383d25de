import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Error severity of Wireshark expert items (PI_ERROR, epan/proto.h): malformed packets and bad checksums. */
export const EXPERT_ERROR_SEVERITY = 0x00800000;

const FIELDS = [
  'frame.time_epoch', 'frame.len', 'frame.cap_len', 'vlan.id',
  'ip.src', 'ip.dst', 'ip.len', 'ip.proto', 'ipv6.src', 'ipv6.dst', 'ipv6.plen', 'ipv6.nxt',
  'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'udp.srcport', 'udp.dstport', 'icmp.type', 'icmp.code', 'icmpv6.type', 'icmpv6.code',
  'ip.checksum.status', 'tcp.checksum.status', 'udp.checksum.status', 'icmp.checksum.status', 'icmpv6.checksum.status',
  '_ws.expert.severity',
] as const;

export type FrameField = (typeof FIELDS)[number];
/** One frame: field → its occurrences joined with ',' ('' when absent). */
export type TsharkRow = Record<FrameField, string>;

export function tsharkAvailable(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Every frame of a capture as tshark dissects it, with checksum validation on (so a bad checksum
 * shows up as an expert error like a malformed packet does).
 */
export async function tsharkRows(path: string): Promise<TsharkRow[]> {
  const args = ['-r', path, '-n', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=\t'];
  // ICMP and ICMPv6 checksums are always checked; these three are off by default.
  for (const pref of ['ip.check_checksum', 'tcp.check_checksum', 'udp.check_checksum']) {
    args.push('-o', `${pref}:TRUE`);
  }
  for (const field of FIELDS) args.push('-e', field);
  const { stdout } = await run('tshark', args, { maxBuffer: 1 << 30 });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const cells = line.split('\t');
      return Object.fromEntries(FIELDS.map((name, i) => [name, cells[i] ?? ''])) as TsharkRow;
    });
}

/** The highest expert severity tshark attached to the frame (0 when none). */
export function maxExpertSeverity(row: TsharkRow): number {
  return row['_ws.expert.severity'] === '' ? 0 : Math.max(...row['_ws.expert.severity'].split(',').map(Number));
}

/** Directional key as traffic-generator's flowTruthKey spells it, from tshark's view of a frame. */
export function rowFlowKey(row: TsharkRow): string {
  const v6 = row['ipv6.src'] !== '';
  const protocol = Number(v6 ? row['ipv6.nxt'] : row['ip.proto']);
  const srcPort = row['tcp.srcport'] || row['udp.srcport'] || '0';
  const dstPort = row['tcp.dstport'] || row['udp.dstport'] || '0';
  const src = v6 ? row['ipv6.src'] : row['ip.src'];
  const dst = v6 ? row['ipv6.dst'] : row['ip.dst'];
  return `${v6 ? 6 : 4}|${src}|${dst}|${protocol}|${srcPort}|${dstPort}|${row['vlan.id'] || '0'}`;
}

/** IP bytes of the frame: IPv4 total length or 40 + IPv6 payload length. */
export function rowIpLength(row: TsharkRow): number {
  return row['ipv6.src'] !== '' ? 40 + Number(row['ipv6.plen']) : Number(row['ip.len']);
}
