import { IPFIX_MESSAGE_HEADER_BYTES, IpfixParser, type ParsedTemplate } from '../../src/export/ipfix/message-parser.js';

/**
 * Totals of an IPFIX byte stream (an IPFIX File read through a pipe or FIFO, chunk by chunk):
 * messages are cut out by their header's length (RFC 7011 §3.1) however the chunks fall, so a
 * multi-gigabyte export costs no more memory than one message.
 *
 * Messages that carry templates go through the product's IpfixParser, which also learns the
 * templates. Messages with data sets only (nearly all of them) are walked here with those
 * templates, reading just packetDeltaCount, octetDeltaCount and flowEndReason: building every
 * record's value object, as the parser does, costs ~5 µs a record, 25 s for a 5-million-flow run.
 * The flood test checks this walk against the parser on a whole file (same totals). Only the
 * forward counters are summed: RFC 5103 biflow records' reverse counters are not (uniflow export).
 */

export interface IpfixTally {
  bytes: number;
  messages: number;
  /** Messages that defined or withdrew templates (parsed in full). */
  templateMessages: number;
  dataRecords: number;
  /** Options data records (exporter statistics). */
  optionsRecords: number;
  packets: number;
  octets: number;
  /** Data records by flowEndReason (index 0: records without the field, or with a reason above 7). */
  recordsByEndReason: number[];
  /** Data sets whose template was never announced. */
  unknownTemplateSets: number;
}

const VARIABLE_LENGTH = 65_535;
const TEMPLATE_SET_ID = 2;
const OPTIONS_TEMPLATE_SET_ID = 3;
const MIN_DATA_SET_ID = 256;
const END_REASON_SLOTS = 8;

/** Where the counted fields sit in a template's records: field indexes, -1 when absent. */
interface TemplateLayout {
  options: boolean;
  lengths: number[];
  minimumBytes: number;
  packetsField: number;
  octetsField: number;
  endReasonField: number;
}

function layoutOf(template: ParsedTemplate): TemplateLayout {
  const indexOf = (name: string) => template.fields.findIndex((f) => f.name === name && f.enterpriseNumber === 0);
  const lengths = template.fields.map((f) => f.lengthBytes);
  return {
    options: template.kind === 'options',
    lengths,
    minimumBytes: lengths.reduce((sum, length) => sum + (length === VARIABLE_LENGTH ? 1 : length), 0),
    packetsField: indexOf('packetDeltaCount'),
    octetsField: indexOf('octetDeltaCount'),
    endReasonField: indexOf('flowEndReason'),
  };
}

/** Unsigned big-endian integer of 1-8 bytes (reduced-size encoding, RFC 7011 §6.2), exact below 2^53. */
function readUnsigned(bytes: Uint8Array, at: number, length: number): number {
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + bytes[at + i]!;
  return value;
}

