import type { CapturedPacket } from '../capture/captured-packet.js';
import type { Config } from '../config/schema.js';
import { decodePacket } from '../decode/decode-packet.js';
import { DecodeStatus } from '../decode/decode-status.js';
import { FragmentMap } from '../decode/fragment-map.js';
import { PacketView } from '../decode/packet-view.js';
import type { FlowRecordSink } from '../flow/flow-record.js';
import { FlowEndReason } from '../flow/flow-record.js';
import type { FlowHintOptions } from '../flow/flow-hints.js';
import { FlowTable, type FlowTableOptions } from '../flow/flow-table.js';
import { MeterCounters } from './meter-counters.js';
import { PacketSampler } from './packet-sampler.js';

export interface FlowMeterOptions {
  flowTable: FlowTableOptions;
  /**
   * The capture interfaces are the ports of one link (a TAP's A and B sides): key flows without the
   * interface, so a connection whose directions arrive on different ports is one flow. Each record
   * still reports the ingressInterface of its own direction.
   */
  oneLink: boolean;
  expiryTickUs: number;
  fragmentMapEntries: number;
  fragmentTimeoutUs: number;
  /** Meter 1 packet in `interval` (1: all), every Nth or at random; see PacketSampler. */
  sampling?: { interval: number; method: 'deterministic' | 'random' };
}

const US_PER_MS = 1000;

/**
 * Most flows one expiry step exports. A tick where many flows fall due at once (a scan's flows all
 * going idle together) is spread over the following packets and ticks, so each step's records fit
 * the exporters' bounded buffers and nothing stalls the packet path for long.
 */
export const EXPIRY_BATCH_FLOWS = 512;

export function flowMeterOptionsFromConfig(config: Config): FlowMeterOptions {
  const t = config.flowTable;
  const idle = t.idleTimeoutMs;
  return {
    flowTable: {
      maxFlows: t.maxFlows,
      activeTimeoutUs: t.activeTimeoutMs * US_PER_MS,
      idleTimeoutUs: {
        tcp: idle.tcp * US_PER_MS,
        tcpFin: idle.tcpFin * US_PER_MS,
        tcpRst: idle.tcpRst * US_PER_MS,
        udp: idle.udp * US_PER_MS,
        icmp: idle.icmp * US_PER_MS,
        other: idle.other * US_PER_MS,
      },
      ...(config.hints.enabled ? { hints: flowHintOptionsFromConfig(config.hints) } : {}),
    },
    oneLink: false,
    expiryTickUs: t.expiryTickMs * US_PER_MS,
    fragmentMapEntries: config.decoder.fragmentMapEntries,
    fragmentTimeoutUs: config.decoder.fragmentTimeoutMs * US_PER_MS,
    sampling: { interval: config.sampling.interval, method: config.sampling.method },
  };
}

/** The flow table's hint options from the `hints` section (one name size for the three names). */
export function flowHintOptionsFromConfig(hints: Config['hints']): FlowHintOptions {
  return {
    packetsPerDirection: hints.packetsPerDirection,
    snapBytes: hints.snapBytes,
    limits: {
      dnsNameBytes: hints.nameBytes,
      httpHostBytes: hints.nameBytes,
      tlsSniBytes: hints.nameBytes,
      tlsAlpnBytes: hints.alpnBytes,
      httpMaxScanBytes: hints.httpMaxScanBytes,
      dnsMaxPointerHops: hints.dnsMaxPointerHops,
      dnsMaxLabels: hints.dnsMaxLabels,
      tlsMaxExtensions: hints.tlsMaxExtensions,
    },
  };
}

/**
 * decode → fragment attribution → flow table → sink, for one packet at a time, plus the clock that
 * drives expiry. In replay the packet timestamps are the clock (so a replay is deterministic);
 * live capture stamps packets with the wall clock and calls advanceClock() from a timer too.
 *
 * handlePacket allocates nothing: one PacketView, one FlowRecord and the table's columns are
 * created here once and reused.
 */
export class FlowMeter {
  readonly counters = new MeterCounters();
  readonly table: FlowTable;
  readonly fragments: FragmentMap;
  sampler: PacketSampler;
  private readonly view = new PacketView();
  private readonly sink: FlowRecordSink;
  private expiryTickUs: number;
  private readonly oneLink: boolean;
  /** [0]: monotonic meter clock (µs since the epoch), the latest time seen; shared with the table. */
  private readonly clockUs = new Float64Array(1);
  private nextExpiryUs = 0;
  /** True while flows that are already due are still waiting to be exported. */
  private expiryBacklog = false;

