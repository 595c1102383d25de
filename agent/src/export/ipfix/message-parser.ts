/**
 * A general IPFIX message parser (RFC 7011): header, Template Sets (enterprise bit, variable-length
 * fields, withdrawals), Options Template Sets (parsed; their records are decoded like any other),
 * Data Sets decoded into objects keyed by IANA element names (see field-decoder.ts for the value
 * conventions). Used by `tapflow inspect` and by tests; allocates freely.
 *
 * Templates are remembered per (observation domain, template id) for the parser's lifetime, which
 * is one Transport Session or one IPFIX File. Data Sets whose template is unknown are skipped and
 * counted (a UDP collector may see data before templates). Structural damage throws
 * IpfixParseError with the absolute byte offset.
 */
import { AgentError } from '../../core/errors.js';
import { decodeFieldValue, type IpfixValue } from './field-decoder.js';
import { describeElement, VARIABLE_LENGTH, type IpfixAbstractType } from './information-elements.js';
import { MIN_DATA_SET_ID, OPTIONS_TEMPLATE_SET_ID, TEMPLATE_SET_ID } from './templates.js';

export const IPFIX_MESSAGE_HEADER_BYTES = 16;

export interface IpfixMessageHeader {
  version: number;
  lengthBytes: number;
  exportTimeSeconds: number;
  sequenceNumber: number;
  observationDomainId: number;
}

export interface ParsedField {
  id: number;
  enterpriseNumber: number;
  /** As announced by the template; VARIABLE_LENGTH (65535) for variable-length fields. */
  lengthBytes: number;
  name: string;
  type: IpfixAbstractType;
}

export interface ParsedTemplate {
  templateId: number;
  observationDomainId: number;
  kind: 'template' | 'options';
  /** Options templates: how many leading fields are scope fields; 0 otherwise. */
  scopeFieldCount: number;
  fields: ParsedField[];
}

export interface ParsedRecord {
  templateId: number;
  observationDomainId: number;
  kind: 'data' | 'options';
  /** Absolute offset of the record's first byte. */
  offset: number;
  /** Keyed by element name; a repeated element gets `name#2`, `name#3`, ... */
  values: Record<string, IpfixValue>;
}

export interface ParsedMessage {
  offset: number;
  header: IpfixMessageHeader;
  /** Templates (re)defined by this message. */
  templates: ParsedTemplate[];
  withdrawnTemplateIds: number[];
  records: ParsedRecord[];
  /** Data sets skipped because their template is unknown. */
  unknownTemplateSets: number;
  /** Sets with a reserved id (4-255), skipped. */
  reservedSets: number;
}

export class IpfixParseError extends AgentError {
  /** Absolute offset of the damaged structure. */
  readonly offset: number;
  /** Records of the damaged message decoded before the damage. */
  readonly recordsBefore: readonly ParsedRecord[];
  constructor(offset: number, message: string, recordsBefore: readonly ParsedRecord[] = []) {
    super('TAPFLOW_E_IPFIX_PARSE', `corrupt IPFIX at byte offset ${offset}: ${message}`);
    this.name = 'IpfixParseError';
    this.offset = offset;
    this.recordsBefore = recordsBefore;
  }
}

function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

function u32(bytes: Uint8Array, at: number): number {
  return (((bytes[at] ?? 0) << 24) | ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) >>> 0;
}

export class IpfixParser {
  /** Key: observationDomainId * 65536 + templateId. */
  readonly templates = new Map<number, ParsedTemplate>();

