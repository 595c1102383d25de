/**
 * The general IPFIX parser: round trip of tapflow's own messages, and hand-made messages with what
 * other exporters send (enterprise elements, variable-length fields, options templates,
 * withdrawals, padding), plus damage reported with byte offsets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { formatIpv6 } from '../../../src/export/ipfix/field-decoder.js';
import { IpfixParseError, IpfixParser, iterateIpfixMessages, parseIpfixRecords } from '../../../src/export/ipfix/message-parser.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { expectedIpfixValues, fillRecord, ipv6Text, randomFlows, RecordingTransport } from './export-test-kit.js';

function hex(text: string): Uint8Array {
  const digits = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** Wrap sets (hex) in a message header with the right length. */
function message(setsHex: string, sequence = 0, domain = 1): Uint8Array {
  const sets = hex(setsHex);
  const bytes = new Uint8Array(16 + sets.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 10);
  view.setUint16(2, bytes.length);
  view.setUint32(4, 1_700_000_000);
  view.setUint32(8, sequence);
  view.setUint32(12, domain);
  bytes.set(sets, 16);
  return bytes;
}

test('parse(build(records)) gives back every record, in order, with the generator-known values', () => {
  const flows = randomFlows(5_000, 99);
  const transport = new RecordingTransport();
  const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 0, templateRefresh: null });
  const rec = new FlowRecord();
  for (const flow of flows) builder.add(fillRecord(rec, flow));
  builder.flush(0);
  const records = parseIpfixRecords(transport.concat());
  assert.equal(records.length, flows.length);
  records.forEach((record, index) => {
    const flow = flows[index]!;
    assert.equal(record.templateId, flow.ipVersion === 6 ? 257 : 256);
    assert.deepEqual(record.values, expectedIpfixValues(flow), `record ${index}`);
  });
});

describe('records from other exporters', () => {
  test('enterprise elements, variable-length fields (short and long form) and padding', () => {
    const longText = 'x'.repeat(300);
    const bytes = message(`
      0002 0028                     # template set, 40 bytes
      0190 0006                     # template 400, 6 fields
      0008 0004                     # sourceIPv4Address
      8001 0002 00007279            # enterprise bit, element 1, 2 bytes, PEN 29305 (RFC 5103 reverse)
      8064 0004 000003e7            # element 100 of PEN 999 (unknown) → '999.100'
      0052 ffff                     # interfaceName, variable length
      03e7 0001                     # element 999 (unknown IANA id) → 'ie999'
      00d2 ffff                     # paddingOctets, variable length
      0190 0151                     # data set 400, 337 bytes: 4 + 16 + 315 + 2 padding
      0a000001 0005 deadbeef 03 657468 30 00      # 10.0.0.1, reverse 5, 999.100, "eth", ie999 0x30, empty padding field
      0a000002 0006 00000000 ff 012c ${Buffer.from(longText).toString('hex')} 31 00
      0000                          # set padding (2 bytes < smallest record)
    `);
    const [parsed] = [...iterateIpfixMessages(bytes)];
    assert.ok(parsed);
    const fieldNames = parsed.templates[0]?.fields.map((field) => field.name);
    assert.deepEqual(fieldNames, ['sourceIPv4Address', 'reverseOctetDeltaCount', '999.100', 'interfaceName', 'ie999', 'paddingOctets']);
    assert.equal(parsed.records.length, 2);
    assert.deepEqual(parsed.records[0]?.values, {
      sourceIPv4Address: '10.0.0.1',
      reverseOctetDeltaCount: 5,
      '999.100': 'deadbeef',
      interfaceName: 'eth',
      ie999: '30',
      paddingOctets: '',
    });
    assert.equal(parsed.records[1]?.values.interfaceName, longText);
  });

  test('options templates are parsed and their records decoded; withdrawals forget templates', () => {
    const parser = new IpfixParser();
    const first = parser.parseMessage(
      message(`
        0003 0018                   # options template set, 24 bytes (2 of padding)
        0200 0003 0001              # template 512, 3 fields, 1 scope field
        0090 0004                   # scope: exportingProcessId
        0029 0008  002a 0008        # exportedMessageTotalCount, exportedFlowRecordTotalCount
        0000                        # padding
        0200 0018                   # data set 512, one record
        00000007 000000000000000a 0000000000000064
      `),
      0,
    );
    assert.equal(first.templates[0]?.kind, 'options');
    assert.equal(first.templates[0]?.scopeFieldCount, 1);
    assert.deepEqual(first.records[0], {
      templateId: 512,
      observationDomainId: 1,
      kind: 'options',
      offset: 16 + 24 + 4,
      values: { exportingProcessId: 7, exportedMessageTotalCount: 10, exportedFlowRecordTotalCount: 100 },
    });
    const second = parser.parseMessage(message('0003 0008 0200 0000   0200 0018 00000007 000000000000000a 0000000000000064'), 0);
    assert.deepEqual(second.withdrawnTemplateIds, [512]);
    assert.equal(second.records.length, 0);
    assert.equal(second.unknownTemplateSets, 1, 'data for a withdrawn template is skipped, not misread');
  });

  test('templates are scoped by observation domain; data before its template is skipped', () => {
    const parser = new IpfixParser();
    const data = message('0100 0008 0a000001', 0, 5);
    assert.equal(parser.parseMessage(data, 0).unknownTemplateSets, 1);
    parser.parseMessage(message('0002 000c 0100 0001 0008 0004', 0, 6), 0);
    assert.equal(parser.parseMessage(data, 0).unknownTemplateSets, 1, 'domain 6 template does not apply to domain 5');
    parser.parseMessage(message('0002 000c 0100 0001 0008 0004', 0, 5), 0);
    assert.deepEqual(parser.parseMessage(data, 0).records[0]?.values, { sourceIPv4Address: '10.0.0.1' });
  });

  test('reduced-size integers, repeated elements, seconds and microsecond timestamps', () => {
    const bytes = message(`
      0002 001c 0100 0005
      0001 0004                    # octetDeltaCount in 4 bytes (reduced size)
      0007 0002  0007 0002         # sourceTransportPort twice
      0096 0004                    # flowStartSeconds
      009a 0008                    # flowStartMicroseconds (NTP format)
      0100 0018
      00001000 0050 0051 6553f100 e8fe6f7f80000000
    `);
    const [record] = parseIpfixRecords(bytes);
    assert.deepEqual(record?.values, {
      octetDeltaCount: 4096,
      sourceTransportPort: 80,
      'sourceTransportPort#2': 81,
      flowStartSeconds: 1_700_000_000_000,
      // 0xe8fe6f7f s since 1900 = 1700000000 + 2208988800 - 1 s, plus 0.5 s.
      flowStartMicroseconds: 1_699_999_999_500,
    });
  });
});

