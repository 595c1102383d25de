/**
 * tapflow's options templates (RFC 7011 §3.4.2.2, Set id 3) and the encoding of their data records.
 * Written once per statistics interval, not per flow, but still with DataView setters only.
 *
 * Statistics (template 260): RFC 7011 §4.1 (Metering Process Statistics: exported message / flow
 * record / octet totals) and the ignored-packet total of §4.2, plus observedFlowTotalCount. Both
 * sections recommend observationDomainId as the scope, so the record is scoped to the builder's
 * domain. §4.2 also asks for the times of the first and last ignored packet; the metering source
 * does not keep them, so instead observationTimeMilliseconds says when the totals were read.
 *
 * Sampling (RFC 5476/5477 PSAMP elements, plus the deprecated NetFlow v9-heritage 34/35 that many
 * collectors still read): scope observationDomainId.
 * - deterministic 1:N (template 261): selectorAlgorithm 1 "Systematic count-based Sampling" with
 *   samplingPacketInterval 1 and samplingPacketSpace N-1 (RFC 5477 §8.2.2: 1 packet selected, then
 *   N-1 skipped), samplingInterval N, samplingAlgorithm 1 (deterministic).
 * - random 1:N (template 262): each packet selected with probability 1/N (RFC 5475 §5.2.2.1), i.e.
 *   selectorAlgorithm 4 "Uniform probabilistic Sampling" with samplingProbability 1/N,
 *   samplingInterval N, samplingAlgorithm 2 (random).
 * nfcapd 1.7.1 stores the flows but applies none of these announcements (see ipfix-options.test.ts).
 */
import type { MeteringStatisticsSource, SamplingAnnouncement } from '../flow-message-builder.js';
import { IE, withLength } from './information-elements.js';
import { defineTemplate, type IpfixTemplate } from './templates.js';

export const TEMPLATE_ID_STATISTICS = 260;
export const TEMPLATE_ID_SAMPLING_DETERMINISTIC = 261;
export const TEMPLATE_ID_SAMPLING_RANDOM = 262;

/** IANA selectorAlgorithm (IE 304) values used here. */
export const SELECTOR_ALGORITHM = { systematicCountBased: 1, uniformProbabilistic: 4 } as const;
/** Deprecated samplingAlgorithm (IE 35) values. */
export const SAMPLING_ALGORITHM = { deterministic: 1, random: 2 } as const;

/** 52-byte records: domain (4), six unsigned64 / dateTimeMilliseconds (48). */
export const STATISTICS_TEMPLATE = defineTemplate(
  TEMPLATE_ID_STATISTICS,
  [
    IE.observationDomainId,
    IE.exportedMessageTotalCount,
    IE.exportedFlowRecordTotalCount,
    IE.exportedOctetTotalCount,
    IE.observedFlowTotalCount,
    IE.ignoredPacketTotalCount,
    IE.observationTimeMilliseconds,
  ],
  { scopeFieldCount: 1 },
);

/** 20-byte records. */
export const DETERMINISTIC_SAMPLING_TEMPLATE = defineTemplate(
  TEMPLATE_ID_SAMPLING_DETERMINISTIC,
  [
    IE.observationDomainId,
    IE.samplingPacketInterval,
    IE.samplingPacketSpace,
    IE.samplingInterval,
    IE.selectorAlgorithm,
    IE.samplingAlgorithm,
    withLength(IE.paddingOctets, 1),
  ],
  { scopeFieldCount: 1 },
);

/** 20-byte records. */
export const RANDOM_SAMPLING_TEMPLATE = defineTemplate(
  TEMPLATE_ID_SAMPLING_RANDOM,
  [IE.observationDomainId, IE.samplingProbability, IE.samplingInterval, IE.selectorAlgorithm, IE.samplingAlgorithm, withLength(IE.paddingOctets, 1)],
  { scopeFieldCount: 1 },
);

/** The sampling options template announcing `sampling`, or null when nothing is sampled (interval ≤ 1). */
export function samplingTemplateFor(sampling: SamplingAnnouncement | null | undefined): IpfixTemplate | null {
  if (sampling === null || sampling === undefined || !(sampling.interval > 1)) return null;
  if (!Number.isInteger(sampling.interval) || sampling.interval > 0xffff_ffff) throw new RangeError(`sampling interval must be an integer up to 2^32-1, got ${sampling.interval}`);
  return sampling.algorithm === 'random' ? RANDOM_SAMPLING_TEMPLATE : DETERMINISTIC_SAMPLING_TEMPLATE;
}

const TWO_POW_32 = 4_294_967_296;

/** The totals a statistics record carries; the builder fills it before each write (reused object). */
export interface StatisticsValues {
  messages: number;
  records: number;
  octets: number;
  observedFlows: number;
  ignoredPackets: number;
  timeMs: number;
}

/** Write the STATISTICS_TEMPLATE record at `offset`; returns the offset after it. */
export function encodeStatisticsRecord(view: DataView, offset: number, domainId: number, values: StatisticsValues): number {
  view.setUint32(offset, domainId);
  view.setUint32(offset + 4, values.messages / TWO_POW_32);
  view.setUint32(offset + 8, values.messages % TWO_POW_32);
  view.setUint32(offset + 12, values.records / TWO_POW_32);
  view.setUint32(offset + 16, values.records % TWO_POW_32);
  view.setUint32(offset + 20, values.octets / TWO_POW_32);
  view.setUint32(offset + 24, values.octets % TWO_POW_32);
  view.setUint32(offset + 28, values.observedFlows / TWO_POW_32);
  view.setUint32(offset + 32, values.observedFlows % TWO_POW_32);
  view.setUint32(offset + 36, values.ignoredPackets / TWO_POW_32);
  view.setUint32(offset + 40, values.ignoredPackets % TWO_POW_32);
  view.setUint32(offset + 44, values.timeMs / TWO_POW_32);
  view.setUint32(offset + 48, values.timeMs % TWO_POW_32);
  return offset + STATISTICS_TEMPLATE.recordLengthBytes;
}

/** A non-negative integer count from a metering source (0 for anything else: NaN, negative, fractional). */
export function countOrZero(value: number): number {
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/** Read the metering source (0s without one). */
export function readMetering(source: MeteringStatisticsSource | undefined, into: StatisticsValues): void {
  into.observedFlows = source === undefined ? 0 : countOrZero(source.observedFlows());
  into.ignoredPackets = source === undefined ? 0 : countOrZero(source.ignoredPackets());
}

/** Write the record of `template` (from samplingTemplateFor) announcing 1:`interval`; returns the offset after it. */
export function encodeSamplingRecord(view: DataView, offset: number, template: IpfixTemplate, domainId: number, interval: number): number {
  view.setUint32(offset, domainId);
  if (template.templateId === TEMPLATE_ID_SAMPLING_RANDOM) {
    view.setFloat64(offset + 4, 1 / interval);
    view.setUint32(offset + 12, interval);
    view.setUint16(offset + 16, SELECTOR_ALGORITHM.uniformProbabilistic);
    view.setUint8(offset + 18, SAMPLING_ALGORITHM.random);
  } else {
    view.setUint32(offset + 4, 1);
    view.setUint32(offset + 8, interval - 1);
    view.setUint32(offset + 12, interval);
    view.setUint16(offset + 16, SELECTOR_ALGORITHM.systematicCountBased);
    view.setUint8(offset + 18, SAMPLING_ALGORITHM.deterministic);
  }
  view.setUint8(offset + 19, 0);
  return offset + template.recordLengthBytes;
}