export class IpfixStreamTally {
  readonly tally: IpfixTally = {
    bytes: 0, messages: 0, templateMessages: 0, dataRecords: 0, optionsRecords: 0, packets: 0, octets: 0,
    recordsByEndReason: new Array<number>(END_REASON_SLOTS).fill(0), unknownTemplateSets: 0,
  };
  private readonly parser = new IpfixParser();
  private readonly layouts = new Map<number, TemplateLayout>();
  /** Bytes of a message split across chunks (at most one message, < 64 KiB). */
  private carry: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): void {
    this.tally.bytes += chunk.length;
    const bytes = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    let at = 0;
    while (bytes.length - at >= IPFIX_MESSAGE_HEADER_BYTES) {
      const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
      if (length < IPFIX_MESSAGE_HEADER_BYTES) throw new Error(`IPFIX message at stream offset ${this.tally.bytes - bytes.length + at} claims ${length} bytes`);
      if (bytes.length - at < length) break;
      this.message(bytes, at, length);
      at += length;
    }
    this.carry = Buffer.from(bytes.subarray(at)); // a copy: the chunk's memory may be reused
  }

  /** The totals; throws when the stream ended inside a message. */
  end(): IpfixTally {
    if (this.carry.length > 0) throw new Error(`IPFIX stream ends inside a message (${this.carry.length} bytes left over)`);
    return this.tally;
  }

  private message(bytes: Uint8Array, start: number, length: number): void {
    const t = this.tally;
    t.messages++;
    const end = start + length;
    if (this.hasTemplateSet(bytes, start, end)) {
      t.templateMessages++;
      const parsed = this.parser.parseMessage(bytes.subarray(start, end), 0);
      this.layouts.clear(); // templates may have been redefined or withdrawn
      t.unknownTemplateSets += parsed.unknownTemplateSets;
      for (const record of parsed.records) {
        if (record.kind === 'options') {
          t.optionsRecords++;
          continue;
        }
        const reason = record.values.flowEndReason;
        this.count(Number(record.values.packetDeltaCount ?? 0), Number(record.values.octetDeltaCount ?? 0), typeof reason === 'number' ? reason : 0);
      }
      return;
    }
    const domain = readUnsigned(bytes, start + 12, 4);
    for (let set = start + IPFIX_MESSAGE_HEADER_BYTES; end - set >= 4; ) {
      const setId = (bytes[set]! << 8) | bytes[set + 1]!;
      const setLength = (bytes[set + 2]! << 8) | bytes[set + 3]!;
      if (setLength < 4 || set + setLength > end) throw new Error(`IPFIX set ${setId} of ${setLength} bytes does not fit its message`);
      if (setId >= MIN_DATA_SET_ID) this.dataSet(bytes, set + 4, set + setLength, domain * 65_536 + setId);
      set += setLength;
    }
  }

  private hasTemplateSet(bytes: Uint8Array, start: number, end: number): boolean {
    for (let set = start + IPFIX_MESSAGE_HEADER_BYTES; end - set >= 4; ) {
      const setId = (bytes[set]! << 8) | bytes[set + 1]!;
      if (setId === TEMPLATE_SET_ID || setId === OPTIONS_TEMPLATE_SET_ID) return true;
      const setLength = (bytes[set + 2]! << 8) | bytes[set + 3]!;
      if (setLength < 4) return true; // damaged: let the parser report it
      set += setLength;
    }
    return false;
  }

  private dataSet(bytes: Uint8Array, start: number, end: number, key: number): void {
    let layout = this.layouts.get(key);
    if (layout === undefined) {
      const template = this.parser.templates.get(key);
      if (template === undefined) {
        this.tally.unknownTemplateSets++;
        return;
      }
      layout = layoutOf(template);
      this.layouts.set(key, layout);
    }
    const { lengths, minimumBytes } = layout;
    if (minimumBytes === 0) return;
    // A remainder shorter than the smallest record is padding (RFC 7011 §3.3.1).
    for (let at = start; end - at >= minimumBytes; ) {
      let packets = 0;
      let octets = 0;
      let reason = 0;
      for (let f = 0; f < lengths.length; f++) {
        let length = lengths[f]!;
        if (length === VARIABLE_LENGTH) {
          length = bytes[at++]!;
          if (length === 255) {
            length = (bytes[at]! << 8) | bytes[at + 1]!;
            at += 2;
          }
        }
        if (at + length > end) throw new Error(`IPFIX record of template ${key & 0xffff} runs past its set`);
        if (f === layout.packetsField) packets = readUnsigned(bytes, at, length);
        else if (f === layout.octetsField) octets = readUnsigned(bytes, at, length);
        else if (f === layout.endReasonField) reason = readUnsigned(bytes, at, length);
        at += length;
      }
      if (layout.options) this.tally.optionsRecords++;
      else this.count(packets, octets, reason);
    }
  }

  private count(packets: number, octets: number, reason: number): void {
    const t = this.tally;
    t.dataRecords++;
    t.packets += packets;
    t.octets += octets;
    t.recordsByEndReason[reason < END_REASON_SLOTS ? reason : 0]!++;
  }
}
