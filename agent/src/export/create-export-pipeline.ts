/**
 * Composition of the export side from the validated configuration: collectors grouped into lanes
 * (a message builder for one format and the transports it feeds), the IPFIX file's own lane, and
 * the routing of flow records to them.
 *
 * - mirror: every lane gets every record. Collectors of one kind share a builder (the same bytes):
 *   IPFIX/UDP (templates refreshed by count and time), IPFIX/TCP+TLS (templates sent by the
 *   transport at each connection), NetFlow v9, NetFlow v5.
 * - failover: one lane per collector; records go to the first healthy one in list order
 *   (FailoverRouter). The file lane is not a collector: it gets everything in both modes.
 * - biflow: IPFIX lanes receive whole flows (RFC 5103); every other lane sits behind one shared
 *   UniflowSplitter.
 */
import { HTTP_METHOD_TOKEN_BYTES } from '../hints/app-hints.js';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { FlowRecord, FlowRecordSink } from '../flow/flow-record.js';
import { parseCollectorSpec, type CollectorSpec } from './collector-spec.js';
import type { DestinationStats, ExportPipeline, ExportStats } from './export-pipeline.js';
import { FailoverRouter, type FailoverLane } from './failover-router.js';
import { FileTransport } from './file-transport.js';
import type { FlowMessageBuilder, MeteringStatisticsSource, SamplingAnnouncement } from './flow-message-builder.js';
import { IpfixMessageBuilder } from './ipfix/message-builder.js';
import type { MessageTransport } from './message-transport.js';
import { NetflowV5MessageBuilder } from './netflow-v5/v5-message-builder.js';
import { NetflowV9MessageBuilder } from './netflow-v9/v9-message-builder.js';
import { StreamTransport, type StreamTlsOptions } from './stream-transport.js';
import { UdpTransport } from './udp-transport.js';
import { UniflowSplitter } from './uniflow-splitter.js';

/** Header Export Time: the wall clock, the packet clock (replays), or fixed seconds (byte-identical replays). */
export type ExportTimeSource = 'now' | 'packet' | number;

export interface ExportPipelineOptions {
  readonly exportTime: ExportTimeSource;
  /** Add to an existing IPFIX file instead of truncating it (a configuration reload). */
  readonly appendToFile?: boolean;
}

/** One transport and what it is, for stats. */
interface Destination {
  readonly target: string;
  readonly format: DestinationStats['format'];
  readonly transport: MessageTransport;
}

/** A builder and the transports it feeds (uniflow lanes get their records through the splitter). */
interface Lane {
  readonly builder: FlowMessageBuilder;
  readonly biflow: boolean;
  readonly destinations: Destination[];
}

type LaneKind = 'ipfix-udp' | 'ipfix-stream' | 'nfv9' | 'nfv5';

function exportClock(source: ExportTimeSource, packetTimeMs: () => number): () => number {
  if (typeof source === 'number') return () => source;
  if (source === 'now') return () => Math.floor(Date.now() / 1000);
  return () => {
    const ms = packetTimeMs();
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
  };
}

/** Hands each record to every sink in turn. */
class FanOutSink implements FlowRecordSink {
  constructor(private readonly sinks: readonly FlowRecordSink[]) {}
  add(rec: FlowRecord): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i]!.add(rec);
  }
  flush(nowMs: number): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i]!.flush(nowMs);
  }
}

function fanOut(sinks: readonly FlowRecordSink[]): FlowRecordSink {
  if (sinks.length === 1) return sinks[0]!;
  return new FanOutSink(sinks);
}

/** The meter's figures arrive after the pipeline is built (the meter needs the pipeline's sink first). */
class LateMeteringStatistics implements MeteringStatisticsSource {
  source: MeteringStatisticsSource | null = null;
  ignoredPackets(): number {
    return this.source?.ignoredPackets() ?? 0;
  }
  observedFlows(): number {
    return this.source?.observedFlows() ?? 0;
  }
}

function readPem(path: string | null, key: string): Buffer | undefined {
  if (path === null) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError('export.tls', [{ path: `$.export.tls.${key}`, message: `cannot read ${path}: ${(error as Error).message}` }]);
  }
}