  /**
   * Parse the message starting at `bytes[offset]`. `baseOffset` is added to every reported offset
   * (the position of `bytes[0]` in the file).
   */
  parseMessage(bytes: Uint8Array, offset: number, baseOffset = 0): ParsedMessage {
    const at = (position: number) => baseOffset + position;
    const remaining = bytes.length - offset;
    if (remaining < IPFIX_MESSAGE_HEADER_BYTES) {
      throw new IpfixParseError(at(offset), `truncated message header: ${remaining} of 16 bytes`);
    }
    const header: IpfixMessageHeader = {
      version: u16(bytes, offset),
      lengthBytes: u16(bytes, offset + 2),
      exportTimeSeconds: u32(bytes, offset + 4),
      sequenceNumber: u32(bytes, offset + 8),
      observationDomainId: u32(bytes, offset + 12),
    };
    if (header.version !== 10) throw new IpfixParseError(at(offset), `version ${header.version}, expected 10 (not IPFIX)`);
    if (header.lengthBytes < IPFIX_MESSAGE_HEADER_BYTES) {
      throw new IpfixParseError(at(offset + 2), `message length ${header.lengthBytes} is shorter than its header`);
    }
    if (header.lengthBytes > remaining) {
      throw new IpfixParseError(at(offset), `truncated message: length ${header.lengthBytes}, only ${remaining} bytes left`);
    }
    const message: ParsedMessage = {
      offset: at(offset),
      header,
      templates: [],
      withdrawnTemplateIds: [],
      records: [],
      unknownTemplateSets: 0,
      reservedSets: 0,
    };
    const end = offset + header.lengthBytes;
    let position = offset + IPFIX_MESSAGE_HEADER_BYTES;
    while (position < end) {
      if (end - position < 4) throw new IpfixParseError(at(position), `${end - position} stray bytes after the last set`, message.records);
      const setId = u16(bytes, position);
      const setLength = u16(bytes, position + 2);
      if (setLength < 4) throw new IpfixParseError(at(position + 2), `set length ${setLength} is shorter than its header`, message.records);
      if (position + setLength > end) {
        throw new IpfixParseError(at(position), `set ${setId} of ${setLength} bytes runs past the message end`, message.records);
      }
      const setEnd = position + setLength;
      if (setId === TEMPLATE_SET_ID || setId === OPTIONS_TEMPLATE_SET_ID) {
        this.parseTemplateSet(bytes, position + 4, setEnd, setId, header.observationDomainId, message, baseOffset);
      } else if (setId >= MIN_DATA_SET_ID) {
        this.parseDataSet(bytes, position + 4, setEnd, setId, header.observationDomainId, message, baseOffset);
      } else {
        message.reservedSets++;
      }
      position = setEnd;
    }
    return message;
  }

  private parseTemplateSet(bytes: Uint8Array, start: number, end: number, setId: number, domain: number, message: ParsedMessage, baseOffset: number): void {
    const isOptions = setId === OPTIONS_TEMPLATE_SET_ID;
    let position = start;
    // Fewer than 4 bytes left: padding (RFC 7011 §3.3.1).
    while (end - position >= 4) {
      const recordOffset = position;
      const templateId = u16(bytes, position);
      const fieldCount = u16(bytes, position + 2);
      position += 4;
      if (fieldCount === 0) {
        this.withdraw(templateId, setId, domain, message);
        continue;
      }
      if (templateId < MIN_DATA_SET_ID) {
        throw new IpfixParseError(baseOffset + recordOffset, `template id ${templateId} is below 256`, message.records);
      }
      let scopeFieldCount = 0;
      if (isOptions) {
        if (end - position < 2) throw new IpfixParseError(baseOffset + recordOffset, 'options template record truncated', message.records);
        scopeFieldCount = u16(bytes, position);
        position += 2;
        if (scopeFieldCount === 0 || scopeFieldCount > fieldCount) {
          throw new IpfixParseError(baseOffset + recordOffset, `options template ${templateId}: scope field count ${scopeFieldCount} of ${fieldCount} fields`, message.records);
        }
      }
      const fields: ParsedField[] = [];
      for (let i = 0; i < fieldCount; i++) {
        if (end - position < 4) {
          throw new IpfixParseError(baseOffset + position, `template ${templateId}: field ${i + 1} of ${fieldCount} runs past the set end`, message.records);
        }
        const rawId = u16(bytes, position);
        const lengthBytes = u16(bytes, position + 2);
        position += 4;
        let enterpriseNumber = 0;
        if (rawId & 0x8000) {
          if (end - position < 4) throw new IpfixParseError(baseOffset + position, `template ${templateId}: enterprise number runs past the set end`, message.records);
          enterpriseNumber = u32(bytes, position);
          position += 4;
        }
        const element = describeElement(rawId & 0x7fff, enterpriseNumber);
        fields.push({ id: element.id, enterpriseNumber, lengthBytes, name: element.name, type: element.type });
      }
      const template: ParsedTemplate = { templateId, observationDomainId: domain, kind: isOptions ? 'options' : 'template', scopeFieldCount, fields };
      this.templates.set(domain * 65_536 + templateId, template);
      message.templates.push(template);
    }
  }

