/**
 * Hand-made Ethernet/IPv4/TCP-or-UDP frames around an application payload, for the flow-hints
 * tests: client 10.0.0.1, server 10.0.0.2, checksums zero (the decoder does not check them).
 */
import { CapturedPacket } from '../../../src/capture/captured-packet.js';

export const LINKTYPE_ETHERNET = 1;
export const CLIENT_PORT_OFFSET_OUT = 14 + 20; // source port of a client → server frame
export const CLIENT_PORT_OFFSET_BACK = 14 + 20 + 2; // destination port of a server → client frame

export interface FrameSpec {
  protocol: 6 | 17;
  fromClient: boolean;
  clientPort: number;
  serverPort: number;
  payload?: Uint8Array;
  /** TCP flags (default ACK|PSH with payload, ACK without). */
  tcpFlags?: number;
  seq?: number;
}

/** One frame: Ethernet II, IPv4 (no options), TCP (20-byte header) or UDP, then the payload. */
export function frame(spec: FrameSpec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  const l4Bytes = spec.protocol === 6 ? 20 : 8;
  const data = new Uint8Array(14 + 20 + l4Bytes + payload.length);
  const v = new DataView(data.buffer);
  v.setUint16(12, 0x0800); // EtherType IPv4
  data[14] = 0x45; // version 4, IHL 5
  v.setUint16(16, 20 + l4Bytes + payload.length); // total length
  data[22] = 64; // TTL
  data[23] = spec.protocol;
  v.setUint32(26, spec.fromClient ? 0x0a000001 : 0x0a000002);
  v.setUint32(30, spec.fromClient ? 0x0a000002 : 0x0a000001);
  const l4 = 34;
  v.setUint16(l4, spec.fromClient ? spec.clientPort : spec.serverPort);
  v.setUint16(l4 + 2, spec.fromClient ? spec.serverPort : spec.clientPort);
  if (spec.protocol === 6) {
    v.setUint32(l4 + 4, spec.seq ?? 1000);
    v.setUint32(l4 + 8, 1);
    data[l4 + 12] = 5 << 4; // data offset: 20 bytes
    data[l4 + 13] = spec.tcpFlags ?? (payload.length > 0 ? 0x18 : 0x10);
    v.setUint16(l4 + 14, 65535); // window
  } else {
    v.setUint16(l4 + 4, 8 + payload.length);
  }
  data.set(payload, l4 + l4Bytes);
  return data;
}

export function captured(data: Uint8Array, tsUs: number): CapturedPacket {
  const packet = new CapturedPacket();
  packet.data = data;
  packet.capLen = data.length;
  packet.wireLen = data.length;
  packet.tsUs = tsUs;
  packet.linkType = LINKTYPE_ETHERNET;
  return packet;
}
