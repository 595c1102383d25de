import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Directional 5-tuple (plus IP version) → packets and IP octets. */
export type FlowTotals = Map<string, { packets: number; octets: number }>;

export function flowKey(ipVersion: number, src: string, dst: string, protocol: number, srcPort: number, dstPort: number): string {
  return `${ipVersion}|${canonicalAddress(src)}|${canonicalAddress(dst)}|${protocol}|${srcPort}|${dstPort}`;
}

/** One spelling per address (IPv6 compressed, lower case) so tshark's and ours compare equal. */
export function canonicalAddress(address: string): string {
  return address.includes(':') ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

const TRANSPORT_BY_LAYER: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132, esp: 50, gre: 47, igmp: 2 };
const FIELDS = [
  'frame.protocols', 'ip.src', 'ip.dst', 'ip.len', 'ip.proto', 'ip.id', 'ip.frag_offset', 'ip.flags.mf',
  'ipv6.src', 'ipv6.dst', 'ipv6.plen', 'ipv6.fraghdr.nxt', 'ipv6.fraghdr.offset', 'ipv6.fraghdr.more', 'ipv6.fraghdr.ident',
  'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'sctp.srcport', 'sctp.dstport',
  'icmp.type', 'icmp.code', 'icmpv6.type', 'icmpv6.code', 'frame.len',
];

export interface TsharkTruth {
  flows: FlowTotals;
  /** Packets with an outer IPv4/IPv6 header, as tshark sees them. */
  ipPackets: number;
  /** Packets whose IP length field is 0 (TSO/BIG TCP): octets taken from the frame instead. */
  zeroLengthPackets: number;
}

/**
 * Independent ground truth for flow conservation: tshark dissects the capture (no IP reassembly),
 * and this function keys every packet by its OUTER IP header and transport ports. Non-first
 * fragments take the ports of the first fragment with the same (src, dst, protocol, id) seen
 * earlier in the file, as a probe would; without one they count under ports 0.
 */
export async function tsharkFlowTotals(pcap: string): Promise<TsharkTruth> {
  const args = ['-r', pcap, '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-T', 'fields', '-E', 'occurrence=f', '-E', 'separator=\t'];
  for (const field of FIELDS) args.push('-e', field);
  const stdout = await run('tshark', args, { maxBuffer: 1 << 30 }).then(
    (result) => result.stdout,
    (error: { stdout?: string; stderr?: string }) => {
      // A capture cut mid-packet: tshark prints the packets before the cut, then fails; keep those.
      if (error.stderr?.includes('cut short') && error.stdout !== undefined) return error.stdout;
      throw error;
    },
  );
  const flows: FlowTotals = new Map();
  const firstFragmentPorts = new Map<string, [number, number]>();
  let ipPackets = 0;
  let zeroLengthPackets = 0;
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const f = Object.fromEntries(FIELDS.map((name, i) => [name, line.split('\t')[i] ?? ''])) as Record<string, string>;
    const layers = f['frame.protocols']!.split(':');
    const ipIndex = layers.findIndex((l) => l === 'ip' || l === 'ipv6');
    if (ipIndex < 0) continue;
    const v6 = layers[ipIndex] === 'ipv6';
    ipPackets++;
    let transportIndex = ipIndex + 1;
    while (layers[transportIndex]?.startsWith('ipv6.')) transportIndex++;
    const transport = layers[transportIndex] ?? '';
    let protocol: number;
    if (v6) protocol = TRANSPORT_BY_LAYER[transport] ?? Number(f['ipv6.fraghdr.nxt'] || 0);
    else protocol = Number(f['ip.proto']);
    let srcPort = 0;
    let dstPort = 0;
    if (protocol === 6 && transport === 'tcp') [srcPort, dstPort] = [Number(f['tcp.srcport']), Number(f['tcp.dstport'])];
    else if (protocol === 17 && transport === 'udp') [srcPort, dstPort] = [Number(f['udp.srcport']), Number(f['udp.dstport'])];
    else if (protocol === 132 && transport === 'sctp') [srcPort, dstPort] = [Number(f['sctp.srcport']), Number(f['sctp.dstport'])];
    else if (protocol === 1 && transport === 'icmp') dstPort = (Number(f['icmp.type']) << 8) | Number(f['icmp.code']);
    else if (protocol === 58 && transport === 'icmpv6') dstPort = (Number(f['icmpv6.type']) << 8) | Number(f['icmpv6.code']);

    const src = v6 ? f['ipv6.src']! : f['ip.src']!;
    const dst = v6 ? f['ipv6.dst']! : f['ip.dst']!;
    const fragmentOffset = Number((v6 ? f['ipv6.fraghdr.offset'] : f['ip.frag_offset']) || 0);
    const moreFragments = (v6 ? f['ipv6.fraghdr.more'] : f['ip.flags.mf']) === '1' || (v6 ? f['ipv6.fraghdr.more'] : f['ip.flags.mf']) === 'True';
    const fragmentKey = `${src}|${dst}|${protocol}|${v6 ? f['ipv6.fraghdr.ident'] : f['ip.id']}`;
    if (fragmentOffset === 0 && moreFragments) firstFragmentPorts.set(fragmentKey, [srcPort, dstPort]);
    if (fragmentOffset > 0) [srcPort, dstPort] = firstFragmentPorts.get(fragmentKey) ?? [0, 0];

    let octets = v6 ? 40 + Number(f['ipv6.plen']) : Number(f['ip.len']);
    if (octets === (v6 ? 40 : 0)) {
      zeroLengthPackets++;
      octets = Number.NaN; // resolved by the caller if it cares; conservation tests compare packets for these
    }
    const key = flowKey(v6 ? 6 : 4, src, dst, protocol, srcPort, dstPort);
    const entry = flows.get(key) ?? { packets: 0, octets: 0 };
    entry.packets++;
    entry.octets += octets;
    flows.set(key, entry);
  }
  return { flows, ipPackets, zeroLengthPackets };
}