  constructor(options: FlowMeterOptions, sink: FlowRecordSink) {
    this.sink = sink;
    this.table = new FlowTable(options.flowTable, sink, this.clockUs);
    this.fragments = new FragmentMap(options.fragmentMapEntries, options.fragmentTimeoutUs);
    this.expiryTickUs = options.expiryTickUs;
    this.oneLink = options.oneLink;
    this.sampler = new PacketSampler(options.sampling?.interval ?? 1, options.sampling?.method ?? 'deterministic');
  }

  /** The packet handler for packet sources; a bound field so passing it around allocates nothing. */
  readonly handlePacket = (packet: CapturedPacket): void => {
    const counters = this.counters;
    counters.packets++;
    const clock = this.clockUs;
    if (packet.tsUs > clock[0]!) clock[0] = packet.tsUs;
    if (clock[0]! >= this.nextExpiryUs || this.expiryBacklog) this.runExpiry();
    if (!this.sampler.select()) {
      counters.unsampledPackets++;
      return;
    }
    const view = this.view;
    const status = decodePacket(packet.data, packet.offset, packet.capLen, packet.wireLen, packet.linkType, view);
    counters.byDecodeStatus[status]!++;
    if (status !== DecodeStatus.OK) return;
    view.tsUs = packet.tsUs;
    if (view.isFragment !== 0) this.fragments.resolve(view, clock[0]!);
    counters.meteredPackets++;
    counters.meteredOctets += view.ipLength;
    this.table.update(view, this.oneLink ? 0 : packet.interfaceId, packet.interfaceId, packet.data, packet.offset + packet.capLen);
  };

  /**
   * A configuration reload: new timeouts and expiry tick (the flows keep their state) and a new
   * packet sampler. Not for the table's size or the fragment map, which are preallocated.
   */
  reconfigure(options: Pick<FlowMeterOptions, 'flowTable' | 'expiryTickUs' | 'sampling'>): void {
    this.table.setTimeouts(options.flowTable.activeTimeoutUs, options.flowTable.idleTimeoutUs);
    this.expiryTickUs = options.expiryTickUs;
    this.nextExpiryUs = Math.min(this.nextExpiryUs, this.clockUs[0]! + this.expiryTickUs);
    const sampling = options.sampling ?? { interval: 1, method: 'deterministic' as const };
    if (sampling.interval !== this.sampler.interval || sampling.method !== this.sampler.method) this.sampler = new PacketSampler(sampling.interval, sampling.method);
  }

  /** Moves the meter clock forward (never back) and runs expiry when a tick is due (live capture's timer). */
  advanceClock(tsUs: number): void {
    if (tsUs > this.clockUs[0]!) this.clockUs[0] = tsUs;
    if (this.clockUs[0]! >= this.nextExpiryUs || this.expiryBacklog) this.runExpiry();
  }

  private runExpiry(): void {
    const nowUs = this.clockUs[0]!;
    if (this.nextExpiryUs === 0) {
      // First packet: start the tick schedule, and tell the exporters when metering began (NetFlow
      // sysUptime counts from here).
      this.nextExpiryUs = nowUs + this.expiryTickUs;
      this.sink.flush(nowUs / US_PER_MS);
      return;
    }
    this.expiryBacklog = !this.table.expire(nowUs, EXPIRY_BATCH_FLOWS);
    this.sink.flush(nowUs / US_PER_MS);
    if (!this.expiryBacklog) this.nextExpiryUs = nowUs + this.expiryTickUs;
  }

  /** Current meter time in ms since the epoch (0 before the first packet). */
  get nowMs(): number {
    return this.clockUs[0]! / US_PER_MS;
  }

  /**
   * Exports active flows (end of input, SIGTERM) in batches of EXPIRY_BATCH_FLOWS and flushes the
   * sink; returns true once the table is empty. Callers drain their exporters between calls.
   */
  flushSome(reason: number = FlowEndReason.FORCED_END): boolean {
    const done = this.table.flushAll(reason, EXPIRY_BATCH_FLOWS);
    this.sink.flush(this.clockUs[0]! / US_PER_MS);
    return done;
  }
}
