import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { decodePacket } from '../../../src/decode/decode-packet.js';
import { DECODE_STATUS_NAMES, DecodeStatus } from '../../../src/decode/decode-status.js';
import { MAX_IPV6_EXTENSION_HEADERS } from '../../../src/decode/ipv6.js';
import { linkDecoderFor } from '../../../src/decode/link-decoders.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { readClassicPcap, type TestPacket } from '../../helpers/read-classic-pcap.js';
import { SHARED_PCAPS_MISSING, sharedPcaps, sharedPcapsDir } from '../../helpers/shared-pcaps.js';
import { readSimplePcapng } from './read-simple-pcapng.js';
import { type TsharkFrame, tsharkAvailable, tsharkFrames } from './tshark-reference.js';

/**
 * Ground truth from an independent dissector: for every packet of realistic/ and encap/, the
 * decoder's view must agree with tshark 4.x (reassembly off) on MACs, VLAN ids, IP version,
 * addresses, protocol (after the IPv6 extension chain), IP length, fragment fields, ports or ICMP
 * type/code, TCP flags and sequence number; where tshark sees no IP, the decoder must not say OK.
 *
 * Tunnels need no exclusion: tshark lists every occurrence outermost first, so the first ip/ipv6
 * fields are the outer header, and ports are compared from the first occurrence of the OUTER
 * protocol's own fields (the outer UDP of VXLAN, the outer ICMP of an error quoting UDP); a GRE,
 * IP-in-IP or 6in4 packet must have ports 0 whatever tshark finds inside.
 *
 * Handled specially, each checked rather than skipped:
 * - link types the decoder does not support (PPP, 9: tcpdump_mpls-traceroute.pcap) must give
 *   unsupported_link;
 * - an outer IPv6 chain longer than MAX_IPV6_EXTENSION_HEADERS (libpcap_ipv6_ext_headers.pcap,
 *   61 headers) must give too_many_ipv6_extensions;
 * - IPv4 total length 0 (TSO/BIG TCP), which tshark shows raw, must give the wire length.
 */

interface Source {
  file: string;
  index: number;
  packet: TestPacket;
}

const IPV6_EXTENSIONS: Record<string, string> = {
  '0': 'ipv6.hopopts.nxt',
  '43': 'ipv6.routing.nxt',
  '44': 'ipv6.fraghdr.nxt',
  '60': 'ipv6.dstopts.nxt',
  '51': 'ah.next_header',
};

interface Ipv6Chain {
  /** Protocol after the outer extension headers (tshark's next-header fields followed in order). */
  protocol: number | undefined;
  /** Extension headers in the outer chain. */
  headers: number;
  /** The outer chain's fragment header, if any (an ICMPv6 error may quote an inner one). */
  fragmentOffset: number;
  moreFragments: number;
  fragmentId: number;
}

function outerIpv6Chain(frame: TsharkFrame): Ipv6Chain {
  const used = new Map<string, number>();
  const chain: Ipv6Chain = { protocol: undefined, headers: 0, fragmentOffset: 0, moreFragments: 0, fragmentId: 0 };
  let next = frame.first('ipv6.nxt');
  while (next !== undefined && next in IPV6_EXTENSIONS && chain.headers < 64) {
    const field = IPV6_EXTENSIONS[next] as Parameters<TsharkFrame['all']>[0];
    const at = used.get(field) ?? 0;
    used.set(field, at + 1);
    next = frame.all(field)[at];
    chain.headers++;
    if (field === 'ipv6.fraghdr.nxt') {
      chain.fragmentOffset = Number(frame.all('ipv6.fraghdr.offset')[at] ?? 0);
      const more = frame.all('ipv6.fraghdr.more')[at];
      chain.moreFragments = more === 'True' || more === '1' ? 1 : 0;
      if (chain.fragmentOffset !== 0 || chain.moreFragments !== 0) chain.fragmentId = Number(frame.all('ipv6.fraghdr.ident')[at]);
      if (chain.fragmentOffset !== 0) break; // the rest of the chain is in the first fragment
    }
  }
  chain.protocol = next === undefined ? undefined : Number(next);
  return chain;
}

function ipv4Text(word: number): string {
  return [word >>> 24, (word >>> 16) & 255, (word >>> 8) & 255, word & 255].join('.');
}

function ipv6Words(text: string): number[] {
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right].map((g) => parseInt(g, 16));
  return [0, 2, 4, 6].map((i) => ((groups[i]! << 16) | groups[i + 1]!) >>> 0);
}