  private withdraw(templateId: number, setId: number, domain: number, message: ParsedMessage): void {
    if (templateId === setId) {
      // All (options) templates of this domain withdrawn (RFC 7011 §8.1).
      for (const [key, template] of this.templates) {
        if (template.observationDomainId === domain && (template.kind === 'options') === (setId === OPTIONS_TEMPLATE_SET_ID)) this.templates.delete(key);
      }
    } else {
      this.templates.delete(domain * 65_536 + templateId);
    }
    message.withdrawnTemplateIds.push(templateId);
  }

  private parseDataSet(bytes: Uint8Array, start: number, end: number, templateId: number, domain: number, message: ParsedMessage, baseOffset: number): void {
    const template = this.templates.get(domain * 65_536 + templateId);
    if (template === undefined) {
      message.unknownTemplateSets++;
      return;
    }
    let minimumBytes = 0;
    for (const field of template.fields) minimumBytes += field.lengthBytes === VARIABLE_LENGTH ? 1 : field.lengthBytes;
    if (minimumBytes === 0) return;
    let position = start;
    // A remainder shorter than the smallest record is padding.
    while (end - position >= minimumBytes) {
      const recordOffset = position;
      const values: Record<string, IpfixValue> = {};
      for (const field of template.fields) {
        let length = field.lengthBytes;
        if (length === VARIABLE_LENGTH) {
          length = bytes[position] ?? 0;
          position += 1;
          if (length === 255) {
            if (end - position < 2) throw new IpfixParseError(baseOffset + position, `variable-length ${field.name}: length runs past the set end`, message.records);
            length = u16(bytes, position);
            position += 2;
          }
        }
        if (position + length > end) {
          throw new IpfixParseError(baseOffset + position, `${field.name} (${length} bytes) in template ${templateId} record runs past the set end`, message.records);
        }
        let key = field.name;
        for (let n = 2; key in values; n++) key = `${field.name}#${n}`;
        values[key] = decodeFieldValue(field.type, bytes, position, length);
        position += length;
      }
      message.records.push({
        templateId,
        observationDomainId: domain,
        kind: template.kind === 'options' ? 'options' : 'data',
        offset: baseOffset + recordOffset,
        values,
      });
    }
  }
}

/** Parse a buffer of back-to-back messages (an IPFIX File's content), yielding each in turn. */
export function* iterateIpfixMessages(bytes: Uint8Array, parser = new IpfixParser()): Generator<ParsedMessage> {
  let offset = 0;
  while (offset < bytes.length) {
    const message = parser.parseMessage(bytes, offset);
    yield message;
    offset += message.header.lengthBytes;
  }
}

/** All data records of a buffer of messages (throws IpfixParseError on damage). */
export function parseIpfixRecords(bytes: Uint8Array): ParsedRecord[] {
  const records: ParsedRecord[] = [];
  for (const message of iterateIpfixMessages(bytes)) records.push(...message.records);
  return records;
}
