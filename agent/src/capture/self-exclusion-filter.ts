import { lookup } from 'node:dns/promises';
import { parseCollectorSpec } from '../export/collector-spec.js';

/** One destination tapflow itself sends to: its packets must not be metered. */
export interface OwnDestination {
  /** An IP literal (IPv4, or IPv6 without brackets). */
  address: string;
  port: number;
  protocol: 'udp' | 'tcp';
}

/**
 * The BPF filter tapflow captures with: the user's filter, minus tapflow's own export traffic, so
 * a probe whose collector sits behind the mirrored port never meters (and re-exports) itself.
 * softflowd and nProbe leave this to the user; a default is kinder.
 */
export function captureFilter(userFilter: string, own: readonly OwnDestination[]): string {
  const user = userFilter.trim();
  if (own.length === 0) return user;
  // UDP export only flows one way; a TCP/TLS connection also carries the collector's ACKs back.
  const clauses = own
    .map((d) => (d.protocol === 'udp' ? `(udp and dst host ${d.address} and dst port ${d.port})` : `(tcp and host ${d.address} and port ${d.port})`))
    .join(' or ');
  return user === '' ? `not (${clauses})` : `(${user}) and not (${clauses})`;
}

/** The collectors as IP literals (host names resolved now, every address they have). */
export async function collectorDestinations(collectors: readonly string[]): Promise<OwnDestination[]> {
  const out: OwnDestination[] = [];
  for (const collector of collectors) {
    const { address: { host, port, family }, transport } = parseCollectorSpec(collector);
    const addresses = family === 0 ? (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address) : [host];
    for (const address of addresses) out.push({ address, port, protocol: transport === 'udp' ? 'udp' : 'tcp' });
  }
  return out;
}

const DEFAULT_BROKER_PORTS: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };

/** The MQTT broker as IP literals: tapflow's fleet traffic is not metered either. */
export async function brokerDestinations(url: string | null): Promise<OwnDestination[]> {
  if (url === null) return [];
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port !== '' ? Number(parsed.port) : (DEFAULT_BROKER_PORTS[parsed.protocol] ?? 1883);
  const addresses = /^[\d.]+$|:/.test(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  return addresses.map((address) => ({ address, port, protocol: 'tcp' as const }));
}
