import { validateDetailed as validateCronDetailed } from 'node-cron';
import * as z from 'zod';
import { COLLECTOR_SPEC_PATTERN, parseCollectorSpec } from '../export/collector-spec.js';
import * as D from './defaults.js';

/**
 * The single source of truth for tapflow's configuration: TypeScript types, validation (every
 * error with its path, unknown keys rejected) and the JSON Schema in probe-config/ are all derived
 * from these definitions. Every new key goes here, with a description, unit and default.
 */

const milliseconds = (description: string, fallback: number) =>
  z.number().int().min(1).max(7 * 24 * 3_600_000).default(fallback).describe(`${description} (milliseconds)`);

// The pattern is what the JSON Schema can say; the refinement is the parser the exporter uses, so
// the two agree on what a collector is (formats, port range, IPv6 brackets, host name rules).
const collectorSpec = z
  .string()
  .regex(new RegExp(COLLECTOR_SPEC_PATTERN), { error: 'expected [FORMAT+]TRANSPORT://HOST:PORT or HOST:PORT' })
  .superRefine(
    (text, ctx) => {
      try {
        parseCollectorSpec(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message, input: text });
      }
    },
    // Only when the pattern matched (one message per bad collector); not aborting, so the
    // configuration's cross-field rules still run and every problem is listed at once.
    { when: (payload) => payload.issues.length === 0 },
  )
  .describe('A collector, [FORMAT+]TRANSPORT://HOST:PORT: ipfix+udp, ipfix+tcp, ipfix+tls, nfv9+udp or nfv5+udp; a bare HOST:PORT is IPFIX over UDP; IPv6 literals in brackets');

const optionalFile = (description: string) => z.string().min(1).nullable().default(null).describe(description);

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

const count = (min: number, max: number, fallback: number, description: string) => z.number().int().min(min).max(max).default(fallback).describe(description);

const hints = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Read application hints (DNS query name, type and response code; HTTP method, Host and status; TLS server name, ALPN and version) from the first payload packets of each flow into its records'),
    packetsPerDirection: count(1, 255, D.HINT_PACKETS_PER_DIRECTION, 'Payload packets read per direction of a flow; reading stops earlier once the hint is complete (question and response, request and status, ClientHello and ServerHello) (packets)'),
    snapBytes: count(16, 65_535, D.HINT_SNAP_BYTES, 'Payload bytes of each packet the hint parsers read; longer payloads are cut (bytes)'),
    nameBytes: count(1, 254, D.HINT_NAME_BYTES, 'Bytes kept of the DNS query name, HTTP Host or TLS server name, preallocated per flow; a longer name is cut to its first bytes (bytes)'),
    alpnBytes: count(1, 254, D.HINT_ALPN_BYTES, 'Bytes kept of the first TLS ALPN protocol, preallocated per flow (bytes)'),
    httpMaxScanBytes: count(16, 65_535, D.HINT_HTTP_MAX_SCAN_BYTES, 'Bytes of an HTTP request scanned for the Host header (bytes)'),
    dnsMaxPointerHops: count(1, 255, D.HINT_DNS_MAX_POINTER_HOPS, 'DNS compression pointers followed per name; more: the message is malformed (pointers)'),
    dnsMaxLabels: count(1, 255, D.HINT_DNS_MAX_LABELS, 'DNS labels read per name (a legal name has at most 127); more: the message is malformed (labels)'),
    tlsMaxExtensions: count(1, 1_024, D.HINT_TLS_MAX_EXTENSIONS, 'TLS hello extensions walked; more: the hello is malformed (extensions)'),
  })
  .prefault({})
  .describe('Application hints, read from the first packets of each flow (changes need a restart)');

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
    statisticsIntervalMs: milliseconds(
      'How often the exporting-process statistics (options template, RFC 7011 §4) are sent, on the export clock',
      D.STATISTICS_INTERVAL_MS,
    ),
    connectionFields: z
      .boolean()
      .default(true)
      .describe(
        'TCP flows on templates 270/271 (biflow 274/275) with the connection metrics, outcome and HTTP/TLS/DNS hints, DNS flows on 272/273 (276/277); false: every flow on the classic templates 256-259',
      ),
    enterpriseNumber: z
      .number()
      .int()
      .min(1)
      .max(0xffff_ffff)
      .refine((pen) => pen !== 29_305, 'PEN 29305 is RFC 5103\'s reverse-element PEN')
      .default(D.IPFIX_ENTERPRISE_NUMBER)
      .describe("Private Enterprise Number of tapflow's own IPFIX elements (default 32473, RFC 5612's documentation PEN; set your organisation's)"),
  })
  .prefault({})
  .describe('IPFIX encoding');

