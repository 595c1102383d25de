/**
 * Message builder rules, checked by walking the produced bytes with a small independent reader:
 * RFC 7011 §3.1 sequence numbers (records before this message, mod 2^32), templates before data,
 * refresh by count and by time over UDP, only at the start for files, every message <= MTU.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { fillRecord, randomFlows, RecordingTransport, seededRandom } from './export-test-kit.js';

interface WalkedMessage {
  length: number;
  sequence: number;
  exportTime: number;
  domain: number;
  hasTemplates: boolean;
  templateSetIsFirst: boolean;
  records: number;
  dataSetIds: number[];
}

/** Reads header and set headers only; record counts from the fixed record sizes (72 / 96). */
function walk(message: Uint8Array): WalkedMessage {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  assert.equal(view.getUint16(0), 10);
  assert.equal(view.getUint16(2), message.length, 'header length equals the message size');
  const walked: WalkedMessage = {
    length: message.length,
    exportTime: view.getUint32(4),
    sequence: view.getUint32(8),
    domain: view.getUint32(12),
    hasTemplates: false,
    templateSetIsFirst: false,
    records: 0,
    dataSetIds: [],
  };
  let offset = 16;
  while (offset < message.length) {
    const setId = view.getUint16(offset);
    const setLength = view.getUint16(offset + 2);
    assert.ok(setLength >= 4 && offset + setLength <= message.length, 'set inside the message');
    assert.equal(setLength % 4, 0, 'sets are 4-byte multiples (no padding needed)');
    if (setId === 2) {
      walked.hasTemplates = true;
      walked.templateSetIsFirst = offset === 16;
    } else {
      const recordBytes = setId === 256 ? 72 : setId === 257 ? 96 : 0;
      assert.ok(recordBytes > 0, `unexpected set id ${setId}`);
      assert.equal((setLength - 4) % recordBytes, 0, 'data sets hold whole records');
      assert.ok(setLength > 4, 'no empty data sets');
      walked.records += (setLength - 4) / recordBytes;
      walked.dataSetIds.push(setId);
    }
    offset += setLength;
  }
  assert.equal(offset, message.length);
  return walked;
}

function feed(builder: IpfixMessageBuilder, count: number, seed: number): void {
  const rec = new FlowRecord();
  for (const flow of randomFlows(count, seed)) builder.add(fillRecord(rec, flow));
}

describe('sequence numbers', () => {
  test('message k carries the number of data records in messages before k', () => {
    const transport = new RecordingTransport();
    const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 42, observationDomainId: 9 });
    feed(builder, 3_000, 7);
    builder.flush(0);
    const messages = transport.messages.map(walk);
    assert.ok(messages.length > 100);
    let before = 0;
    for (const message of messages) {
      assert.equal(message.sequence, before);
      assert.equal(message.domain, 9);
      assert.equal(message.exportTime, 42);
      before += message.records;
    }
    assert.equal(before, 3_000);
    assert.equal(builder.nextSequenceNumber, 3_000);
  });

  test('wraps modulo 2^32', () => {
    const transport = new RecordingTransport();
    const start = 2 ** 32 - 50;
    const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 0, firstSequenceNumber: start });
    feed(builder, 200, 3);
    builder.flush(0);
    let before = 0;
    let wrapped = false;
    for (const message of transport.messages.map(walk)) {
      assert.equal(message.sequence, (start + before) % 2 ** 32);
      if (message.sequence < start) wrapped = true;
      before += message.records;
    }
    assert.ok(wrapped, 'the test crossed 2^32');
    assert.equal(builder.nextSequenceNumber, (start + 200) % 2 ** 32);
  });
});

