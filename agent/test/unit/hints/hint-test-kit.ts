import { execFileSync, spawnSync } from 'node:child_process';
import { decodePacket } from '../../../src/decode/decode-packet.js';
import { DecodeStatus } from '../../../src/decode/decode-status.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { l4PayloadLength, l4PayloadOffset } from '../../../src/hints/hint-bounds.js';
import { readClassicPcap } from '../../helpers/read-classic-pcap.js';

/** One packet's transport payload, as the flow table will hand it to the hint parsers. */
export interface TestPayload {
  frame: number;
  data: Uint8Array;
  offset: number;
  length: number;
  protocol: number;
  srcPort: number;
  dstPort: number;
}

/** Decodes every packet of a classic pcap with the product's decoder and keeps those with a TCP/UDP payload. */
export function payloadsOf(file: string): TestPayload[] {
  const capture = readClassicPcap(file);
  if (capture === null) throw new Error(`${file}: not a classic pcap`);
  const view = new PacketView();
  const payloads: TestPayload[] = [];
  capture.packets.forEach((packet, index) => {
    const status = decodePacket(packet.data, 0, packet.data.length, packet.wireLen, capture.linkType, view);
    if (status !== DecodeStatus.OK) return;
    const capEnd = packet.data.length;
    const offset = l4PayloadOffset(packet.data, capEnd, view);
    const length = l4PayloadLength(packet.data, capEnd, view, offset);
    if (offset < 0 || length === 0) return;
    payloads.push({ frame: index + 1, data: packet.data, offset, length, protocol: view.protocol, srcPort: view.srcPort, dstPort: view.dstPort });
  });
  return payloads;
}

export const TSHARK_HINT_FIELDS = [
  'frame.number',
  'tcp.stream',
  'udp.srcport',
  'dns.flags.response',
  'dns.count.queries',
  'dns.qry.name',
  'dns.qry.type',
  'dns.flags.rcode',
  'http.request.method',
  'http.host',
  'http.response.code',
  'tls.handshake.type',
  'tls.handshake.version',
  'tls.handshake.extensions_server_name',
  'tls.handshake.extensions_alpn_str',
  'tls.handshake.extensions.supported_version',
] as const;
export type TsharkHintField = (typeof TSHARK_HINT_FIELDS)[number];

/** Every occurrence of each field, per frame (tshark's own order: the first is the first in the packet). */
export type TsharkHintFrame = Map<TsharkHintField, string[]>;

export function tsharkAvailable(): boolean {
  return spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
}

/**
 * tshark's view of each frame ON ITS OWN (perPacket): TCP and IP reassembly off and TCP sequence
 * analysis off (else a retransmitted segment is not dissected), so a message split over packets
 * is dissected (or not) from this packet's bytes only, which is what the hint parsers see. With
 * perPacket false tshark reassembles (its defaults).
 */
export function tsharkHints(file: string, perPacket = true): Map<number, TsharkHintFrame> {
  const args = ['-r', file, '-n'];
  if (perPacket) {
    args.push(
      '-o', 'tcp.desegment_tcp_streams:FALSE',
      '-o', 'tcp.analyze_sequence_numbers:FALSE',
      '-o', 'ip.defragment:FALSE',
      '-o', 'ipv6.defragment:FALSE',
    );
  } else {
    args.push('-o', 'tcp.analyze_sequence_numbers:FALSE'); // a reused port pair otherwise hides a stream's hellos
  }
  args.push(
    '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=\u0001', '-E', 'separator=\t',
  );
  for (const field of TSHARK_HINT_FIELDS) args.push('-e', field);
  const stdout = execFileSync('tshark', args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString('latin1');
  const frames = new Map<number, TsharkHintFrame>();
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const columns = line.split('\t');
    const frame: TsharkHintFrame = new Map();
    TSHARK_HINT_FIELDS.forEach((field, i) => {
      const value = columns[i] ?? '';
      frame.set(field, value === '' ? [] : value.split('\u0001'));
    });
    frames.set(Number(columns[0]), frame);
  }
  return frames;
}

/** Deterministic 32-bit PRNG (mulberry32) for fuzzing with a fixed seed: the export tests' one. */
export { seededRandom } from '../export/export-test-kit.js';

/** The shared captures with DNS, HTTP and TLS that the hint tests compare with tshark. */
export const HINT_CAPTURES: readonly string[] = [
  'realistic/zeek_wikipedia.pcap',
  'realistic/suricata_tls-browsing.pcap',
  'realistic/zeek_http_methods.pcap',
  'realistic/suricata_community-id-ipv6.pcap',
  'realistic/suricata_http-base64-mixed.pcap',
  'realistic/zeek_http_bro.org.pcap',
  'encap/zeek_ipv6-fragmented-dns.pcap',
  'encap/zeek_pppoe-over-qinq.pcap',
  'realistic/zeek_smtp.pcap',
  'realistic/zeek_var-services-std-ports.pcap',
  'encap/arkime_v6-http.pcap',
  'encap/zeek_vxlan-encapsulated-http.pcap',
];