describe('damage is reported with its byte offset', () => {
  const good = message('0002 000c 0100 0001 0008 0004  0100 000c 0a000001 0a000002');

  const cases: Array<[string, Uint8Array, number, RegExp]> = [
    ['version 9 (not IPFIX)', Uint8Array.from([0, 9, ...good.subarray(2)]), 0, /version 9/],
    ['length shorter than the header', Uint8Array.from([0, 10, 0, 8, ...good.subarray(4)]), 2, /shorter than its header/],
    ['truncated message', good.subarray(0, good.length - 3), 0, /truncated message/],
    ['truncated header', good.subarray(0, 10), 0, /truncated message header/],
    ['set running past the message', (() => { const b = good.slice(); b[16 + 12 + 3] = 0x40; return b; })(), 16 + 12, /runs past the message end/],
    ['set length below 4', (() => { const b = good.slice(); b[16 + 3] = 2; return b; })(), 18, /shorter than its header/],
    ['template id below 256', (() => { const b = good.slice(); b[20] = 0; b[21] = 7; return b; })(), 20, /below 256/],
  ];
  for (const [name, bytes, offset, pattern] of cases) {
    test(name, () => {
      assert.throws(
        () => parseIpfixRecords(bytes),
        (error: unknown) => error instanceof IpfixParseError && error.offset === offset && pattern.test(error.message) && error.code === 'TAPFLOW_E_IPFIX_PARSE',
      );
    });
  }

  test('offsets are absolute across messages, and records before the damage survive', () => {
    const damaged = good.slice();
    damaged[16 + 12 + 3] = 0x40;
    const bytes = Buffer.concat([good, damaged]);
    const seen: number[] = [];
    assert.throws(
      () => {
        for (const parsed of iterateIpfixMessages(bytes)) seen.push(parsed.records.length);
      },
      (error: unknown) => error instanceof IpfixParseError && error.offset === good.length + 28,
    );
    assert.deepEqual(seen, [2]);
  });

  test('a variable-length field longer than its set', () => {
    const bytes = message('0002 000c 0100 0001 0052 ffff   0100 0008 09 616263');
    assert.throws(() => parseIpfixRecords(bytes), (error: unknown) => error instanceof IpfixParseError && /interfaceName \(9 bytes\)/.test(error.message) && error.offset === 16 + 12 + 5);
  });
});

test('IPv6 text follows RFC 5952 (checked against the WHATWG URL serializer)', () => {
  const samples: number[][] = [
    [0, 0, 0, 0],
    [0, 0, 0, 1],
    [0x20010db8, 0, 0, 1],
    [0x20010db8, 0x00000001, 0, 0x00010001],
    [0x20010db8, 0x00010000, 0x00000001, 0],
    [0xfe800000, 0, 0x02aabbff, 0xfecc0001],
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    [0x00010000, 0x00000002, 0x00000003, 0x00040000],
  ];
  for (const words of samples) {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    words.forEach((word, i) => view.setUint32(i * 4, word >>> 0));
    assert.equal(formatIpv6(bytes, 0), ipv6Text(words), words.map((w) => w.toString(16)).join(','));
  }
});
