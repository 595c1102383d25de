import { PacketView } from '../../src/decode/packet-view.js';

/** Client 10.0.0.1:40000 talking to a server on 10.0.0.2; the tests pick the server port. */
const CLIENT_ADDR = 0x0a000001;
const SERVER_ADDR = 0x0a000002;
const CLIENT_PORT = 40_000;

/**
 * A decoded IPv4 TCP packet (no bytes behind it), as the decoder would hand the flow table:
 * from the client when `fromClient`, else from the server; 20-byte IP + 20-byte TCP headers.
 */
export function tcpPacketView(serverPort: number, fromClient: boolean, flags: number, seq: number, ack: number, payload: number, window = 1000): PacketView {
  const v = new PacketView();
  v.ipVersion = 4;
  v.srcAddr[0] = fromClient ? CLIENT_ADDR : SERVER_ADDR;
  v.dstAddr[0] = fromClient ? SERVER_ADDR : CLIENT_ADDR;
  v.srcPort = fromClient ? CLIENT_PORT : serverPort;
  v.dstPort = fromClient ? serverPort : CLIENT_PORT;
  v.protocol = 6;
  v.tcpFlags = flags;
  v.tcpSeq = seq;
  v.tcpAck = ack;
  v.tcpWindow = window;
  v.payloadLength = payload;
  v.ipLength = 40 + payload;
  v.ttl = 64;
  return v;
}