function tlsOptions(config: Config): StreamTlsOptions {
  const tls = config.export.tls;
  const ca = readPem(tls.caFile, 'caFile');
  const cert = readPem(tls.certFile, 'certFile');
  const key = readPem(tls.keyFile, 'keyFile');
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(tls.serverName !== null ? { serverName: tls.serverName } : {}),
  };
}

function laneKind(spec: CollectorSpec): LaneKind {
  if (spec.format === 'nfv9') return 'nfv9';
  if (spec.format === 'nfv5') return 'nfv5';
  return spec.transport === 'udp' ? 'ipfix-udp' : 'ipfix-stream';
}

export function createExportPipeline(config: Config, options: ExportPipelineOptions): ExportPipeline {
  const metering = new LateMeteringStatistics();
  const sampling: SamplingAnnouncement | null =
    config.sampling.interval > 1 ? { interval: config.sampling.interval, algorithm: config.sampling.method } : null;
  const refresh = { messages: config.ipfix.templateRefreshMessages, ms: config.ipfix.templateRefreshMs };
  const ipfixCommon = {
    mtuBytes: config.ipfix.mtuBytes,
    observationDomainId: config.ipfix.observationDomainId,
    biflow: config.export.biflow,
    connectionFields: config.ipfix.connectionFields,
    enterpriseNumber: config.ipfix.enterpriseNumber,
    // The flow table keeps hint texts at most this long: the records' length bound.
    maxHintTextBytes: Math.max(config.hints.nameBytes, config.hints.alpnBytes, HTTP_METHOD_TOKEN_BYTES),
    sampling,
    meteringStatistics: metering,
    statisticsIntervalMs: config.ipfix.statisticsIntervalMs,
  };
  let tls: StreamTlsOptions | null = null;

  /** The transport for one collector; `templates` is the lane's IPFIX builder (TCP/TLS preambles). */
  function createTransport(spec: CollectorSpec, templates: () => IpfixMessageBuilder): MessageTransport {
    if (spec.transport === 'udp') return new UdpTransport(spec.address, { maxMessageBytes: config.ipfix.mtuBytes });
    if (spec.transport === 'tls') tls ??= tlsOptions(config);
    const stream = config.export.stream;
    return new StreamTransport(spec.address, {
      tls: spec.transport === 'tls' ? tls : null,
      pendingBytes: stream.pendingBytes,
      reconnectMinMs: stream.reconnectMinMs,
      reconnectMaxMs: stream.reconnectMaxMs,
      connectTimeoutMs: stream.connectTimeoutMs,
      // Every connection starts with the templates, numbered like the message that follows.
      preamble: (sequenceNumber: number) => templates().templateMessage(sequenceNumber),
    });
  }

  function createBuilder(kind: LaneKind, transports: readonly MessageTransport[]): FlowMessageBuilder {
    if (kind === 'nfv9') {
      return new NetflowV9MessageBuilder({ transports, mtuBytes: config.ipfix.mtuBytes, sourceId: config.ipfix.observationDomainId, templateRefresh: refresh, sampling });
    }
    if (kind === 'nfv5') {
      return new NetflowV5MessageBuilder({ transports, mtuBytes: config.ipfix.mtuBytes, sourceId: config.ipfix.observationDomainId, sampling });
    }
    return createIpfixBuilder(transports, kind === 'ipfix-stream' ? { templateMode: 'transport' } : { templateRefresh: refresh });
  }

  function createIpfixBuilder(
    transports: readonly MessageTransport[],
    templates: { templateMode: 'transport' } | { templateRefresh: typeof refresh | null },
  ): IpfixMessageBuilder {
    let builder: IpfixMessageBuilder | null = null;
    builder = new IpfixMessageBuilder({
      ...ipfixCommon,
      ...templates,
      transports,
      exportTimeSeconds: exportClock(options.exportTime, () => builder?.lastTimeMs ?? Number.NaN),
    });
    return builder;
  }

  /** A lane of `kind` for `specs`: their transports and the builder in front of them. */
  function createLane(kind: LaneKind, specs: readonly CollectorSpec[]): Lane {
    let builder: FlowMessageBuilder | null = null;
    const destinations = specs.map((spec) => ({
      target: spec.name,
      format: spec.format,
      transport: createTransport(spec, () => builder as IpfixMessageBuilder),
    }));
    builder = createBuilder(kind, destinations.map((destination) => destination.transport));
    return { builder, biflow: (kind === 'ipfix-udp' || kind === 'ipfix-stream') && config.export.biflow, destinations };
  }

  const specs = config.export.collectors.map(parseCollectorSpec);
  const collectorLanes: Lane[] = [];
  if (config.export.mode === 'failover') {
    for (const spec of specs) collectorLanes.push(createLane(laneKind(spec), [spec]));
  } else {
    for (const kind of ['ipfix-udp', 'ipfix-stream', 'nfv9', 'nfv5'] as const) {
      const ofKind = specs.filter((spec) => laneKind(spec) === kind);
      if (ofKind.length > 0) collectorLanes.push(createLane(kind, ofKind));
    }
  }

  let fileLane: Lane | null = null;
  if (config.export.file !== null) {
    const file = new FileTransport(config.export.file, options.appendToFile === true || config.export.fileAppend);
    fileLane = {
      builder: createIpfixBuilder([file], { templateRefresh: null }),
      biflow: config.export.biflow,
      destinations: [{ target: config.export.file, format: 'ipfix', transport: file }],
    };
  }

  // Uniflow lanes share one splitter, so each flow is split once however many formats want it.
  const splitter = (lanes: readonly Lane[]): FlowRecordSink[] => {
    const biflow = lanes.filter((lane) => lane.biflow).map((lane) => lane.builder);
    const uniflow = lanes.filter((lane) => !lane.biflow).map((lane) => lane.builder);
    return uniflow.length > 0 ? [...biflow, new UniflowSplitter(fanOut(uniflow))] : biflow;
  };
  let router: FailoverRouter | null = null;
  const sinks: FlowRecordSink[] = [];
  if (config.export.mode === 'failover' && collectorLanes.length > 0) {
    const lanes: FailoverLane[] = collectorLanes.map((lane) => ({
      sink: lane.biflow ? lane.builder : new UniflowSplitter(lane.builder),
      builder: lane.builder,
      healthy: () => lane.destinations.every((destination) => destination.transport.healthy),
    }));
    router = new FailoverRouter(lanes);
    sinks.push(router, ...splitter(fileLane ? [fileLane] : []));
  } else {
    sinks.push(...splitter(fileLane ? [...collectorLanes, fileLane] : collectorLanes));
  }
  const sink: FlowRecordSink = sinks.length === 0 ? { add: () => undefined, flush: () => undefined } : fanOut(sinks);

  const lanes = fileLane ? [...collectorLanes, fileLane] : collectorLanes;
  const transports = lanes.flatMap((lane) => lane.destinations.map((destination) => destination.transport));
  // Failover: only the router's lane is active; the file and mirror lanes always are.
  const isActive = (lane: Lane): boolean => router === null || lane === fileLane || collectorLanes[router.activeIndex] === lane;
  return {
    sink,
    backlogged: () => {
      for (let i = 0; i < transports.length; i++) if (transports[i]!.backlogged) return true;
      return false;
    },
    ready: async () => {
      await Promise.all(transports.map((transport) => transport.whenSettled()));
      router?.choose();
    },
    drain: async () => {
      await Promise.all(transports.map((transport) => transport.drain()));
    },
    close: async () => {
      for (const lane of lanes) lane.builder.flush(lane.builder.lastTimeMs);
      const results = await Promise.allSettled(transports.map((transport) => transport.close()));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
    stats: (): ExportStats => {
      const primary = lanes[0]?.builder;
      return {
        messages: primary?.stats.messages_total ?? 0,
        records: primary === undefined ? 0 : primary.stats.records_total - primary.stats.options_records_total,
        optionsRecords: primary?.stats.options_records_total ?? 0,
        bytes: primary?.stats.octets_total ?? 0,
        notExportable: lanes.reduce((sum, lane) => sum + lane.builder.notExportable, 0),
        destinations: lanes.flatMap((lane) =>
          lane.destinations.map(({ target, format, transport }) => ({
            target,
            format,
            sent: transport.stats.messages_total,
            dropped: transport.stats.dropped_total,
            droppedRecords: transport.stats.dropped_records_total,
            errors: transport.stats.errors_total,
            problem: transport.problem,
            active: isActive(lane),
          })),
        ),
      };
    },
    useMeteringStatistics: (source: MeteringStatisticsSource) => {
      metering.source = source;
    },
  };
}
