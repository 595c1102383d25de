import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestPacket } from '../../helpers/read-classic-pcap.js';

/** tshark fields read for every frame; each comes back as the list of all its occurrences. */
export const TSHARK_FIELDS = [
  'frame.protocols',
  'eth.src',
  'eth.dst',
  'vlan.id',
  'ip.src',
  'ip.dst',
  'ip.proto',
  'ip.len',
  'ip.flags.mf',
  'ip.frag_offset',
  'ip.id',
  'ipv6.src',
  'ipv6.dst',
  'ipv6.plen',
  'ipv6.nxt',
  'ipv6.hopopts.nxt',
  'ipv6.routing.nxt',
  'ipv6.fraghdr.nxt',
  'ipv6.dstopts.nxt',
  'ah.next_header',
  'ipv6.fraghdr.offset',
  'ipv6.fraghdr.more',
  'ipv6.fraghdr.ident',
  'ipv6.opt.jumbo',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'tcp.seq_raw',
  'udp.srcport',
  'udp.dstport',
  'sctp.srcport',
  'sctp.dstport',
  'icmp.type',
  'icmp.code',
  'icmpv6.type',
  'icmpv6.code',
] as const;

export type TsharkField = (typeof TSHARK_FIELDS)[number];

/** One frame as tshark dissected it: every occurrence of every field, outermost first. */
export class TsharkFrame {
  constructor(private readonly values: Map<TsharkField, string[]>) {}
  all(field: TsharkField): string[] {
    return this.values.get(field) ?? [];
  }
  first(field: TsharkField): string | undefined {
    return this.all(field)[0];
  }
  firstNumber(field: TsharkField): number | undefined {
    const value = this.first(field);
    return value === undefined ? undefined : Number(value);
  }
  get protocols(): string[] {
    return (this.first('frame.protocols') ?? '').split(':');
  }
}

export function tsharkAvailable(): boolean {
  return spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
}

/**
 * Writes the packets as one temporary classic pcap (one tshark start-up for many files: start-up
 * dominates for small captures; tshark reads `-r -` only from a FIFO, not node's stdin socket) and
 * returns one TsharkFrame per packet, in order. Reassembly is off so each frame is judged on its
 * own headers.
 */
export async function tsharkFrames(linkType: number, packets: readonly TestPacket[]): Promise<TsharkFrame[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tapflow-tshark-'));
  try {
    const path = join(dir, 'packets.pcap');
    writeFileSync(path, classicPcap(linkType, packets));
    return await runTshark(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runTshark(path: string): Promise<TsharkFrame[]> {
  const args = ['-r', path, '-n', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', '-E', 'separator=\t'];
  for (const pref of ['ip.defragment:FALSE', 'ipv6.defragment:FALSE', 'tcp.desegment_tcp_streams:FALSE', 'tcp.analyze_sequence_numbers:FALSE', 'ip.check_checksum:FALSE']) {
    args.push('-o', pref);
  }
  for (const field of TSHARK_FIELDS) args.push('-e', field);
  const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
  const code = await done;
  if (code !== 0) throw new Error(`tshark exited with ${code}: ${stderr.slice(-500)}`);
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => {
    const columns = line.split('\t');
    const values = new Map<TsharkField, string[]>();
    TSHARK_FIELDS.forEach((field, index) => {
      const column = columns[index] ?? '';
      if (column !== '') values.set(field, column.split('|'));
    });
    return new TsharkFrame(values);
  });
}

function classicPcap(linkType: number, packets: readonly TestPacket[]): Buffer {
  let size = 24;
  for (const packet of packets) size += 16 + packet.data.length;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(0x40000, 16); // snaplen 262144
  out.writeUInt32LE(linkType, 20);
  let at = 24;
  packets.forEach((packet, index) => {
    out.writeUInt32LE(index, at); // seconds: the frame index, never used for matching
    out.writeUInt32LE(packet.data.length, at + 8);
    out.writeUInt32LE(Math.max(packet.wireLen, packet.data.length), at + 12);
    out.set(packet.data, at + 16);
    at += 16 + packet.data.length;
  });
  return out;
}
