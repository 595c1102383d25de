import { decodePacket } from '../../../src/decode/decode-packet.js';
import { DECODE_STATUS_NAMES, type DecodeStatus } from '../../../src/decode/decode-status.js';
import { PacketView } from '../../../src/decode/packet-view.js';

export const LINK_ETHERNET = 1;

/** Decodes a whole fixture (capLen = its length; wireLen defaults to the same) into a fresh view. */
export function decode(bytes: Uint8Array, linkType = LINK_ETHERNET, wireLen = bytes.length): { status: string; view: PacketView } {
  const view = new PacketView();
  const status = decodePacket(bytes, 0, bytes.length, wireLen, linkType, view);
  return { status: statusName(status), view };
}

/** Status names read better in assertion messages than numbers. */
export function statusName(status: DecodeStatus): string {
  return DECODE_STATUS_NAMES[status] ?? `unknown ${status}`;
}