const streamTransport = z
  .strictObject({
    pendingBytes: z
      .number()
      .int()
      .min(65_536)
      .max(268_435_456)
      .default(D.STREAM_PENDING_BYTES)
      .describe('Per TCP/TLS collector: messages waiting for the connection, preallocated (bytes). When full, new messages are dropped and counted'),
    reconnectMinMs: milliseconds('First wait before reconnecting to a TCP/TLS collector; doubles on each failure', D.RECONNECT_MIN_MS),
    reconnectMaxMs: milliseconds('Longest wait between reconnection attempts', D.RECONNECT_MAX_MS),
    connectTimeoutMs: milliseconds('Give up a TCP/TLS connection attempt after this long', D.CONNECT_TIMEOUT_MS),
  })
  .prefault({})
  .describe('IPFIX over TCP and TLS (RFC 7011 §10.4)');

const tls = z
  .strictObject({
    caFile: optionalFile('PEM file of the CA(s) that signed the collectors\' certificates; null: the system CAs'),
    certFile: optionalFile('PEM client certificate, for collectors that require one; null for none'),
    keyFile: optionalFile('PEM private key of certFile; null for none'),
    serverName: z
      .string()
      .min(1)
      .max(253)
      .nullable()
      .default(null)
      .describe("Name the collectors' certificates must carry; null: the collector's host"),
  })
  .prefault({})
  .describe('TLS for ipfix+tls:// collectors (certificates always verified)');

const exportTarget = z
  .strictObject({
    collectors: z.array(collectorSpec).max(16).default([]).describe('Collectors, each with its own format and transport'),
    mode: z
      .enum(['mirror', 'failover'])
      .default('mirror')
      .describe('mirror: every collector receives every record; failover: only the first healthy collector in list order does'),
    biflow: z
      .boolean()
      .default(false)
      .describe('IPFIX collectors and the file get one RFC 5103 bidirectional record per flow (reverse elements, PEN 29305) instead of one record per direction; NetFlow v9/v5 stay unidirectional'),
    file: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('Write IPFIX messages to this file (RFC 5655); null for none'),
    fileAppend: z
      .boolean()
      .default(false)
      .describe('Add to the IPFIX file instead of truncating it at start (a service that restarts keeps what it wrote); a configuration reload always appends'),
    stream: streamTransport,
    tls,
  })
  .prefault({})
  .describe('Where flow records go');

// node-cron's own parser decides what a schedule is, so config and scheduler agree.
const cronExpression = (description: string, fallback: string) =>
  z
    .string()
    .max(200)
    .superRefine((text, ctx) => {
      const result = validateCronDetailed(text);
      if (!result.valid) ctx.addIssue({ code: 'custom', input: text, message: `not a cron expression: ${result.errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'invalid'}` });
    })
    .default(fallback)
    .describe(`${description} (cron, 5 fields or 6 with seconds first)`);

