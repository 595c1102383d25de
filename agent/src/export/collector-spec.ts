/**
 * A collector as written on the command line and in the configuration:
 * `[FORMAT+]TRANSPORT://HOST:PORT`, e.g. `ipfix+udp://10.0.0.5:4739`, `ipfix+tcp://[2001:db8::5]:4739`,
 * `ipfix+tls://collector.example:4740`, `nfv9+udp://…`, `nfv5+udp://…`. FORMAT defaults to ipfix;
 * a bare `HOST:PORT` is IPFIX over UDP (what tapflow accepted before formats existed).
 * NetFlow v9 and v5 are UDP-only: their collectors (nfcapd, nfacctd, GoFlow2) listen on UDP only and
 * the formats define no stream framing worth relying on.
 */
import { AgentError } from '../core/errors.js';
import { formatCollectorAddress, parseCollectorAddress, type CollectorAddress } from './collector-address.js';

export const EXPORT_FORMATS = ['ipfix', 'nfv9', 'nfv5'] as const;
export const EXPORT_TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type ExportTransportKind = (typeof EXPORT_TRANSPORTS)[number];

export interface CollectorSpec {
  readonly format: ExportFormat;
  readonly transport: ExportTransportKind;
  readonly address: CollectorAddress;
  /** Canonical form, `format+transport://host:port` (IPv6 in brackets): names the collector in summaries and logs. */
  readonly name: string;
}

/** What the JSON Schema can check; parseCollectorSpec says precisely what is wrong. */
/** `ipfix` → `[iI][pP][fF][iI][xX]`: JSON Schema patterns have no case-insensitive flag. */
const anyCase = (word: string): string => [...word].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c)).join('');

export const COLLECTOR_SPEC_PATTERN = `^(((${['ipfix', 'nfv9', 'nfv5'].map(anyCase).join('|')})\\+)?(${['udp', 'tcp', 'tls'].map(anyCase).join('|')})://)?(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):\\d{1,5}$`;

function invalid(text: string, why: string): AgentError {
  return new AgentError('TAPFLOW_E_EXPORT_COLLECTOR_ADDRESS', `invalid collector ${JSON.stringify(text)}: ${why}`);
}

export function parseCollectorSpec(text: string): CollectorSpec {
  let format: ExportFormat = 'ipfix';
  let transport: ExportTransportKind = 'udp';
  let rest = text;
  const scheme = text.indexOf('://');
  if (scheme >= 0) {
    const prefix = text.slice(0, scheme).toLowerCase();
    rest = text.slice(scheme + 3);
    const plus = prefix.indexOf('+');
    const formatText = plus >= 0 ? prefix.slice(0, plus) : 'ipfix';
    const transportText = plus >= 0 ? prefix.slice(plus + 1) : prefix;
    if (!(EXPORT_FORMATS as readonly string[]).includes(formatText)) {
      throw invalid(text, `unknown format ${JSON.stringify(formatText)} (expected ${EXPORT_FORMATS.join(', ')})`);
    }
    if (!(EXPORT_TRANSPORTS as readonly string[]).includes(transportText)) {
      throw invalid(text, `unknown transport ${JSON.stringify(transportText)} (expected ${EXPORT_TRANSPORTS.join(', ')})`);
    }
    format = formatText as ExportFormat;
    transport = transportText as ExportTransportKind;
    if (format !== 'ipfix' && transport !== 'udp') throw invalid(text, `${format} is sent over UDP only (use ${format}+udp://…)`);
  }
  let address: CollectorAddress;
  try {
    address = parseCollectorAddress(rest);
  } catch (error) {
    throw invalid(text, (error as Error).message.replace(/^invalid collector address "[^"]*": /, ''));
  }
  return { format, transport, address, name: `${format}+${transport}://${formatCollectorAddress(address)}` };
}
