/**
 * Composition of the export side from the validated configuration: IPFIX message builder(s) in
 * front of the UDP collectors and the IPFIX file. UDP collectors share one builder (the same bytes,
 * templates refreshed by count and time); the file gets its own builder so it carries the templates
 * once, at the start (RFC 5655), even when collectors are configured too.
 */
import type { Config } from '../config/schema.js';
import type { FlowRecord, FlowRecordSink } from '../flow/flow-record.js';
import type { ExportPipeline, ExportStats } from './export-pipeline.js';
import { FileTransport } from './file-transport.js';
import { IpfixMessageBuilder } from './ipfix/message-builder.js';
import type { MessageTransport } from './message-transport.js';
import { UdpTransport } from './udp-transport.js';

/** Header Export Time: the wall clock, the packet clock (replays), or fixed seconds (byte-identical replays). */
export type ExportTimeSource = 'now' | 'packet' | number;

export interface ExportPipelineOptions {
  readonly exportTime: ExportTimeSource;
}

interface Destination {
  readonly target: string;
  readonly transport: MessageTransport;
}

function exportClock(source: ExportTimeSource, packetTimeMs: () => number): () => number {
  if (typeof source === 'number') return () => source;
  if (source === 'now') return () => Math.floor(Date.now() / 1000);
  return () => {
    const ms = packetTimeMs();
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
  };
}

/** Hands each record to two builders (UDP and file); only used when both are configured. */
class FanOutSink implements FlowRecordSink {
  constructor(
    private readonly first: FlowRecordSink,
    private readonly second: FlowRecordSink,
  ) {}
  add(rec: FlowRecord): void {
    this.first.add(rec);
    this.second.add(rec);
  }
  flush(nowMs: number): void {
    this.first.flush(nowMs);
    this.second.flush(nowMs);
  }
}

export function createExportPipeline(config: Config, options: ExportPipelineOptions): ExportPipeline {
  const destinations: Destination[] = [];
  const builders: IpfixMessageBuilder[] = [];
  const common = { mtuBytes: config.ipfix.mtuBytes, observationDomainId: config.ipfix.observationDomainId };

  const udp = config.export.collectors.map((collector) => ({
    target: `udp://${collector}`,
    transport: new UdpTransport(collector, { maxMessageBytes: config.ipfix.mtuBytes }),
  }));
  if (udp.length > 0) {
    let builder: IpfixMessageBuilder | null = null;
    builder = new IpfixMessageBuilder({
      ...common,
      transports: udp.map((destination) => destination.transport),
      exportTimeSeconds: exportClock(options.exportTime, () => builder?.lastTimeMs ?? Number.NaN),
      templateRefresh: { messages: config.ipfix.templateRefreshMessages, ms: config.ipfix.templateRefreshMs },
    });
    builders.push(builder);
    destinations.push(...udp);
  }
  if (config.export.file !== null) {
    const file = new FileTransport(config.export.file);
    let builder: IpfixMessageBuilder | null = null;
    builder = new IpfixMessageBuilder({
      ...common,
      transports: [file],
      exportTimeSeconds: exportClock(options.exportTime, () => builder?.lastTimeMs ?? Number.NaN),
      templateRefresh: null,
    });
    builders.push(builder);
    destinations.push({ target: config.export.file, transport: file });
  }

  const [first, second] = builders;
  const sink: FlowRecordSink =
    first === undefined ? { add: () => undefined, flush: () => undefined } : second === undefined ? first : new FanOutSink(first, second);

  const transports = destinations.map((destination) => destination.transport);
  return {
    sink,
    backlogged: () => {
      for (const transport of transports) if (transport.backlogged) return true;
      return false;
    },
    drain: async () => {
      await Promise.all(destinations.map((destination) => destination.transport.drain()));
    },
    close: async () => {
      for (const builder of builders) builder.flush(builder.lastTimeMs);
      const results = await Promise.allSettled(destinations.map((destination) => destination.transport.close()));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
    stats: (): ExportStats => {
      const primary = builders[0];
      return {
        messages: primary?.stats.messages_total ?? 0,
        records: primary?.stats.records_total ?? 0,
        bytes: primary?.stats.octets_total ?? 0,
        destinations: destinations.map(({ target, transport }) => ({
          target,
          sent: transport.stats.messages_total,
          dropped: transport.stats.dropped_total,
          errors: transport.stats.errors_total,
          problem: transport.problem,
        })),
      };
    },
  };
}
