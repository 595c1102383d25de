import * as z from 'zod';
import { parseCollectorAddress } from '../export/collector-address.js';
import * as D from './defaults.js';

/**
 * The single source of truth for tapflow's configuration: TypeScript types, validation (every
 * error with its path, unknown keys rejected) and the JSON Schema in probe-config/ are all derived
 * from these definitions. Every new key goes here, with a description, unit and default.
 */

const milliseconds = (description: string, fallback: number) =>
  z.number().int().min(1).max(7 * 24 * 3_600_000).default(fallback).describe(`${description} (milliseconds)`);

// The pattern is what the JSON Schema can say; the refinement is the parser the exporter uses, so
// the two agree on what a collector address is (port range, IPv6 brackets, host name rules).
const collectorAddress = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'expected HOST:PORT or [IPV6]:PORT', abort: true })
  .superRefine((text, ctx) => {
    try {
      parseCollectorAddress(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message, input: text });
    }
  })
  .describe('An IPFIX collector over UDP, HOST:PORT or [IPV6]:PORT');

const idleTimeouts = z
  .strictObject({
    tcp: milliseconds('Idle timeout of TCP flows', D.IDLE_TIMEOUT_TCP_MS),
    tcpFin: milliseconds('Timeout after FIN was seen in both directions', D.TCP_FIN_TIMEOUT_MS),
    tcpRst: milliseconds('Timeout after an RST', D.TCP_RST_TIMEOUT_MS),
    udp: milliseconds('Idle timeout of UDP flows', D.IDLE_TIMEOUT_UDP_MS),
    icmp: milliseconds('Idle timeout of ICMP and ICMPv6 flows', D.IDLE_TIMEOUT_ICMP_MS),
    other: milliseconds('Idle timeout of flows of any other protocol', D.IDLE_TIMEOUT_OTHER_MS),
  })
  .prefault({})
  .describe('Per-protocol idle timeouts: a flow with no packet for this long is exported (flowEndReason 1, or 3 after FIN/RST)');

const flowTable = z
  .strictObject({
    maxFlows: z
      .number()
      .int()
      .min(16)
      .max(16_777_216)
      .default(D.MAX_FLOWS)
      .describe('Flow-table capacity, preallocated at start (flows). When full, the flow closest to its timeout is exported with flowEndReason 5 (lackOfResources)'),
    activeTimeoutMs: milliseconds('Active timeout: a longer flow is exported in parts (flowEndReason 2)', D.ACTIVE_TIMEOUT_MS),
    idleTimeoutMs: idleTimeouts,
    expiryTickMs: milliseconds('How often expiry runs, on the packet clock in replay', D.EXPIRY_TICK_MS),
  })
  .prefault({})
  .describe('The bounded flow table');

const decoder = z
  .strictObject({
    fragmentMapEntries: z
      .number()
      .int()
      .min(16)
      .max(1_048_576)
      .default(D.FRAGMENT_MAP_ENTRIES)
      .describe('Capacity of the map that attributes non-first IP fragments to their flow (entries)'),
    fragmentTimeoutMs: milliseconds('How long a first fragment is remembered', D.FRAGMENT_TIMEOUT_MS),
  })
  .prefault({})
  .describe('Packet decoding');

const ipfix = z
  .strictObject({
    observationDomainId: z
      .number()
      .int()
      .min(0)
      .max(0xffff_ffff)
      .default(D.IPFIX_OBSERVATION_DOMAIN_ID)
      .describe('IPFIX observation domain id written in every message header'),
    mtuBytes: z
      .number()
      .int()
      .min(512)
      .max(65_507)
      .default(D.IPFIX_MTU_BYTES)
      .describe('Largest IPFIX message (bytes, IPFIX header included; UDP/IP headers not included)'),
    templateRefreshMessages: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(D.TEMPLATE_REFRESH_MESSAGES)
      .describe('Over UDP, templates are resent after this many messages'),
    templateRefreshMs: milliseconds('Over UDP, templates are resent after this long', D.TEMPLATE_REFRESH_MS),
  })
  .prefault({})
  .describe('IPFIX encoding');

const exportTarget = z
  .strictObject({
    collectors: z.array(collectorAddress).max(16).default([]).describe('IPFIX collectors over UDP'),
    file: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('Write IPFIX messages to this file (RFC 5655); null for none'),
  })
  .prefault({})
  .describe('Where flow records go');

const capture = z
  .strictObject({
    interfaces: z
      .array(z.string().regex(/^[^\s/]{1,15}$/, 'expected a network interface name'))
      .max(8)
      .default([])
      .describe('Interfaces to capture on (a TAP\'s A and B ports feed one flow table); `tapflow run --interface` overrides'),
    filter: z.string().max(4096).default('').describe('BPF filter (pcap-filter syntax) applied to every interface; empty for all traffic'),
    oneLink: z
      .boolean()
      .default(true)
      .describe("The interfaces are the ports of one link (a TAP's A and B sides): a connection whose directions arrive on different ports is one flow, each record carrying its own ingressInterface. false: one flow table entry per interface"),
    excludeOwnTraffic: z
      .boolean()
      .default(true)
      .describe("Add a BPF clause that drops tapflow's own export traffic (to its collectors), so it never meters itself"),
    snapLenBytes: z
      .number()
      .int()
      .min(64)
      .max(65_535)
      .default(D.SNAPLEN_BYTES)
      .describe('Bytes copied from each packet (headers and application hints; octets are counted from the IP header)'),
    bufferBytes: z
      .number()
      .int()
      .min(65_536)
      .max(1_073_741_824)
      .default(D.CAPTURE_BUFFER_BYTES)
      .describe('Kernel capture buffer per interface (bytes)'),
    ringSlots: z
      .number()
      .int()
      .min(64)
      .max(1_048_576)
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
      .default(D.RING_SLOTS)
      .describe('Packets the ring between capture and meter holds (a power of two); when full, packets are dropped and counted'),
    onMissingInterface: z
      .enum(['retry', 'fail'])
      .default('retry')
      .describe('An interface absent or down at start: retry with backoff (1 s doubling to 30 s), or fail at once'),
  })
  .prefault({})
  .describe('Live capture (tapflow run)');

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors'),
    capture,
    flowTable,
    decoder,
    ipfix,
    export: exportTarget,
  })
  .describe('tapflow probe configuration');

/** The validated, defaults-applied configuration. */
export type Config = z.output<typeof configSchema>;
/** What a config file may contain (every key optional where it has a default). */
export type ConfigInput = z.input<typeof configSchema>;
