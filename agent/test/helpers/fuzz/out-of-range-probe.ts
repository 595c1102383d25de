import type { CapturedPacket } from '../../../src/capture/captured-packet.js';
import { decodePacket } from '../../../src/decode/decode-packet.js';
import { DecodeStatus } from '../../../src/decode/decode-status.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { AppHints } from '../../../src/hints/app-hints.js';
import { l4PayloadLength, l4PayloadOffset } from '../../../src/hints/hint-bounds.js';
import { parseAppHints } from '../../../src/hints/parse-app-hints.js';

/**
 * Catches reads outside a packet's captured bytes, which never crash (the reader's buffer goes on
 * with the next record) but quietly decode wrong values. The packet is decoded, and its payload
 * given to parseAppHints, twice: copied between poison bytes of 0x00 and between poison bytes of
 * 0xff (values that steer a parser differently: a length of 0 vs 65535, a version nibble of 0 vs
 * 15). Code that stays inside [offset, offset + capLen) gets identical results from both.
 * Idea from the hint parsers' own fuzz test (hints-fuzz.test.ts), which frames input the same way.
 */
const POISON_BYTES = 64;
/** Largest packet the probe copies (the reader's limit). */
const MAX_PACKET_BYTES = 262_144;

export interface ProbeOutcome {
  decodeStatus: number;
  /** A description of the difference, or null when both copies gave the same results. */
  difference: string | null;
}

export class OutOfRangeProbe {
  private readonly zeros = new Uint8Array(POISON_BYTES + MAX_PACKET_BYTES + POISON_BYTES);
  private readonly ones = new Uint8Array(POISON_BYTES + MAX_PACKET_BYTES + POISON_BYTES).fill(0xff);
  private readonly views = [new PacketView(), new PacketView()] as const;
  private readonly hints = [new AppHints(), new AppHints()] as const;
  private readonly results = ['', ''];

  check(packet: CapturedPacket): ProbeOutcome {
    const capLen = packet.capLen;
    const bytes = packet.data.subarray(packet.offset, packet.offset + capLen);
    let status: number = DecodeStatus.OK;
    for (const copy of [0, 1] as const) {
      const framed = copy === 0 ? this.zeros : this.ones;
      const poison = copy === 0 ? 0x00 : 0xff;
      framed.set(bytes, POISON_BYTES);
      status = this.decodeAndParse(framed, capLen, packet, copy);
      framed.fill(poison, POISON_BYTES, POISON_BYTES + capLen); // restore the poison for the next packet
    }
    const [a, b] = this.results;
    return { decodeStatus: status, difference: a === b ? null : `framed in 0x00: ${a}; framed in 0xff: ${b}` };
  }

  private decodeAndParse(framed: Uint8Array, capLen: number, packet: CapturedPacket, copy: 0 | 1): number {
    const view = this.views[copy];
    const hints = this.hints[copy];
    // `framed` is longer than the packet, so the decoder sees as much room as in the reader's buffer.
    const status = decodePacket(framed, POISON_BYTES, capLen, packet.wireLen, packet.linkType, view);
    let text = `decode ${status}`;
    if (status === DecodeStatus.OK) {
      text += ` ${describeView(view)}`;
      const capEnd = POISON_BYTES + capLen;
      const offset = l4PayloadOffset(framed, capEnd, view);
      const length = l4PayloadLength(framed, capEnd, view, offset);
      text += ` payload ${offset}+${length}`;
      if (offset >= 0 && length > 0) {
        const hintStatus = parseAppHints(framed, offset, length, view.protocol, view.srcPort, view.dstPort, hints);
        text += ` hints ${hintStatus} ${hints.kind} ${hints.dnsNameText()}|${hints.httpHostText()}|${hints.tlsSniText()}|${hints.tlsAlpnText()}|${hints.dnsQtype}|${hints.httpStatusCode}|${hints.tlsSupportedVersionMax}`;
      }
    }
    this.results[copy] = text;
    return status;
  }
}

function describeView(v: PacketView): string {
  return [
    v.ipVersion, v.srcAddr.join('.'), v.dstAddr.join('.'), v.protocol, v.srcPort, v.dstPort, v.icmpTypeCode, v.tcpFlags, v.tcpSeq, v.tcpAck,
    v.tcpWindow, v.ipLength, v.payloadLength, v.ttl, v.tos, v.vlanId, v.innerVlanId, v.macs[0], v.macs[1], v.isFragment, v.fragmentOffset,
    v.moreFragments, v.fragmentId, v.l4Offset, v.l3Offset,
  ].join(',');
}
