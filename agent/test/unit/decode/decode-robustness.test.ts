import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePacket } from '../../../src/decode/decode-packet.js';
import { DECODE_STATUS_COUNT, DecodeStatus } from '../../../src/decode/decode-status.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { hex } from './hex-fixture.js';
import {
  ETH_IPV4, ETH_IPV6, ethernet, IPV4_TCP, IPV4_UDP, IPV6_EXTENSION_CHAIN_TCP, SWEEP_FIXTURES, TCP_AE_SYN_ACK, TCP_SYN, UDP_4_BYTES,
} from './packet-fixtures.js';

const VLAN_TCP = hex(ethernet('8100', '802.1Q'), '# VID 100, next IPv4\n0064 0800', IPV4_TCP, TCP_AE_SYN_ACK);
const RAW_UDP = hex(IPV4_UDP, UDP_4_BYTES);

describe('decodePacket robustness', () => {
  it('resets every field: nothing leaks from a VLAN/TCP packet into a raw UDP one', () => {
    const view = new PacketView();
    assert.equal(decodePacket(VLAN_TCP, 0, VLAN_TCP.length, VLAN_TCP.length, 1, view), DecodeStatus.OK);
    assert.ok(view.vlanId !== 0 && view.tcpFlags !== 0 && view.srcMac !== 0 && view.tcpSeq !== 0);
    const fresh = new PacketView();
    assert.equal(decodePacket(RAW_UDP, 0, RAW_UDP.length, RAW_UDP.length, 101, fresh), DecodeStatus.OK);
    assert.equal(decodePacket(RAW_UDP, 0, RAW_UDP.length, RAW_UDP.length, 101, view), DecodeStatus.OK);
    assert.deepEqual({ ...view }, { ...fresh });
  });

  it('resets fragment fields and the IPv6 address words', () => {
    const fragment = hex(ETH_IPV6, IPV6_EXTENSION_CHAIN_TCP('0001', 'first fragment'), TCP_SYN);
    const view = new PacketView();
    decodePacket(fragment, 0, fragment.length, fragment.length, 1, view);
    assert.equal(view.isFragment, 1);
    const fresh = new PacketView();
    decodePacket(RAW_UDP, 0, RAW_UDP.length, RAW_UDP.length, 101, fresh);
    decodePacket(RAW_UDP, 0, RAW_UDP.length, RAW_UDP.length, 101, view);
    assert.deepEqual({ ...view, srcAddr: [...view.srcAddr], dstAddr: [...view.dstAddr] }, { ...fresh, srcAddr: [...fresh.srcAddr], dstAddr: [...fresh.dstAddr] });
  });

  it('reads the packet at an offset inside a larger buffer and never past capLen', () => {
    const packet = hex(ETH_IPV4, IPV4_TCP, TCP_SYN);
    const buffer = new Uint8Array(300).fill(0xff);
    buffer.set(packet, 100);
    const view = new PacketView();
    assert.equal(decodePacket(buffer, 100, packet.length, packet.length, 1, view), DecodeStatus.OK);
    assert.equal(view.l3Offset, 114);
    assert.equal(view.dstPort, 80);
    // Cut inside the TCP header: the 0xff bytes after capLen must not be taken for the ports.
    assert.equal(decodePacket(buffer, 100, 14 + 20 + 3, packet.length, 1, view), DecodeStatus.TRUNCATED_TRANSPORT);
  });

  it('nonsense arguments return a status instead of throwing', () => {
    const view = new PacketView();
    const packet = hex(ETH_IPV4, IPV4_TCP, TCP_SYN);
    for (const [offset, capLen, wireLen] of [[0, 0, 0], [-5, 10, 10], [0, 1e9, 1e9], [NaN, 10, 10], [0, NaN, NaN], [60, 10, 10], [0, 54, 0]] as const) {
      const status = decodePacket(packet, offset, capLen, wireLen, 1, view);
      assert.ok(status >= 0 && status < DECODE_STATUS_COUNT, `${offset}/${capLen}/${wireLen} → ${status}`);
    }
    assert.equal(decodePacket(new Uint8Array(0), 0, 0, 0, 1, view), DecodeStatus.TRUNCATED_LINK);
  });

  it('never throws on every prefix, and on 30 000 random corruptions, of every fixture', () => {
    const view = new PacketView();
    const counts = new Array<number>(DECODE_STATUS_COUNT).fill(0);
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; // deterministic LCG: failures reproduce
      return seed / 0x1_0000_0000;
    };
    for (const [linkType, packet] of SWEEP_FIXTURES) {
      for (let length = 0; length <= packet.length; length++) {
        counts[decodePacket(packet, 0, length, packet.length, linkType, view)]!++;
      }
    }
    for (let round = 0; round < 30_000; round++) {
      const [linkType, original] = SWEEP_FIXTURES[round % SWEEP_FIXTURES.length]!;
      const packet = Uint8Array.from(original);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
        packet[Math.floor(random() * packet.length)] = Math.floor(random() * 256);
      }
      const capLen = Math.floor(random() * (packet.length + 1));
      const wireLen = random() < 0.5 ? packet.length : Math.floor(random() * 200_000);
      const status = decodePacket(packet, 0, capLen, wireLen, linkType, view);
      assert.ok(status >= 0 && status < DECODE_STATUS_COUNT);
      counts[status]!++;
    }
    assert.ok(counts[DecodeStatus.OK]! > 0);
  });
});
