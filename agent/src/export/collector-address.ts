/**
 * Parse a UDP collector address as written in the configuration: `host:port`, `a.b.c.d:port` or
 * `[ipv6]:port` (brackets as in RFC 3986, so the port is never ambiguous).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { AgentError } from '../core/errors.js';

export interface CollectorAddress {
  /** IP literal (IPv6 without brackets) or host name. */
  readonly host: string;
  readonly port: number;
  /** 4 or 6 for IP literals; 0 for a host name (resolved when the transport opens). */
  readonly family: 0 | 4 | 6;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function invalid(text: string, why: string): AgentError {
  return new AgentError('TAPFLOW_E_EXPORT_COLLECTOR_ADDRESS', `invalid collector address ${JSON.stringify(text)}: ${why}`);
}

export function parseCollectorAddress(text: string): CollectorAddress {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw invalid(text, "missing ']' after the IPv6 address");
    host = text.slice(1, close);
    if (text.charAt(close + 1) !== ':') throw invalid(text, "expected ':PORT' after ']'");
    portText = text.slice(close + 2);
    if (!isIPv6(host)) throw invalid(text, `${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw invalid(text, 'expected HOST:PORT or [IPV6]:PORT');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw invalid(text, `IPv6 addresses need brackets, e.g. [${host}]:${portText}`);
    if (!isIPv4(host) && !HOSTNAME.test(host)) throw invalid(text, `${JSON.stringify(host)} is not an IPv4 address or host name`);
  }
  if (!/^\d{1,5}$/.test(portText)) throw invalid(text, `port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65_535) throw invalid(text, `port ${port} is outside 1..65535`);
  const family = isIPv6(host) ? 6 : isIPv4(host) ? 4 : 0;
  return { host, port, family };
}

/** The address as written in configuration: `host:port`, IPv6 literals in brackets. */
export function formatCollectorAddress(address: CollectorAddress): string {
  return `${address.family === 6 ? `[${address.host}]` : address.host}:${address.port}`;
}
