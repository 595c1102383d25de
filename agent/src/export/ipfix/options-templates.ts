/**
 * tapflow's options templates (RFC 7011 §3.4.2.2, Set id 3) and the encoding of their data records.
 * Their records go with every template (re)send and once per statistics interval: the sampling
 * record is encoded once (it never changes); the statistics record is written by the builder.
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
import type { SamplingAnnouncement } from '../flow-message-builder.js';
import { IE, withLength } from './information-elements.js';
import { defineTemplate, type IpfixTemplate } from './templates.js';

export const TEMPLATE_ID_STATISTICS = 260;
export const TEMPLATE_ID_SAMPLING_DETERMINISTIC = 261;
export const TEMPLATE_ID_SAMPLING_RANDOM = 262;

/** IANA selectorAlgorithm (IE 304) values used here. */
export const SELECTOR_ALGORITHM = { systematicCountBased: 1, uniformProbabilistic: 4 } as const;
/** Deprecated samplingAlgorithm (IE 35) values. */
export const SAMPLING_ALGORITHM = { deterministic: 1, random: 2 } as const;

/**
 * 52-byte records: domain (4), six unsigned64 / dateTimeMilliseconds (48). The builder writes them
 * in this field order (message-builder.ts writeStatisticsRecord).
 */
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

/** A non-negative integer count from a metering source (0 for anything else: NaN, negative, fractional). */
export function countOrZero(value: number): number {
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/**
 * The complete Data Set (header + one record) of `template` (from samplingTemplateFor) announcing
 * 1:`interval` for `domainId`. It never changes, so the builder encodes it once and copies it.
 */
export function encodeSamplingDataSet(template: IpfixTemplate, domainId: number, interval: number): Uint8Array {
  const bytes = new Uint8Array(4 + template.recordLengthBytes);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, template.templateId);
  view.setUint16(2, bytes.length);
  view.setUint32(4, domainId);
  if (template.templateId === TEMPLATE_ID_SAMPLING_RANDOM) {
    view.setFloat64(8, 1 / interval);
    view.setUint32(16, interval);
    view.setUint16(20, SELECTOR_ALGORITHM.uniformProbabilistic);
    view.setUint8(22, SAMPLING_ALGORITHM.random);
  } else {
    view.setUint32(8, 1);
    view.setUint32(12, interval - 1);
    view.setUint32(16, interval);
    view.setUint16(20, SELECTOR_ALGORITHM.systematicCountBased);
    view.setUint8(22, SAMPLING_ALGORITHM.deterministic);
  }
  return bytes; // paddingOctets (byte 23) stays 0
}
