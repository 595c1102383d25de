/**
 * The payloads tapflow publishes on MQTT (README "Fleet channel" documents them with examples).
 * Plain data only — numbers, strings, booleans, null, arrays and maps — so standard MessagePack
 * (msgpackr with useRecords: false) and JSON carry them alike. Times are integer milliseconds
 * since the Unix epoch; every payload names its schema and version, so dashboards can evolve.
 */

/** `<root>status`, retained: online on connect, offline by the broker (last will) or on a graceful stop. */
export interface StatusPayload {
  schema: 'tapflow.status/1';
  probeId: string;
  state: 'online' | 'offline';
  /** Why offline: 'stopped' (graceful stop), 'connection lost' (the broker's last will). */
  reason: string | null;
  version: string;
  /** sha256 (hex, first 16 characters) of the running configuration's canonical JSON. */
  configHash: string;
  startedAt: number;
  hostname: string;
  pid: number;
  /** 'run' (live capture) or 'replay' (capture files). */
  mode: 'run' | 'replay';
  interfaces: string[];
  at: number;
}

/** systeminformation's view of the machine; fields it could not read in time are null. */
export interface SystemHealth {
  cpuPercent: number | null;
  /** 1, 5 and 15 minute load averages. */
  load: number[] | null;
  memory: { totalBytes: number; usedBytes: number; availableBytes: number } | null;
  temperatureC: number | null;
  disks: { mount: string; sizeBytes: number; usedBytes: number; usePercent: number }[] | null;
  /** The capture interfaces' own counters (sysfs via systeminformation). */
  nics: { name: string; rxBytes: number; rxPackets: number | null; rxDropped: number; rxErrors: number; txBytes: number }[] | null;
  /** What did not answer within the sampling timeout (e.g. ['temperature']). */
  timedOut: string[];
  sampleMs: number;
}

/** tapflow's own counters, cumulative since start unless named per interval. */
export interface ProbeCounters {
  traffic: {
    /** Packets handed to the meter, and the IP octets of those metered (= IPFIX octetDeltaCount sums). */
    packets: number;
    meteredPackets: number;
    octets: number;
    /** Over the interval since the previous health message. */
    packetsPerSecond: number;
    bitsPerSecond: number;
    malformed: Record<string, number>;
    malformedTotal: number;
    ignored: Record<string, number>;
    samplingSkipped: number;
  };
  capture: {
    interfaces: { name: string; packetsSeen: number; kernelDropped: number | null; unseenEstimate: number | null; outages: number }[];
    ringDropped: number;
  } | null;
  flows: {
    active: number;
    capacity: number;
    created: number;
    evictions: number;
    /** Flow records exported by flowEndReason name (idleTimeout, activeTimeout, endOfFlow, forcedEnd, lackOfResources). */
    recordsByEndReason: Record<string, number>;
  };
  export: {
    messages: number;
    records: number;
    bytes: number;
    destinations: { target: string; sent: number; dropped: number; droppedRecords: number; errors: number; problem: string | null; active: boolean }[];
  };
}

/** `<root>health`, on the health schedule. */
export interface HealthPayload extends ProbeCounters {
  schema: 'tapflow.health/1';
  probeId: string;
  /** Counts health messages of this run from 1; a gap means messages the outbox dropped. */
  seq: number;
  at: number;
  uptimeS: number;
  /** Seconds since the previous health message (the rates' interval). */
  intervalS: number;
  system: SystemHealth;
  process: { rssBytes: number; heapUsedBytes: number };
  /** The MQTT outbox: messages waiting for the broker, and dropped (oldest first) since start. */
  outbox: { depth: number; capacity: number; dropped: number };
  /** Set on the last message of a run (graceful stop, end of a replay). */
  final: boolean;
}

/** One entry of a top-N list. `error` bounds how much `value` may overstate (0: exact). */
export interface TopEntry {
  value: number;
  error: number;
}

