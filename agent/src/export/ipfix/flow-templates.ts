/**
 * The data templates one IPFIX exporter announces, and which one each flow record uses:
 * - classic (256/257 uniflow, 258/259 biflow; templates.ts): every flow without the fields below;
 * - connection (270/271 uniflow, 274/275 biflow): TCP flows, the classic fields plus the
 *   connection metrics and outcome, the IP packet size range, and the HTTP/TLS/DNS hints;
 * - DNS (272/273 uniflow, 276/277 biflow): non-TCP flows that carried DNS (the hints only).
 * The extra fields are IANA elements where IANA has one (minimum/maximumIpTotalLength 25/26,
 * httpStatusCode 457, httpRequestMethod 459, httpRequestHost 460), otherwise tapflow's elements
 * under the configured PEN (tapflow-elements.ts). `connectionFields: false` keeps every flow on the
 * classic templates, for collectors that must not see anything new.
 *
 * Field order: fixed-length fields, largest first, reverse elements before forward ones (the
 * nfcapd quirk described in templates.ts), then the variable-length texts.
 */
import { AppHintKind } from '../../hints/app-hints.js';
import type { FlowRecord } from '../../flow/flow-record.js';
import { IE, REVERSE_IE, withLength, type InformationElement } from './information-elements.js';
import { tapflowElements, tapflowReverseOf } from './tapflow-elements.js';
import {
  BIFLOW_IPV4_TEMPLATE,
  BIFLOW_IPV6_TEMPLATE,
  classicFlowElements,
  defineTemplate,
  IPV4_TEMPLATE,
  IPV6_TEMPLATE,
  type IpfixTemplate,
} from './templates.js';

export const TEMPLATE_ID_CONNECTION_IPV4 = 270;
export const TEMPLATE_ID_CONNECTION_IPV6 = 271;
export const TEMPLATE_ID_DNS_IPV4 = 272;
export const TEMPLATE_ID_DNS_IPV6 = 273;
/** Biflow ids: the uniflow id + 4. */
const BIFLOW_ID_OFFSET = 4;

const PROTO_TCP = 6;

export interface FlowTemplateOptions {
  readonly biflow: boolean;
  /** PEN of tapflow's own elements. */
  readonly enterpriseNumber: number;
  /** false: classic templates only. */
  readonly connectionFields: boolean;
  /** Longest hint text exported (the flow table's hint buffers; longer texts are cut). */
  readonly maxHintTextBytes: number;
}

export interface FlowTemplates {
  readonly classicV4: IpfixTemplate;
  readonly classicV6: IpfixTemplate;
  /** null when connectionFields is off. */
  readonly connectionV4: IpfixTemplate | null;
  readonly connectionV6: IpfixTemplate | null;
  readonly dnsV4: IpfixTemplate | null;
  readonly dnsV6: IpfixTemplate | null;
  /** Every template, in the order they are announced. */
  readonly all: readonly IpfixTemplate[];
}

/** A reduced-size (RFC 7011 §6.2) unsigned64: IP total lengths fit 16 bits. */
const minIpLength = withLength(IE.minimumIpTotalLength, 2);
const maxIpLength = withLength(IE.maximumIpTotalLength, 2);
const reverseMinIpLength = withLength(REVERSE_IE.minimumIpTotalLength, 2);
const reverseMaxIpLength = withLength(REVERSE_IE.maximumIpTotalLength, 2);

function connectionElements(pen: number, biflow: boolean): InformationElement[] {
  const t = tapflowElements(pen);
  const directional = (element: InformationElement): InformationElement[] => (biflow ? [tapflowReverseOf(element), element] : [element]);
  return [
    t.serverResponseSumMicroseconds,
    ...directional(t.retransmittedOctetDeltaCount),
    t.handshakeServerRttMicroseconds,
    t.handshakeClientRttMicroseconds,
    t.serverResponseCount,
    t.serverResponseMinMicroseconds,
    t.serverResponseMaxMicroseconds,
    ...directional(t.retransmittedPacketDeltaCount),
    ...directional(t.outOfOrderPacketDeltaCount),
    ...directional(t.zeroWindowDeltaCount),
    ...(biflow ? [reverseMinIpLength, reverseMaxIpLength] : []),
    minIpLength,
    maxIpLength,
    t.tcpSynRetryCount,
    IE.httpStatusCode,
    t.tlsVersion,
    t.dnsQueryType,
    t.connectionOutcome,
    t.dnsResponseCode,
    IE.httpRequestMethod,
    IE.httpRequestHost,
    t.tlsServerName,
    t.tlsApplicationProtocol,
    t.dnsQueryName,
  ];
}

function dnsElements(pen: number): InformationElement[] {
  const t = tapflowElements(pen);
  return [t.dnsQueryType, t.dnsResponseCode, t.dnsQueryName];
}

export function flowTemplates(options: FlowTemplateOptions): FlowTemplates {
  const { biflow, enterpriseNumber: pen } = options;
  const classicV4 = biflow ? BIFLOW_IPV4_TEMPLATE : IPV4_TEMPLATE;
  const classicV6 = biflow ? BIFLOW_IPV6_TEMPLATE : IPV6_TEMPLATE;
  if (!options.connectionFields) {
    return Object.freeze({ classicV4, classicV6, connectionV4: null, connectionV6: null, dnsV4: null, dnsV6: null, all: Object.freeze([classicV4, classicV6]) });
  }
  const offset = biflow ? BIFLOW_ID_OFFSET : 0;
  // A flow has one hint kind, and the encoder writes only that kind's texts: at most two (HTTP
  // method + host, TLS server name + ALPN) are non-empty, which bounds the record length.
  const define = (id: number, ipVersion: 4 | 6, extra: InformationElement[]): IpfixTemplate =>
    defineTemplate(id + offset, [...classicFlowElements(ipVersion, biflow), ...extra], {
      ipVersion,
      biflow,
      filledVariableFields: 2,
      maxTextBytes: options.maxHintTextBytes,
    });
  const connectionV4 = define(TEMPLATE_ID_CONNECTION_IPV4, 4, connectionElements(pen, biflow));
  const connectionV6 = define(TEMPLATE_ID_CONNECTION_IPV6, 6, connectionElements(pen, biflow));
  const dnsV4 = define(TEMPLATE_ID_DNS_IPV4, 4, dnsElements(pen));
  const dnsV6 = define(TEMPLATE_ID_DNS_IPV6, 6, dnsElements(pen));
  return Object.freeze({
    classicV4,
    classicV6,
    connectionV4,
    connectionV6,
    dnsV4,
    dnsV6,
    all: Object.freeze([classicV4, classicV6, connectionV4, connectionV6, dnsV4, dnsV6]),
  });
}

/** The template `rec` is encoded with. Allocates nothing. */
export function templateFor(templates: FlowTemplates, rec: FlowRecord): IpfixTemplate {
  const v6 = rec.ipVersion === 6;
  if (rec.protocol === PROTO_TCP) {
    const connection = v6 ? templates.connectionV6 : templates.connectionV4;
    if (connection !== null) return connection;
  } else if (rec.appHintKind === AppHintKind.DNS) {
    const dns = v6 ? templates.dnsV6 : templates.dnsV4;
    if (dns !== null) return dns;
  }
  return v6 ? templates.classicV6 : templates.classicV4;
}
