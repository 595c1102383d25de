import { IpProtocol } from '../decode/transport.js';
import { AppHintKind, type AppHints, HintStatus } from './app-hints.js';
import { parseDns, parseDnsOverTcp } from './dns-hint.js';
import { parseHttp } from './http-hint.js';
import { parseTls } from './tls-hint.js';

/** DNS (53), mDNS (5353) and LLMNR (5355) share the RFC 1035 message format. */
const DNS_PORT = 53;
const MDNS_PORT = 5353;
const LLMNR_PORT = 5355;
const TLS_CONTENT_TYPE_HANDSHAKE = 22;

/**
 * Picks the hint parser for one transport payload: DNS by port (its header has no signature),
 * TLS and HTTP by content on TCP (they run on any port). Returns the parser's status; hints.kind
 * says which protocol was recognised (NONE with NOT_MATCHED when nothing was).
 */
export function parseAppHints(
  bytes: Uint8Array,
  offset: number,
  length: number,
  protocol: number,
  srcPort: number,
  dstPort: number,
  hints: AppHints,
): HintStatus {
  if (protocol === IpProtocol.UDP) {
    if (isDnsPort(srcPort) || isDnsPort(dstPort)) return parseDns(bytes, offset, length, hints);
    hints.reset();
    return HintStatus.NOT_MATCHED;
  }
  if (protocol !== IpProtocol.TCP || length <= 0) {
    hints.reset();
    return HintStatus.NOT_MATCHED;
  }
  if (srcPort === DNS_PORT || dstPort === DNS_PORT) return parseDnsOverTcp(bytes, offset, length, hints);
  if (bytes[offset] === TLS_CONTENT_TYPE_HANDSHAKE) return parseTls(bytes, offset, length, hints);
  const status = parseHttp(bytes, offset, length, hints);
  if (hints.kind === AppHintKind.NONE) return HintStatus.NOT_MATCHED;
  return status;
}

function isDnsPort(port: number): boolean {
  return port === DNS_PORT || port === MDNS_PORT || port === LLMNR_PORT;
}