describe('templates', () => {
  test('UDP: first message starts with templates, then every N messages', () => {
    const transport = new RecordingTransport();
    const builder = new IpfixMessageBuilder({
      transports: [transport],
      exportTimeSeconds: () => 0,
      templateRefresh: { messages: 5, ms: 1e12 },
    });
    builder.flush(1_000);
    feed(builder, 2_000, 11);
    builder.flush(1_000);
    const messages = transport.messages.map(walk);
    messages.forEach((message, index) => {
      assert.equal(message.hasTemplates, index % 5 === 0, `message ${index}`);
      if (message.hasTemplates) assert.ok(message.templateSetIsFirst);
    });
    assert.equal(builder.stats.template_sets_total, Math.ceil(messages.length / 5));
  });

  test('UDP: templates are resent once T ms of the caller clock have passed', () => {
    const transport = new RecordingTransport();
    const builder = new IpfixMessageBuilder({
      transports: [transport],
      exportTimeSeconds: () => 0,
      templateRefresh: { messages: 1_000, ms: 10_000 },
    });
    const rec = new FlowRecord();
    const flows = randomFlows(10, 5);
    // One message per tick; the clock advances 3 s per tick → templates at t=0, 12 s, 24 s, ...
    const withTemplates: number[] = [];
    for (let tick = 0; tick < 10; tick++) {
      const nowMs = 1_000_000 + tick * 3_000;
      builder.observeTime(nowMs);
      builder.add(fillRecord(rec, { ...flows[tick]!, startMs: nowMs - 500, endMs: nowMs - 100 }));
      builder.flush(nowMs);
      if (walk(transport.messages[tick]!).hasTemplates) withTemplates.push(tick);
    }
    assert.deepEqual(withTemplates, [0, 4, 8]);
  });

  test('record end times advance the clock: time refresh works even between flushes', () => {
    const transport = new RecordingTransport();
    const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 0, templateRefresh: { messages: 1_000, ms: 60_000 } });
    const rec = new FlowRecord();
    const flows = randomFlows(400, 6).map((flow, i) => ({ ...flow, startMs: 1_000_000 + i * 1_000, endMs: 1_000_000 + i * 1_000 + 500 }));
    for (const flow of flows) builder.add(fillRecord(rec, flow)); // no flush until the end: 400 s of records
    builder.flush(1_000_000 + 400_000);
    const messages = transport.messages.map(walk);
    const templateMessages = messages.flatMap((message, index) => (message.hasTemplates ? [index] : []));
    // ~19 records (19 s) per message: templates every 4th message (>= 60 s), starting with the first.
    assert.equal(templateMessages[0], 0);
    assert.ok(templateMessages.length >= 5, String(templateMessages));
    assert.equal(builder.lastTimeMs, 1_400_000);
  });

  test('file (templateRefresh null): templates only in the first message, before any data', () => {
    const transport = new RecordingTransport();
    const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 0, templateRefresh: null });
    for (let tick = 0; tick < 20; tick++) {
      feed(builder, 100, tick);
      builder.flush(tick * 3_600_000);
    }
    const messages = transport.messages.map(walk);
    assert.ok(messages[0]?.hasTemplates && messages[0].templateSetIsFirst);
    assert.equal(messages.filter((message) => message.hasTemplates).length, 1);
  });

  test('a new data set starts whenever the template changes', () => {
    const transport = new RecordingTransport();
    const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 0 });
    const rec = new FlowRecord();
    const [v4, v6] = [randomFlows(50, 1).find((f) => f.ipVersion === 4)!, randomFlows(50, 1).find((f) => f.ipVersion === 6)!];
    for (const flow of [v4, v4, v6, v4, v6, v6]) builder.add(fillRecord(rec, flow));
    builder.flush(0);
    assert.deepEqual(walk(transport.messages[0]!).dataSetIds, [256, 257, 256, 257]);
  });
});

describe('MTU', () => {
  for (const mtuBytes of [300, 576, 1_400, 9_000]) {
    test(`random mixes: every message <= ${mtuBytes} bytes and every record is sent once`, () => {
      const random = seededRandom(mtuBytes);
      const transport = new RecordingTransport();
      const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 0, mtuBytes, templateRefresh: { messages: 3, ms: 1e12 } });
      let added = 0;
      for (let round = 0; round < 40; round++) {
        const count = Math.floor(random() * 200);
        feed(builder, count, round + mtuBytes);
        added += count;
        if (random() < 0.5) builder.flush(round);
      }
      builder.flush(0);
      const messages = transport.messages.map(walk);
      for (const message of messages) assert.ok(message.length <= mtuBytes, `${message.length} > ${mtuBytes}`);
      assert.equal(messages.reduce((sum, message) => sum + message.records, 0), added);
      assert.equal(builder.stats.records_total, added);
      assert.equal(builder.stats.messages_total, messages.length);
      assert.equal(builder.stats.octets_total, messages.reduce((sum, message) => sum + message.length, 0));
    });
  }

  test('an MTU too small for one record is refused; one too small for all templates beside data splits them', () => {
    assert.throws(
      () => new IpfixMessageBuilder({ transports: [], exportTimeSeconds: () => 0, mtuBytes: 16 + 4 + 96 - 1 }),
      (error: Error & { code?: string }) => error.code === 'TAPFLOW_E_EXPORT_MTU',
    );
    const sendTwo = (mtuBytes: number): ReturnType<typeof walk>[] => {
      const transport = new RecordingTransport();
      const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 0, mtuBytes });
      feed(builder, 2, 1);
      builder.flush(0);
      return transport.messages.map(walk);
    };
    // Header + the 172-byte template set + a set of one 96-byte record (+3 padding room): one message.
    const roomy = sendTwo(16 + 172 + 4 + 96 + 3);
    assert.equal(roomy[0]?.hasTemplates && roomy[0].templateSetIsFirst, true);
    // 200 bytes: the templates go first, in messages of their own (no records, same sequence number).
    const tight = sendTwo(200);
    for (const message of tight) assert.ok(message.length <= 200);
    assert.equal(tight.reduce((sum, message) => sum + message.records, 0), 2);
    const firstData = tight.findIndex((message) => message.records > 0);
    assert.ok(firstData >= 1 && tight.slice(0, firstData).every((message) => message.hasTemplates && message.records === 0));
  });

  test('flush with nothing pending sends nothing; every transport gets the same bytes', () => {
    const first = new RecordingTransport();
    const second = new RecordingTransport();
    const builder = new IpfixMessageBuilder({ transports: [first, second], exportTimeSeconds: () => 0 });
    builder.flush(0);
    assert.equal(first.messages.length, 0);
    feed(builder, 100, 1);
    builder.flush(0);
    assert.ok(first.messages.length > 1);
    assert.deepEqual(first.messages, second.messages);
  });
});
