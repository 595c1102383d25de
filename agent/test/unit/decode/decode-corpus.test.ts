import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { decodePacket } from '../../../src/decode/decode-packet.js';
import { DECODE_STATUS_COUNT, DECODE_STATUS_NAMES } from '../../../src/decode/decode-status.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { readClassicPcap, type TestCapture } from '../../helpers/read-classic-pcap.js';
import { SHARED_PCAPS_MISSING, sharedPcaps, sharedPcapsDir } from '../../helpers/shared-pcaps.js';
import { readSimplePcapng } from './read-simple-pcapng.js';

const SUPPORTED_LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276];

/**
 * Statuses the MANIFEST's descriptions of these malformed captures call for (every packet of the
 * file unless marked "some"); the rest of the folder is only required not to throw.
 */
const EXPECTED: Record<string, { status: string; some?: boolean }> = {
  'tcpdump_ipv4_invalid_hdr_length.pcap': { status: 'bad_ipv4_header_length' },
  'tcpdump_ipv4_invalid_total_length.pcap': { status: 'bad_ip_length' },
  'tcpdump_LINKTYPE_IPV4_invalid.pcap': { status: 'bad_ip_version' },
  'tcpdump_unsupported-link-type-160.pcap': { status: 'unsupported_link' },
  'tcpdump_unsupported-link-type-dbus.pcap': { status: 'unsupported_link' },
  'tcpdump_ipv6_jumbogram_invalid_length.pcap': { status: 'bad_ip_length' },
  'tcpdump_ipv6_missing_jumbo_payload_option.pcap': { status: 'bad_ip_length' },
  'tcpdump_ipv6-bad-version.pcap': { status: 'bad_ip_version', some: true },
  'zeek_trunc_ip4-trunc.pcap': { status: 'truncated_ip' },
  'zeek_trunc_ipv4-internally-truncated-header.pcap': { status: 'truncated_ip' },
  'suricata_decode-too-small.pcap': { status: 'bad_transport_header', some: true },
  'suricata_decode-too-many-layers.pcap': { status: 'not_ip' }, // MPLS pseudowire: Ethernet inside, not followed
  'libpcap_ipv6_ext_headers.pcap': { status: 'too_many_ipv6_extensions' },
};

function read(path: string): TestCapture | null {
  try {
    return readClassicPcap(path) ?? readSimplePcapng(path);
  } catch {
    return null; // a file the tiny test readers cannot parse; the product's reader is tested elsewhere
  }
}

const skip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : false;

describe('decodePacket over the malformed and encap corpus', { skip }, () => {
  for (const folder of ['malformed', 'encap'] as const) {
    it(`never throws on any packet of ${folder}/ (with its own and every other link type)`, (t) => {
      const view = new PacketView();
      const totals = new Array<number>(DECODE_STATUS_COUNT).fill(0);
      let packets = 0;
      for (const path of sharedPcaps(folder)) {
        const name = basename(path);
        const capture = read(path);
        if (capture === null) {
          t.diagnostic(`${name}: not readable by the test readers (pcap/pcapng header errors are the reader's business)`);
          continue;
        }
        const counts = new Array<number>(DECODE_STATUS_COUNT).fill(0);
        for (const packet of capture.packets) {
          const status = decodePacket(packet.data, 0, packet.data.length, packet.wireLen, capture.linkType, view);
          counts[status]!++;
          for (const linkType of SUPPORTED_LINK_TYPES) {
            const other = decodePacket(packet.data, 0, packet.data.length, packet.wireLen, linkType, view);
            assert.ok(other >= 0 && other < DECODE_STATUS_COUNT);
          }
        }
        packets += capture.packets.length;
        counts.forEach((count, status) => (totals[status]! += count));
        const expected = EXPECTED[name];
        if (expected !== undefined) {
          const index = DECODE_STATUS_NAMES.indexOf(expected.status);
          const matching = counts[index]!;
          if (expected.some === true) assert.ok(matching > 0, `${name}: some ${expected.status}`);
          else assert.equal(matching, capture.packets.length, `${name}: every packet ${expected.status}, got ${JSON.stringify(counts)}`);
        }
      }
      const summary = DECODE_STATUS_NAMES.map((name, status) => `${name}=${totals[status]}`).filter((entry) => !entry.endsWith('=0'));
      t.diagnostic(`${packets} packets: ${summary.join(' ')}`);
      assert.ok(packets > 0);
    });
  }
});
