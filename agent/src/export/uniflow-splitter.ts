/**
 * In front of uniflow exporters (IPFIX by default, NetFlow v9 and v5): a flow record holding both
 * directions (see FlowRecord) becomes up to two one-direction records, forward first, each with
 * the reverse fields zeroed and empty directions skipped. The reverse record swaps addresses,
 * ports and MACs. One preallocated scratch record: nothing is allocated per record.
 */
import { FlowRecord, type FlowRecordSink } from '../flow/flow-record.js';

const PROTO_ICMP = 1;
const PROTO_ICMPV6 = 58;

export class UniflowSplitter implements FlowRecordSink {
  private readonly forward = new FlowRecord();
  private readonly reverse = new FlowRecord();

  constructor(private readonly inner: FlowRecordSink) {}

  add(rec: FlowRecord): void {
    if (rec.packets > 0) {
      copyForward(rec, this.forward);
      this.inner.add(this.forward);
    }
    if (rec.reversePackets > 0) {
      copyReverse(rec, this.reverse);
      this.inner.add(this.reverse);
    }
  }

  flush(nowMs: number): void {
    this.inner.flush(nowMs);
  }
}

function copyKey(from: FlowRecord, to: FlowRecord): void {
  to.ipVersion = from.ipVersion;
  to.protocol = from.protocol;
  to.vlanId = from.vlanId;
  to.endReason = from.endReason;
  // Per-connection values describe the connection, so both one-direction records carry them.
  to.connectionOutcome = from.connectionOutcome;
  to.synRetries = from.synRetries;
  to.handshakeServerRttUs = from.handshakeServerRttUs;
  to.handshakeClientRttUs = from.handshakeClientRttUs;
  to.serverResponseCount = from.serverResponseCount;
  to.serverResponseSumUs = from.serverResponseSumUs;
  to.serverResponseMinUs = from.serverResponseMinUs;
  to.serverResponseMaxUs = from.serverResponseMaxUs;
  // So do the application hints (one question/request and its answer describe the connection).
  to.appHintKind = from.appHintKind;
  to.dnsQueryNameLength = copyText(from.dnsQueryName, from.dnsQueryNameLength, to.dnsQueryName);
  to.dnsQueryType = from.dnsQueryType;
  to.dnsResponseSeen = from.dnsResponseSeen;
  to.dnsResponseCode = from.dnsResponseCode;
  to.httpRequestMethodLength = copyText(from.httpRequestMethod, from.httpRequestMethodLength, to.httpRequestMethod);
  to.httpRequestHostLength = copyText(from.httpRequestHost, from.httpRequestHostLength, to.httpRequestHost);
  to.httpStatusCode = from.httpStatusCode;
  to.tlsServerNameLength = copyText(from.tlsServerName, from.tlsServerNameLength, to.tlsServerName);
  to.tlsVersion = from.tlsVersion;
  to.tlsAlpnLength = copyText(from.tlsAlpn, from.tlsAlpnLength, to.tlsAlpn);
}

/** The first `length` bytes of a text field (both HINT_TEXT_MAX_BYTES long); a loop, so no view is made. */
function copyText(from: Uint8Array, length: number, to: Uint8Array): number {
  for (let i = 0; i < length; i++) to[i] = from[i]!;
  return length;
}

function copyForward(from: FlowRecord, to: FlowRecord): void {
  copyKey(from, to);
  to.srcAddr.set(from.srcAddr);
  to.dstAddr.set(from.dstAddr);
  to.srcPort = from.srcPort;
  to.dstPort = from.dstPort;
  to.icmpTypeCode = from.icmpTypeCode;
  to.packets = from.packets;
  to.octets = from.octets;
  to.tcpFlags = from.tcpFlags;
  to.tos = from.tos;
  to.minTtl = from.minTtl;
  to.maxTtl = from.maxTtl;
  to.srcMac = from.srcMac;
  to.dstMac = from.dstMac;
  to.ingressInterface = from.ingressInterface;
  to.startMs = from.startMs;
  to.endMs = from.endMs;
  to.retransmittedPackets = from.retransmittedPackets;
  to.retransmittedOctets = from.retransmittedOctets;
  to.outOfOrderPackets = from.outOfOrderPackets;
  to.zeroWindowEvents = from.zeroWindowEvents;
  to.minIpOctets = from.minIpOctets;
  to.maxIpOctets = from.maxIpOctets;
}

function copyReverse(from: FlowRecord, to: FlowRecord): void {
  copyKey(from, to);
  to.srcAddr.set(from.dstAddr);
  to.dstAddr.set(from.srcAddr);
  // ICMP has no ports: the flow is keyed by type/code in the destination port, which describes
  // the reverse direction's packets just the same (they matched that key).
  const icmp = from.protocol === PROTO_ICMP || from.protocol === PROTO_ICMPV6;
  to.srcPort = icmp ? from.srcPort : from.dstPort;
  to.dstPort = icmp ? from.dstPort : from.srcPort;
  to.icmpTypeCode = icmp ? from.icmpTypeCode : 0;
  to.packets = from.reversePackets;
  to.octets = from.reverseOctets;
  to.tcpFlags = from.reverseTcpFlags;
  to.tos = from.reverseTos;
  to.minTtl = from.reverseMinTtl;
  to.maxTtl = from.reverseMaxTtl;
  to.srcMac = from.reverseSrcMac;
  to.dstMac = from.reverseDstMac;
  to.ingressInterface = from.reverseIngressInterface;
  to.startMs = from.reverseStartMs;
  to.endMs = from.reverseEndMs;
  to.retransmittedPackets = from.reverseRetransmittedPackets;
  to.retransmittedOctets = from.reverseRetransmittedOctets;
  to.outOfOrderPackets = from.reverseOutOfOrderPackets;
  to.zeroWindowEvents = from.reverseZeroWindowEvents;
  to.minIpOctets = from.reverseMinIpOctets;
  to.maxIpOctets = from.reverseMaxIpOctets;
}