const mqttTls = z
  .strictObject({
    caFile: optionalFile("PEM file of the CA(s) that signed the broker's certificate; null: the system CAs"),
    certFile: optionalFile('PEM client certificate, for brokers that require one; null for none'),
    keyFile: optionalFile('PEM private key of certFile; null for none'),
    serverName: z.string().min(1).max(253).nullable().default(null).describe("Name the broker's certificate must carry; null: the URL's host"),
  })
  .prefault({})
  .describe('TLS for mqtts:// and wss:// brokers (certificates always verified)');

// A topic level may not contain MQTT wildcards; the probe id is one level of the default root.
const probeId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 . _ : -')
  .nullable()
  .default(null)
  .describe("This probe's name in the fleet: the MQTT client id and part of the default topic root; null: the host name");

const mqtt = z
  .strictObject({
    url: z
      .string()
      .regex(/^([mM][qQ][tT][tT][sS]?|[wW][sS][sS]?):\/\/[^\s]+$/, 'expected mqtt://, mqtts://, ws:// or wss:// URL')
      .nullable()
      .default(null)
      .describe('Broker URL (mqtt://host:1883, mqtts://host:8883, ws://host/mqtt, wss://...); null: no fleet channel'),
    probeId,
    topicRoot: z
      .string()
      .regex(/^[^#+\u0000]{1,200}\/$/, "expected a topic prefix ending in '/' without wildcards")
      .nullable()
      .default(null)
      .describe("Prefix of every topic tapflow publishes and listens on; null: 'tapflow/<probeId>/'"),
    username: z.string().min(1).max(256).nullable().default(null).describe('Broker user name; null for none'),
    password: z.string().max(1024).nullable().default(null).describe('Broker password; prefer passwordFile'),
    passwordFile: optionalFile('File holding the broker password (first line), readable by tapflow only; null for none'),
    protocolVersion: z.literal([5, 4]).default(5).describe('MQTT 5 (request/response, content types) or 4 for MQTT 3.1.1 brokers'),
    keepaliveS: z.number().int().min(5).max(3600).default(D.MQTT_KEEPALIVE_S).describe('MQTT keep-alive (seconds): the broker declares the probe lost after 1.5 times this without traffic'),
    connectTimeoutMs: milliseconds('Give up a broker connection attempt after this long', D.MQTT_CONNECT_TIMEOUT_MS),
    reconnectMinMs: milliseconds('First wait before reconnecting to the broker; doubles on each failure', D.RECONNECT_MIN_MS),
    reconnectMaxMs: milliseconds('Longest wait between broker reconnection attempts', D.RECONNECT_MAX_MS),
    tls: mqttTls,
    payloadFormat: z.enum(['msgpack', 'json']).default('msgpack').describe('Encoding of published payloads: standard MessagePack or JSON (MQTT 5 content type set either way)'),
    outbox: z
      .strictObject({
        maxMessages: z.number().int().min(1).max(100_000).default(D.MQTT_OUTBOX_MESSAGES).describe('Messages kept while the broker is unreachable; the oldest are dropped and counted (messages)'),
        maxBytes: z.number().int().min(1024).max(268_435_456).default(D.MQTT_OUTBOX_BYTES).describe('Payload bytes kept while the broker is unreachable (bytes)'),
      })
      .prefault({})
      .describe('The bounded outbox: delivered in order after a reconnect'),
    health: z
      .strictObject({
        cron: cronExpression('When health is published', D.HEALTH_CRON),
        sampleTimeoutMs: milliseconds('A system reading (CPU, temperature, disks, NICs) that takes longer is reported as timed out', D.HEALTH_SAMPLE_TIMEOUT_MS),
      })
      .prefault({})
      .describe('Health messages (<root>health)'),
    summary: z
      .strictObject({
        cron: cronExpression('When the traffic summary is published', D.SUMMARY_CRON),
        topN: z.number().int().min(1).max(100).default(D.SUMMARY_TOP_N).describe('Entries in each top-N list'),
        sketchCapacity: z
          .number()
          .int()
          .min(16)
          .max(4_096)
          .default(D.SUMMARY_SKETCH_CAPACITY)
          .describe('Keys each Space-Saving sketch tracks (fixed memory, ~1.8 KiB per key with the service latency histograms): a key with more than 1/capacity of an interval\'s traffic is always listed'),
      })
      .prefault({})
      .describe('Traffic summaries (<root>summary): the flow records exported since the previous one'),
    recentFlows: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(D.RECENT_FLOWS)
      .describe('The most recently exported flow records kept on the probe (preallocated, ~200 bytes each) for the flows.query command (records)'),
    jitterMs: z.number().int().min(0).max(60_000).default(D.SCHEDULE_JITTER_MS).describe('Scheduled publications start up to this long after their time, at random, so a fleet spreads its load (milliseconds)'),
  })
  .prefault({})
  .describe('MQTT fleet channel: presence, health, summaries and commands');

const sampling = z
  .strictObject({
    interval: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(1)
      .describe('Meter 1 packet in N (1: every packet). Exported counters are the sampled ones; the interval is announced to collectors, which scale them'),
    method: z
      .enum(['deterministic', 'random'])
      .default('deterministic')
      .describe('deterministic: every Nth packet; random: each packet with probability 1/N'),
  })
  .prefault({})
  .describe('Packet sampling');

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
    hints,
    decoder,
    sampling,
    ipfix,
    export: exportTarget,
    mqtt,
  })
  // The cross-field rules run even when other keys are wrong (zod skips refinements after an
  // error by default), so one check-config run lists every problem. The value may then be partly
  // invalid: each rule reads only what it needs, defensively.
  .superRefine(
    (input, ctx) => {
      const config = input as unknown as DeepPartial<Config>;
      const exp = config.export;
      const collectors = Array.isArray(exp?.collectors) ? exp.collectors : [];
      // NetFlow v5 announces the sampling interval in 14 header bits.
      const v5 = collectors.some((collector) => typeof collector === 'string' && collector.toLowerCase().startsWith('nfv5+'));
      const interval = config.sampling?.interval;
      if (v5 && typeof interval === 'number' && interval > 16_383) {
        ctx.addIssue({ code: 'custom', path: ['sampling', 'interval'], input: interval, message: 'NetFlow v5 collectors can be told sampling intervals up to 16383 only' });
      }
      for (const [section, tls] of [['export', exp?.tls], ['mqtt', config.mqtt?.tls]] as const) {
        if (tls === undefined || tls === null) continue;
        const cert = tls.certFile ?? null;
        const key = tls.keyFile ?? null;
        if ((cert === null) !== (key === null)) {
          ctx.addIssue({ code: 'custom', path: [section, 'tls', cert === null ? 'certFile' : 'keyFile'], input: cert ?? key, message: `certFile and keyFile go together: ${cert === null ? 'certFile' : 'keyFile'} is missing` });
        }
      }
      const broker = config.mqtt;
      if (broker?.password != null && broker.passwordFile != null) {
        ctx.addIssue({ code: 'custom', path: ['mqtt', 'passwordFile'], input: broker.passwordFile, message: 'give password or passwordFile, not both' });
      }
      for (const [path, section] of [[['mqtt'], broker], [['export', 'stream'], exp?.stream]] as const) {
        const min = section?.reconnectMinMs;
        const max = section?.reconnectMaxMs;
        if (typeof min === 'number' && typeof max === 'number' && min > max) {
          ctx.addIssue({ code: 'custom', path: [...path, 'reconnectMaxMs'], input: max, message: `must be at least reconnectMinMs (${min})` });
        }
      }
    },
    { when: () => true },
  )
  .describe('tapflow probe configuration');

type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> | null : T[K] };

/** The validated, defaults-applied configuration. */
export type Config = z.output<typeof configSchema>;
/** What a config file may contain (every key optional where it has a default). */
export type ConfigInput = z.input<typeof configSchema>;