/**
 * TCP connections by outcome (FlowRecord.connectionOutcome), each counted once, on the final record
 * of its flow (flowEndReason not activeTimeout), so over the connections that ended in the interval.
 */
export interface TcpOutcomes {
  /** FIN seen in both directions. */
  completed: number;
  /** The client (the side that sent the SYN) sent a RST. */
  resetByClient: number;
  /** The server sent a RST after its SYN/ACK. */
  resetByServer: number;
  /** The server answered the SYN with a RST. */
  rejected: number;
  /** SYN(s) sent, no SYN/ACK came. */
  synUnanswered: number;
  /** Answered, then silent until the idle timeout, without FIN or RST. */
  idle: number;
  /** Still open when forced out (end of input, stop, a full table). */
  openAtEnd: number;
  /** The first packet seen was not a SYN (started before the capture, or the SYN was missed). */
  midStream: number;
}

/** Quantiles of a latency histogram (log buckets: a value is reported within ±9.1 % of a recorded one). */
export interface LatencyQuantiles {
  /** Samples recorded; p50Us/p95Us are null when 0. */
  samples: number;
  p50Us: number | null;
  p95Us: number | null;
}

/** TCP timing and loss over the interval. */
export interface TcpQuality {
  /** Handshake RTT (SYN → SYN/ACK → ACK, both parts), one sample per connection whose handshake completed. */
  handshakeRtt: LatencyQuantiles;
  /** The server side part (the last SYN → SYN/ACK), one sample per connection that saw a SYN/ACK. */
  handshakeServerRtt: LatencyQuantiles;
  /** Server response time (request → first response packet); samples = request/response turns. */
  serverResponse: LatencyQuantiles;
  /** TCP packets, both directions, of every record (active-timeout parts too). */
  packets: number;
  /** Of those, retransmissions (both directions). */
  retransmittedPackets: number;
  /** retransmittedPackets / packets; null when packets is 0 or the service is not TCP. */
  retransmissionRate: number | null;
}

/** `<root>summary`, on the summary schedule: the flow records exported since the previous summary. */
export interface SummaryPayload {
  schema: 'tapflow.summary/2';
  probeId: string;
  seq: number;
  /** The interval covered: [from, to) in ms since the epoch. */
  from: number;
  to: number;
  /**
   * records: exported records (a TCP closing record, 0 packets, is not one); connections: final
   * records, closing records included; tcp: outcomes of the TCP connections among them and TCP quality.
   */
  totals: { records: number; connections: number; packets: number; octets: number; tcp: TcpOutcomes & TcpQuality };
  /** Exact, by protocol number, sorted by octets. */
  protocols: { protocol: number; name: string; records: number; packets: number; octets: number }[];
  /** Hosts by octets sent plus received, and by flows they took part in. */
  talkers: { byOctets: (TopEntry & { address: string })[]; byFlows: (TopEntry & { address: string })[] };
  /** Address pairs (unordered) by octets and by flows. */
  conversations: { byOctets: (TopEntry & { a: string; b: string })[]; byFlows: (TopEntry & { a: string; b: string })[] };
  /** Server ports (protocol/port of the side that was connected to) by octets and by flows. */
  serverPorts: { byOctets: (TopEntry & { protocol: number; port: number })[]; byFlows: (TopEntry & { protocol: number; port: number })[] };
  /**
   * Services (server address:port/protocol) by connections, with their TCP outcomes and quality
   * (zero / null for other protocols). Everything but value/error counts while the service was listed.
   */
  services: (TopEntry & { address: string; port: number; protocol: number; connections: number; octets: number } & TcpOutcomes & TcpQuality)[];
  final: boolean;
}

/** A command's reply, on the request's responseTopic (MQTT 5) or the documented 3.1.1 convention. */
export type CommandReply =
  | { schema: 'tapflow.reply/1'; probeId: string; command: string; ok: true; result: unknown; correlationId: string | null }
  | { schema: 'tapflow.reply/1'; probeId: string; command: string; ok: false; error: { code: string; message: string }; correlationId: string | null };