function macText(mac: number): string {
  return mac.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

/** Leading VLAN tags as tshark saw them: 'vlan' entries before the first network protocol. */
function leadingVlanCount(protocols: string[]): number {
  let count = 0;
  for (const protocol of protocols) {
    if (protocol === 'vlan') count++;
    else if (protocol !== 'eth' && protocol !== 'ethertype') break;
  }
  return count;
}

/** Returns the list of disagreements for one packet (empty when the view matches tshark). */
function compare(frame: TsharkFrame, status: DecodeStatus, view: PacketView, wireLen: number): string[] {
  const protocols = frame.protocols;
  const outer = protocols.find((p) => p === 'ip' || p === 'ipv6');
  if (outer === undefined) return status === DecodeStatus.OK ? ['decoded IP where tshark saw none'] : [];
  const chain = outer === 'ipv6' ? outerIpv6Chain(frame) : undefined;
  if (chain !== undefined && chain.headers > MAX_IPV6_EXTENSION_HEADERS) {
    // libpcap_ipv6_ext_headers.pcap: a chain longer than the bounded walk must be refused, counted.
    return status === DecodeStatus.TOO_MANY_IPV6_EXTENSIONS ? [] : [`status ${DECODE_STATUS_NAMES[status]} for ${chain.headers} extension headers`];
  }
  if (status !== DecodeStatus.OK) return [`status ${DECODE_STATUS_NAMES[status]}, tshark saw ${outer}`];
  const problems: string[] = [];
  const expect = (what: string, ours: unknown, theirs: unknown): void => {
    if (ours !== theirs) problems.push(`${what}: ours ${String(ours)} tshark ${String(theirs)}`);
  };

  if (protocols[0] === 'eth') {
    expect('srcMac', macText(view.srcMac), frame.first('eth.src'));
    expect('dstMac', macText(view.dstMac), frame.first('eth.dst'));
  }
  const vlans = leadingVlanCount(protocols);
  const vlanIds = frame.all('vlan.id').map(Number);
  expect('vlanId', view.vlanId, vlans >= 1 ? vlanIds[0] : 0);
  expect('innerVlanId', view.innerVlanId, vlans >= 2 ? vlanIds[1] : 0);

  if (outer === 'ip') {
    expect('ipVersion', view.ipVersion, 4);
    expect('src', ipv4Text(view.srcAddr[0]!), frame.first('ip.src'));
    expect('dst', ipv4Text(view.dstAddr[0]!), frame.first('ip.dst'));
    expect('protocol', view.protocol, frame.firstNumber('ip.proto'));
    const totalLength = frame.firstNumber('ip.len');
    // TSO/BIG TCP: tshark shows the raw 0; the decoder's documented rule is the wire length.
    expect('ipLength', view.ipLength, totalLength === 0 ? wireLen - view.l3Offset : totalLength);
    const moreFragments = frame.firstNumber('ip.flags.mf') ?? 0;
    const fragmentOffset = frame.firstNumber('ip.frag_offset') ?? 0;
    expect('isFragment', view.isFragment, moreFragments !== 0 || fragmentOffset !== 0 ? 1 : 0);
    expect('fragmentOffset', view.fragmentOffset, fragmentOffset);
    expect('fragmentId', view.fragmentId, frame.firstNumber('ip.id'));
  } else if (chain !== undefined) {
    expect('ipVersion', view.ipVersion, 6);
    expect('src', [...view.srcAddr].join(','), ipv6Words(frame.first('ipv6.src') ?? '').join(','));
    expect('dst', [...view.dstAddr].join(','), ipv6Words(frame.first('ipv6.dst') ?? '').join(','));
    expect('protocol', view.protocol, chain.protocol);
    const payloadLength = frame.firstNumber('ipv6.plen') ?? -1;
    const jumbo = frame.firstNumber('ipv6.opt.jumbo');
    expect('ipLength', view.ipLength, 40 + (payloadLength === 0 && jumbo !== undefined ? jumbo : payloadLength));
    expect('isFragment', view.isFragment, chain.fragmentOffset !== 0 || chain.moreFragments !== 0 ? 1 : 0);
    expect('fragmentOffset', view.fragmentOffset, chain.fragmentOffset);
    expect('fragmentId', view.fragmentId, chain.fragmentId);
  }

  const nonFirstFragment = view.fragmentOffset !== 0;
  let srcPort: number | undefined = 0;
  let dstPort: number | undefined = 0;
  if (!nonFirstFragment) {
    switch (view.protocol) {
      case 6:
        [srcPort, dstPort] = [frame.firstNumber('tcp.srcport'), frame.firstNumber('tcp.dstport')];
        if (frame.first('tcp.flags') !== undefined) expect('tcpFlags', view.tcpFlags, Number(frame.first('tcp.flags')) & 0x1ff);
        if (frame.first('tcp.seq_raw') !== undefined) expect('tcpSeq', view.tcpSeq, frame.firstNumber('tcp.seq_raw'));
        break;
      case 17:
        [srcPort, dstPort] = [frame.firstNumber('udp.srcport'), frame.firstNumber('udp.dstport')];
        break;
      case 132:
        [srcPort, dstPort] = [frame.firstNumber('sctp.srcport'), frame.firstNumber('sctp.dstport')];
        break;
      case 1:
      case 58: {
        const prefix = view.protocol === 1 ? 'icmp' : 'icmpv6';
        const type = frame.firstNumber(`${prefix}.type` as 'icmp.type');
        const code = frame.firstNumber(`${prefix}.code` as 'icmp.code');
        dstPort = type === undefined || code === undefined ? undefined : (type << 8) | code;
        break;
      }
    }
  }
  expect('srcPort', view.srcPort, srcPort);
  expect('dstPort', view.dstPort, dstPort);
  return problems;
}

interface FolderResult {
  compared: number;
  problems: string[];
  skipped: string[];
  /** How much of the comparison had substance: decoded packets by feature. */
  coverage: Record<string, number>;
}

async function compareFolder(folder: 'realistic' | 'encap'): Promise<FolderResult> {
  const coverage: Record<string, number> = {};
  const count = (what: string): void => {
    coverage[what] = (coverage[what] ?? 0) + 1;
  };
  const groups = new Map<number, Source[]>();
  const skipped: string[] = [];
  for (const path of sharedPcaps(folder)) {
    const capture = readClassicPcap(path) ?? readSimplePcapng(path);
    if (capture === null) {
      skipped.push(`${basename(path)}: neither classic pcap nor single-link-type pcapng`);
      continue;
    }
    const group = groups.get(capture.linkType) ?? [];
    capture.packets.forEach((packet, index) => group.push({ file: basename(path), index, packet }));
    groups.set(capture.linkType, group);
  }
  const problems: string[] = [];
  let compared = 0;
  const view = new PacketView();
  for (const [linkType, sources] of groups) {
    if (linkDecoderFor(linkType) === null) {
      // Link types outside the decoder's list (PPP, 9, in tcpdump_mpls-traceroute.pcap) must be refused.
      const files = new Set(sources.map((s) => s.file));
      skipped.push(`${[...files].join(', ')}: link type ${linkType} not decoded; checked to be unsupported_link`);
      for (const source of sources) {
        const status = decodePacket(source.packet.data, 0, source.packet.data.length, source.packet.wireLen, linkType, view);
        if (status !== DecodeStatus.UNSUPPORTED_LINK) problems.push(`${source.file}#${source.index + 1}: status ${DECODE_STATUS_NAMES[status]}`);
      }
      continue;
    }
    const frames = await tsharkFrames(linkType, sources.map((s) => s.packet));
    assert.equal(frames.length, sources.length, `tshark returned one line per packet (link type ${linkType})`);
    sources.forEach((source, i) => {
      const packet = source.packet;
      const status = decodePacket(packet.data, 0, packet.data.length, packet.wireLen, linkType, view);
      const found = compare(frames[i]!, status, view, Math.max(packet.wireLen, packet.data.length));
      compared++;
      count(DECODE_STATUS_NAMES[status]!);
      if (status === DecodeStatus.OK) {
        count(`ipv${view.ipVersion}`);
        if (view.srcPort !== 0 || view.dstPort !== 0) count('with ports');
        if (view.vlanId !== 0) count('vlan');
        if (view.innerVlanId !== 0) count('inner vlan');
        if (view.isFragment !== 0) count(view.fragmentOffset === 0 ? 'first fragment' : 'non-first fragment');
      }
      for (const problem of found) problems.push(`${source.file}#${source.index + 1}: ${problem} [${frames[i]!.first('frame.protocols')}]`);
    });
  }
  return { compared, problems, skipped, coverage };
}

const skip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : tsharkAvailable() ? false : 'tshark not installed: skipped';

describe('decodePacket agrees with tshark', { skip }, () => {
  for (const folder of ['realistic', 'encap'] as const) {
    it(`on every packet of ${folder}/`, async (t) => {
      const { compared, problems, skipped, coverage } = await compareFolder(folder);
      for (const line of skipped) t.diagnostic(`skipped ${line}`);
      t.diagnostic(`${compared} packets compared, ${problems.length} disagreements; ${JSON.stringify(coverage)}`);
      assert.ok((coverage.ok ?? 0) > compared / 2, 'most packets decode (the comparison is not vacuous)');
      assert.deepEqual(problems.slice(0, 40), []);
    });
  }
});
