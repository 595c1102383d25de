/**
 * IPFIX over TCP and TLS (StreamTransport) against a real collector on 127.0.0.1
 * (test/helpers/stream-collector.ts), no mocks. Most tests send small hand-made IPFIX messages:
 * template 256 = sourceIPv4Address(8, 4 bytes) + octetDeltaCount(1, 8 bytes), each record's
 * octetDeltaCount is its global index, so the collector side can check order and continuity
 * against what this file generated. The last tests send the real builder's messages and decode
 * a loopback capture with tshark.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { TAPFLOW_TEMPLATE_SET } from '../../../src/export/ipfix/templates.js';
import { PendingMessageRing } from '../../../src/export/pending-message-ring.js';
import { ReconnectBackoff } from '../../../src/export/reconnect-backoff.js';
import { StreamTransport, type StreamTransportOptions } from '../../../src/export/stream-transport.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { hasTool, tempDir, TSHARK_MISSING } from '../../helpers/collectors.js';
import { ipfixSequence, isTemplatesOnly, startStreamCollector as startCollector, type StreamCollector, type StreamCollectorOptions } from '../../helpers/stream-collector.js';
import { fillRecord, randomFlows } from './export-test-kit.js';
import { makeTestPki } from '../../helpers/test-pki.js';

const execFileAsync = promisify(execFile);
const RECORD_BYTES = 12;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function writeHeader(buf: Buffer, length: number, sequence: number): void {
  buf.writeUInt16BE(10, 0);
  buf.writeUInt16BE(length, 2);
  buf.writeUInt32BE(1_700_000_000, 4);
  buf.writeUInt32BE(sequence >>> 0, 8);
  buf.writeUInt32BE(1, 12);
}

/** The preamble: a Template Set defining template 256. */
function templatesMessage(sequence: number): Uint8Array {
  const buf = Buffer.alloc(32);
  writeHeader(buf, 32, sequence);
  buf.writeUInt16BE(2, 16); // Template Set
  buf.writeUInt16BE(16, 18);
  buf.writeUInt16BE(256, 20); // template id
  buf.writeUInt16BE(2, 22); // field count
  buf.writeUInt16BE(8, 24); // sourceIPv4Address
  buf.writeUInt16BE(4, 26);
  buf.writeUInt16BE(1, 28); // octetDeltaCount
  buf.writeUInt16BE(8, 30);
  return buf;
}

/** octetDeltaCount of every record in a data message. */
function recordValues(message: Buffer): number[] {
  const values: number[] = [];
  if (message.readUInt16BE(16) !== 256) return values;
  for (let offset = 20; offset + RECORD_BYTES <= message.length; offset += RECORD_BYTES) values.push(Number(message.readBigUInt64BE(offset + 4)));
  return values;
}

interface SentMessage {
  sequence: number;
  records: number;
  bytes: Buffer;
}

/** Builds data messages into ONE reused buffer (like the real builder) and remembers what it sent. */
class FakeExporter {
  readonly sent: SentMessage[] = [];
  private readonly scratch = Buffer.alloc(2_000);
  private sequence: number;
  constructor(firstSequence = 0) {
    this.sequence = firstSequence;
  }
  send(transport: StreamTransport, records: number): void {
    const length = 16 + 4 + records * RECORD_BYTES;
    this.scratch.fill(0xee); // whatever lies past `length` must never reach the wire
    writeHeader(this.scratch, length, this.sequence);
    this.scratch.writeUInt16BE(256, 16);
    this.scratch.writeUInt16BE(4 + records * RECORD_BYTES, 18);
    for (let i = 0; i < records; i++) {
      const offset = 20 + i * RECORD_BYTES;
      this.scratch.writeUInt32BE(0x0a000001, offset);
      this.scratch.writeBigUInt64BE(BigInt((this.sequence + i) >>> 0), offset + 4);
    }
    this.sent.push({ sequence: this.sequence, records, bytes: Buffer.from(this.scratch.subarray(0, length)) });
    this.sequence = (this.sequence + records) >>> 0;
    transport.send(this.scratch, length, records);
  }
  get recordsSent(): number {
    return this.sent.reduce((sum, message) => sum + message.records, 0);
  }
}

/** Everything a test opened, closed after it even when an assertion failed (a live socket would hang the run). */
const openedThings: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const thing of openedThings.splice(0)) await thing.close();
});

function transportTo(port: number, options: Partial<StreamTransportOptions> = {}): StreamTransport {
  const transport = new StreamTransport(`127.0.0.1:${port}`, { preamble: templatesMessage, reconnectMinMs: 20, reconnectMaxMs: 100, closeTimeoutMs: 1_000, ...options });
  openedThings.push(transport);
  return transport;
}

async function startStreamCollector(options: StreamCollectorOptions = {}): Promise<StreamCollector> {
  const collector = await startCollector(options);
  openedThings.push({ close: () => collector.kill() });
  return collector;
}

/** A port nothing listens on right now (a collector started and killed: restart it to listen again). */
async function deadCollector(): Promise<StreamCollector> {
  const collector = await startStreamCollector();
  await collector.kill();
  return collector;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/**
 * What every delivery must look like: each connection that carried data starts with exactly one
 * templates-only message numbered like the data message after it; every data message is
 * byte-identical to one that was sent; sequence numbers rise within a connection. Returns the
 * data messages received (duplicates removed) in sequence order.
 */
function checkDelivery(collector: StreamCollector, exporter: FakeExporter): SentMessage[] {
  // Sequence numbers wrap at 2^32; the position in `sent` gives the order.
  const indexBySequence = new Map(exporter.sent.map((message, index) => [message.sequence, index]));
  const received = new Map<number, SentMessage>();
  collector.connections.forEach((connection, index) => {
    assert.equal(connection.error, null, `connection ${index}: ${connection.error}`);
    const [first, second] = connection.messages;
    if (first === undefined) return;
    assert.ok(isTemplatesOnly(first), `connection ${index} starts with templates`);
    if (second !== undefined) assert.equal(ipfixSequence(first), ipfixSequence(second), `connection ${index}: the preamble carries the next message's sequence number`);
    let previous = -1;
    for (const message of connection.messages.slice(1)) {
      assert.ok(!isTemplatesOnly(message), `connection ${index}: templates only at the start`);
      const sequence = ipfixSequence(message);
      const sentIndex = indexBySequence.get(sequence) ?? -1;
      const sent = exporter.sent[sentIndex];
      assert.ok(sent !== undefined, `connection ${index}: message ${sequence} was sent`);
      assert.ok(message.equals(sent.bytes), `connection ${index}: message ${sequence} arrived byte for byte`);
      assert.ok(sentIndex > previous, `connection ${index}: order kept`);
      previous = sentIndex;
      received.set(sentIndex, sent);
    }
  });
  return [...received.entries()].sort((a, b) => a[0] - b[0]).map(([, message]) => message);
}

/** received + dropped == sent (messages and records), and the sequence gaps are the dropped records. */
function checkAccounting(transport: StreamTransport, exporter: FakeExporter, received: SentMessage[]): void {
  const receivedRecords = received.reduce((sum, message) => sum + message.records, 0);
  assert.equal(received.length + transport.stats.dropped_total, exporter.sent.length, 'messages: received + dropped == sent');
  assert.equal(receivedRecords + transport.stats.dropped_records_total, exporter.recordsSent, 'records: received + dropped == sent');
  // What a collector computes: each message's sequence minus the one expected after the previous (mod 2^32).
  let gaps = 0;
  let expected = exporter.sent[0]?.sequence ?? 0;
  for (const message of received) {
    gaps += (message.sequence - expected) >>> 0;
    expected = (message.sequence + message.records) >>> 0;
  }
  const last = exporter.sent.at(-1);
  if (last !== undefined) gaps += (last.sequence + last.records - expected) >>> 0;
  assert.equal(gaps, transport.stats.dropped_records_total, 'sequence gaps == dropped records');
}

describe('PendingMessageRing', () => {
  test('keeps whole messages in order, wraps by skipping the tail, refuses what does not fit', () => {
    const ring = new PendingMessageRing(100, 8);
    const message = (fill: number, length: number) => new Uint8Array(length).fill(fill);
    assert.ok(ring.push(message(1, 40), 40, 1));
    assert.ok(ring.push(message(2, 40), 40, 2));
    assert.ok(!ring.push(message(3, 30), 30, 3), '30 bytes do not fit after 80 and nothing was freed');
    ring.shift(); // frees [0, 40)
    assert.ok(ring.push(message(3, 30), 30, 3), 'wraps to offset 0 (tail 80..100 skipped)');
    assert.equal(ring.offsetOf(ring.end - 1), 0);
    assert.ok(!ring.push(message(4, 20), 20, 4), 'only 10 bytes left before the oldest message');
    assert.ok(ring.push(message(4, 10), 10, 4));
    assert.deepEqual([...ring.view(ring.first)], Array(40).fill(2));
    assert.equal(ring.count, 3);
    assert.equal(ring.usedBytes, 80);
    assert.equal(ring.recordsPending, 9);
    ring.shift();
    ring.shift();
    assert.deepEqual([...ring.view(ring.first)], Array(10).fill(4));
    ring.shift();
    assert.equal(ring.count, 0);
    assert.ok(ring.push(message(5, 100), 100, 1), 'empty again: the whole buffer is free');
  });

  test('the message count is bounded too', () => {
    const ring = new PendingMessageRing(1_000, 4);
    for (let i = 0; i < 4; i++) assert.ok(ring.push(new Uint8Array(16), 16, 1));
    assert.ok(!ring.push(new Uint8Array(16), 16, 1));
    assert.ok(ring.moreThanHalfFull);
  });
});

describe('ReconnectBackoff', () => {
  test('doubles from min to max, jitter within ±20%, reset starts over', () => {
    const nominal = [100, 200, 400, 800, 1_000, 1_000];
    for (const [random, factor] of [[0, 0.8], [0.5, 1], [0.999_999, 1.2]] as const) {
      const backoff = new ReconnectBackoff(100, 1_000, () => random);
      const delays = nominal.map(() => backoff.nextDelayMs());
      assert.deepEqual(delays, nominal.map((ms) => Math.round(ms * factor)));
      backoff.reset();
      assert.equal(backoff.nextDelayMs(), Math.round(100 * factor));
    }
    const jittered = new ReconnectBackoff(1_000, 1_000);
    const delays = Array.from({ length: 2_000 }, () => jittered.nextDelayMs());
    assert.ok(Math.min(...delays) >= 800 && Math.max(...delays) <= 1_200, 'Math.random jitter stays within ±20%');
    assert.ok(Math.max(...delays) - Math.min(...delays) > 300, 'and actually varies');
  });
});

describe('StreamTransport over TCP', () => {
  test('delivers messages in order, templates first, closes cleanly', async () => {
    const collector = await startStreamCollector();
    const transport = transportTo(collector.port);
    const exporter = new FakeExporter(4_294_967_000); // the sequence wraps mid-stream
    for (let i = 0; i < 300; i++) exporter.send(transport, 1 + (i % 7));
    await transport.drain();
    await collector.waitUntil(() => collector.messages().length === 301, 'all messages');
    assert.equal(transport.state, 'open');
    assert.ok(transport.healthy);
    await transport.close();
    await collector.waitUntil(() => collector.connections[0]?.closed === true, 'the connection to close');
    assert.equal(collector.connections.length, 1);
    assert.ok(collector.connections[0]?.endedCleanly, 'FIN, not a reset');
    assert.equal(ipfixSequence(collector.messages()[0] ?? Buffer.alloc(16)), 4_294_967_000);
    const received = checkDelivery(collector, exporter);
    assert.equal(received.length, 300);
    assert.deepEqual(received.flatMap((message) => recordValues(message.bytes)), [...Array(exporter.recordsSent).keys()].map((i) => (4_294_967_000 + i) >>> 0));
    checkAccounting(transport, exporter, received);
    assert.equal(transport.stats.messages_total, 300);
    assert.equal(transport.stats.octets_total, exporter.sent.reduce((sum, message) => sum + message.bytes.length, 0));
    assert.deepEqual([transport.stats.errors_total, transport.stats.connections_total, transport.state], [0, 1, 'closed']);
    await collector.kill();
  });

  test('collector down at start: buffered, then delivered after the preamble when it comes up', async () => {
    const collector = await deadCollector();
    const transport = transportTo(collector.port);
    const exporter = new FakeExporter(1_000);
    for (let i = 0; i < 20; i++) exporter.send(transport, 3);
    await waitFor(() => transport.state === 'backoff', 'backoff');
    assert.equal(transport.problem, `connect ECONNREFUSED 127.0.0.1:${collector.port}`);
    assert.ok(!transport.healthy);
    const drainStartMs = Date.now();
    await transport.drain(); // must not hang on a dead collector
    assert.ok(Date.now() - drainStartMs < 100);
    assert.equal(transport.pendingMessages, 20);
    await collector.start();
    await collector.waitUntil(() => collector.messages().length === 21, 'the buffered messages');
    await transport.drain();
    assert.equal(transport.pendingMessages, 0);
    assert.equal(ipfixSequence(collector.messages()[0] ?? Buffer.alloc(16)), 1_000);
    checkAccounting(transport, exporter, checkDelivery(collector, exporter));
    assert.ok(transport.stats.errors_total >= 1);
    await transport.close();
    await collector.kill();
  });

  test('a full ring drops the NEW messages, counted exactly; the collector sees a gap of exactly the dropped records', async () => {
    const collector = await deadCollector();
    const pendingBytes = 2_048;
    const transport = transportTo(collector.port, { pendingBytes });
    const exporter = new FakeExporter();
    const messageBytes = 16 + 4 + 10 * RECORD_BYTES; // 140
    const fits = Math.floor(pendingBytes / messageBytes); // 14: no room is freed while the collector is down
    const backloggedAfter: boolean[] = [];
    for (let i = 0; i < 40; i++) {
      exporter.send(transport, 10);
      backloggedAfter.push(transport.backlogged);
    }
    assert.equal(transport.stats.messages_total, fits);
    assert.equal(transport.stats.dropped_total, 40 - fits);
    assert.equal(transport.stats.dropped_records_total, (40 - fits) * 10);
    assert.equal(backloggedAfter.indexOf(true), Math.floor(pendingBytes / 2 / messageBytes), 'backlogged once more than half full');
    await collector.start();
    await collector.waitUntil(() => collector.messages().length === fits + 1, 'the messages that fit');
    for (let i = 0; i < 5; i++) exporter.send(transport, 2); // after the gap
    await collector.waitUntil(() => collector.messages().length === fits + 6, 'the later messages');
    const received = checkDelivery(collector, exporter);
    assert.deepEqual(received.map((message) => message.sequence).slice(fits - 1, fits + 1), [(fits - 1) * 10, 400], 'the gap');
    assert.equal(400 - fits * 10, transport.stats.dropped_records_total);
    checkAccounting(transport, exporter, received);
    await transport.close();
    await collector.kill();
  });

  test('collector killed and restarted while messages are pending: templates first again, nothing lost or doubled', async () => {
    const collector = await startStreamCollector();
    const transport = transportTo(collector.port, { pendingBytes: 4_096 });
    const exporter = new FakeExporter();
    for (let i = 0; i < 50; i++) exporter.send(transport, 1 + (i % 4));
    await collector.waitUntil(() => collector.messages().length === 51, 'batch A');
    await transport.drain();
    await collector.kill();
    await waitFor(() => transport.state !== 'open', 'the transport to see the reset');
    for (let i = 0; i < 120; i++) exporter.send(transport, 1 + (i % 5)); // more than the ring holds
    assert.ok(transport.stats.dropped_total > 0, 'some of batch B dropped');
    await collector.start();
    await waitFor(() => transport.state === 'open' && transport.pendingMessages === 0, 'batch B delivered');
    for (let i = 0; i < 20; i++) exporter.send(transport, 2);
    await transport.close();
    const received = checkDelivery(collector, exporter);
    assert.equal(collector.connections.filter((connection) => connection.messages.length > 0).length, 2);
    const secondStart = collector.connections[1]?.messages[1];
    assert.equal(ipfixSequence(secondStart ?? Buffer.alloc(16)), exporter.sent[50]?.sequence, 'the new connection continues with the first pending message');
    checkAccounting(transport, exporter, received);
    assert.deepEqual([transport.stats.connections_total, transport.stats.reconnects_total], [2, 1]);
    await collector.kill();
  });

  test('a collector that stops reading: backpressure, drain() waits while connected, nothing lost', async () => {
    const collector = await startStreamCollector();
    collector.pauseReading();
    const transport = transportTo(collector.port, { pendingBytes: 32 * 1024 * 1024 });
    const exporter = new FakeExporter();
    await waitFor(() => transport.state === 'open', 'the connection');
    // ~20 MB: more than the loopback socket buffers hold, so Node's own write queue fills too.
    for (let i = 0; i < 14_000; i++) exporter.send(transport, 115);
    assert.ok(transport.backlogged);
    let drained = false;
    const draining = transport.drain().then(() => (drained = true));
    await sleep(100);
    assert.equal(drained, false, 'drain() waits for a connected collector');
    assert.ok(transport.pendingMessages > 0);
    collector.resumeReading();
    await draining;
    assert.equal(transport.pendingMessages, 0);
    await collector.waitUntil(() => collector.messages().length === 14_001, 'every message', 5_000);
    checkAccounting(transport, exporter, checkDelivery(collector, exporter));
    assert.equal(transport.stats.dropped_total, 0);
  });

  test('killed while Node still queues writes: those stay in the ring and are resent; only what the kernel took is lost', async (t) => {
    const collector = await startStreamCollector();
    collector.pauseReading();
    const transport = transportTo(collector.port, { pendingBytes: 32 * 1024 * 1024 });
    const exporter = new FakeExporter();
    await waitFor(() => transport.state === 'open', 'the connection');
    for (let i = 0; i < 14_000; i++) exporter.send(transport, 115);
    await waitFor(() => transport.backlogged, 'the ring to back up');
    await sleep(50); // let the socket buffers fill
    const pendingAtKill = transport.pendingMessages; // not yet taken by the kernel
    assert.ok(pendingAtKill > 0);
    await collector.kill();
    await waitFor(() => transport.state !== 'open', 'the transport to see the reset');
    collector.resumeReading();
    await collector.start();
    const lastSequence = exporter.sent.at(-1)?.sequence;
    await collector.waitUntil(() => collector.messages().some((message) => ipfixSequence(message) === lastSequence), 'the last message', 5_000);
    const received = checkDelivery(collector, exporter);
    const receivedIndexes = new Set(received.map((message) => exporter.sent.indexOf(message)));
    const missing = exporter.sent.map((_, index) => index).filter((index) => !receivedIndexes.has(index));
    const firstResent = exporter.sent.indexOf(exporter.sent.find((message) => message.sequence === ipfixSequence(collector.connections[1]?.messages[1] ?? Buffer.alloc(16))) as SentMessage);
    t.diagnostic(`sent ${exporter.sent.length}, pending at the kill ${pendingAtKill}, resent ${transport.stats.resent_total}, lost in the kernel ${missing.length}`);
    assert.ok(transport.stats.resent_total > 0, 'messages written on the first connection were written again');
    // The lost ones (in the socket buffers at the reset) are exactly the block just before the resend:
    // at least everything the kernel had taken (a few callbacks may have been on their way).
    assert.ok(missing.length >= exporter.sent.length - pendingAtKill && missing.length <= exporter.sent.length - pendingAtKill + 20, `${missing.length} lost`);
    assert.deepEqual(missing, Array.from({ length: missing.length }, (_, i) => firstResent - missing.length + i));
    assert.equal(transport.stats.dropped_total, 0);
  });

  test('collector reset repeatedly in mid-stream: no crash, every connection starts with templates', async (t) => {
    const collector = await startStreamCollector();
    const transport = transportTo(collector.port, { pendingBytes: 16_384, reconnectMinMs: 5, reconnectMaxMs: 20 });
    const exporter = new FakeExporter();
    const stopAtMs = Date.now() + 600;
    let kills = 0;
    const chaos = (async () => {
      while (Date.now() < stopAtMs) {
        await sleep(60);
        await collector.kill();
        kills++;
        await sleep(15);
        await collector.start();
      }
    })();
    while (Date.now() < stopAtMs) {
      for (let i = 0; i < 20; i++) exporter.send(transport, 1 + (i % 9));
      await sleep(1);
    }
    await chaos;
    await transport.close();
    const received = checkDelivery(collector, exporter);
    // Bytes the kernel had accepted when the reset came are lost without TCP telling anyone.
    const lostSilently = exporter.sent.length - received.length - transport.stats.dropped_total;
    assert.ok(lostSilently >= 0);
    const { dropped_total: dropped, resent_total: resent, reconnects_total: reconnects } = transport.stats;
    t.diagnostic(`sent ${exporter.sent.length}, received ${received.length}, dropped ${dropped}, lost in the kernel ${lostSilently}, resent ${resent}, reconnects ${reconnects}`);
    assert.ok(kills >= 5 && transport.stats.reconnects_total >= kills - 1, `kills ${kills}, reconnects ${transport.stats.reconnects_total}`);
    assert.ok(received.length > exporter.sent.length / 2, `${received.length} of ${exporter.sent.length} delivered`);
    await collector.kill();
  });

  test('reconnect delays double up to the maximum (measured at the collector), reset after a stable connection', async () => {
    const collector = await startStreamCollector({ resetOnAccept: true });
    const transport = transportTo(collector.port, { reconnectMinMs: 40, reconnectMaxMs: 160, random: () => 0.5, stableAfterMs: 150 });
    await collector.waitUntil(() => collector.connections.length >= 6, 'six attempts');
    await collector.kill();
    const accepted = collector.connections.map((connection) => connection.acceptedAtMs);
    const intervals = accepted.slice(1, 6).map((ms, i) => ms - (accepted[i] ?? 0));
    [40, 80, 160, 160, 160].forEach((delayMs, i) => {
      const interval = intervals[i] ?? 0;
      assert.ok(interval >= delayMs - 2 && interval < delayMs + 60, `interval ${i}: ${interval} ms for a ${delayMs} ms delay (${intervals.join(', ')})`);
    });
    assert.ok(transport.stats.errors_total >= 5);
    // A connection that stays up longer than stableAfterMs resets the delay to the minimum.
    const stable = await startStreamCollector({ port: collector.port });
    await waitFor(() => transport.state === 'open', 'a stable connection', 1_000);
    await sleep(200);
    await stable.kill();
    await waitFor(() => transport.state === 'backoff', 'backoff after the stable connection');
    assert.equal(transport.retryDelayMs, 40);
    await transport.close();
  });

  test('a collector that never completes the handshake: the connect timeout applies', async () => {
    const silent = await startStreamCollector(); // plain TCP: never answers a TLS ClientHello
    const transport = transportTo(silent.port, { tls: {}, connectTimeoutMs: 150, reconnectMinMs: 1_000 });
    await waitFor(() => transport.state === 'backoff', 'the timeout', 1_000);
    assert.equal(transport.problem, `connect to 127.0.0.1:${silent.port} timed out after 150 ms`);
    await transport.close();
    await silent.kill();
  });

  test('close() with a dead collector returns within closeTimeoutMs and counts what was left', async () => {
    const collector = await deadCollector();
    const transport = transportTo(collector.port, { closeTimeoutMs: 300, reconnectMinMs: 20, reconnectMaxMs: 40 });
    const exporter = new FakeExporter();
    for (let i = 0; i < 10; i++) exporter.send(transport, 3);
    const startMs = Date.now();
    await transport.close();
    const elapsedMs = Date.now() - startMs;
    // It stops waiting early only when the next retry would come after the deadline (retries <= 48 ms apart).
    assert.ok(elapsedMs >= 300 - 50 && elapsedMs < 300 + 100, `close took ${elapsedMs} ms`);
    assert.deepEqual([transport.stats.dropped_total, transport.stats.dropped_records_total, transport.state], [10, 30, 'closed']);
    exporter.send(transport, 4);
    assert.deepEqual([transport.stats.dropped_total, transport.stats.dropped_records_total], [11, 34], 'send after close: dropped and counted');
    // No retry can happen before the deadline: close() does not wait at all.
    const hopeless = transportTo(collector.port, { closeTimeoutMs: 2_000, reconnectMinMs: 5_000, reconnectMaxMs: 5_000 });
    await waitFor(() => hopeless.state === 'backoff', 'backoff');
    hopeless.send(templatesMessage(0), 32, 0);
    const hopelessStartMs = Date.now();
    await hopeless.close();
    assert.ok(Date.now() - hopelessStartMs < 100);
    assert.equal(hopeless.stats.dropped_total, 1);
  });
});

describe('StreamTransport over TLS', () => {
  test('mutual TLS: delivered with templates first; a wrong CA or name is a clear problem and nothing is delivered', async () => {
    const temp = tempDir('tapflow-tls-');
    try {
      const pki = await makeTestPki(temp.dir);
      const collector = await startStreamCollector({ tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca } });
      const good = transportTo(collector.port, { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
      const exporter = new FakeExporter();
      for (let i = 0; i < 100; i++) exporter.send(good, 1 + (i % 3));
      await collector.waitUntil(() => collector.messages().length === 101, 'all messages over TLS');
      await good.close();
      assert.equal(collector.connections[0]?.clientCertificateCn, 'tapflow-probe-7', 'the server verified our client certificate');
      checkAccounting(good, exporter, checkDelivery(collector, exporter));
      // serverName: connect to 127.0.0.1 but verify (and send SNI) as "localhost".
      const byName = transportTo(collector.port, { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, serverName: 'localhost' } });
      await waitFor(() => byName.state === 'open', 'a connection verified by name');
      await byName.close();

      const failures: Array<[string, StreamTransport, RegExp]> = [
        ['wrong CA', transportTo(collector.port, { closeTimeoutMs: 200, tls: { ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey } }), /^TLS: (unable to get local issuer certificate|unable to verify the first certificate|self-signed certificate in certificate chain)$/],
        ['wrong name', transportTo(collector.port, { closeTimeoutMs: 200, tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, serverName: 'collector.example' } }), /^TLS: Hostname\/IP does not match certificate's altnames/],
        ['no client certificate', transportTo(collector.port, { closeTimeoutMs: 200, tls: { ca: pki.ca } }), /^TLS: .*certificate required/],
      ];
      const before = collector.messages().length;
      for (const [what, transport, problem] of failures) {
        await waitFor(() => transport.stats.errors_total >= 2, `${what}: two failed attempts (it retries)`);
        assert.match(transport.problem ?? '', problem, what);
        exporter.send(transport, 1);
        await sleep(30);
        assert.notEqual(transport.state, 'closed');
        await transport.close();
        // TLS 1.3: the server checks the client certificate after the client considers the
        // handshake done, so a message written in that window is lost without being counted.
        if (what === 'no client certificate') assert.ok(transport.stats.dropped_total <= 1);
        else assert.equal(transport.stats.dropped_total, 1, `${what}: the message was never written, dropped at close`);
      }
      assert.equal(collector.messages().length, before, 'nothing delivered over a rejected connection');
      await collector.kill();
    } finally {
      temp.remove();
    }
  });
});

describe('StreamTransport and tshark', () => {
  const tsharkMissing = !hasTool('tshark') || !hasTool('dumpcap') || process.getuid?.() !== 0;

  /** The builder's own messages plus a preamble built from the real templates. */
  function realPreamble(sequence: number): Uint8Array {
    const buf = Buffer.alloc(16 + TAPFLOW_TEMPLATE_SET.length);
    writeHeader(buf, buf.length, sequence);
    buf.set(TAPFLOW_TEMPLATE_SET, 16);
    return buf;
  }

  test('tshark decodes a loopback capture of the TCP stream: no malformed frames, every record', { skip: tsharkMissing ? `${TSHARK_MISSING} (or dumpcap, or not root)` : false }, async () => {
    const temp = tempDir('tapflow-tcp-capture-');
    const collector = await startStreamCollector();
    const capturePath = join(temp.dir, 'ipfix-tcp.pcapng');
    const dumpcap = spawn('dumpcap', ['-i', 'lo', '-f', `tcp port ${collector.port}`, '-w', capturePath], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      // dumpcap prints "\rPackets: N" each time it wrote packets; libpcap hands a partly filled
      // block over only after its timeout, so stop once the count has been still for a while.
      let dumpcapLog = '';
      let countChangedAtMs = 0;
      dumpcap.stderr.on('data', (chunk: Buffer) => {
        dumpcapLog += chunk.toString();
        if (chunk.includes('Packets:')) countChangedAtMs = Date.now();
      });
      await waitFor(() => dumpcapLog.includes('Capturing on') || dumpcap.exitCode !== null, 'dumpcap to start', 5_000);
      assert.equal(dumpcap.exitCode, null, dumpcapLog);
      const transport = transportTo(collector.port, { preamble: realPreamble });
      const builder = new IpfixMessageBuilder({ transports: [transport], exportTimeSeconds: () => 1_700_000_000, templateRefresh: null });
      const rec = new FlowRecord();
      for (const flow of randomFlows(3_000, 11)) builder.add(fillRecord(rec, flow));
      builder.flush(0);
      await transport.close();
      await collector.waitUntil(() => collector.connections[0]?.closed === true, 'the connection to close');
      assert.equal(collector.messages().length, builder.stats.messages_total + 1);
      const closedAtMs = Date.now();
      await waitFor(() => countChangedAtMs > closedAtMs && Date.now() - countChangedAtMs > 400, 'dumpcap to write the last packets', 4_000);
      const exited = new Promise((resolve) => dumpcap.once('exit', resolve));
      dumpcap.kill('SIGINT');
      await exited;
      const { stdout } = await execFileAsync('tshark', ['-r', capturePath, '-d', `tcp.port==${collector.port},cflow`, '-T', 'json'], { maxBuffer: 256 * 1024 * 1024 });
      const frames = JSON.parse(stdout) as Array<{ _source: { layers: Record<string, unknown> } }>;
      const malformed = stdout.split('"_ws.malformed"').length - 1;
      const sequenceWarnings = stdout.split('Unexpected flow sequence').length - 1;
      // Records: every "Flow N" object under a data set of the cflow layer.
      const recordCount = (stdout.match(/"Flow \d+": \{/g) ?? []).length;
      const ipfixMessages = (stdout.match(/"cflow.version": "10"/g) ?? []).length;
      assert.ok(frames.length > 0);
      assert.equal(malformed, 0, 'no malformed frames');
      assert.equal(sequenceWarnings, 0, 'tshark found the sequence numbers continuous');
      assert.equal(ipfixMessages, builder.stats.messages_total + 1, 'every message, the preamble included');
      assert.equal(recordCount, builder.stats.records_total);
      // The collector's copy as an RFC 5655 file decodes the same.
      const filePath = join(temp.dir, 'stream.ipfix');
      collector.writeIpfixFile(filePath, 0);
      const fromFile = await execFileAsync('tshark', ['-r', filePath, '-T', 'json'], { maxBuffer: 256 * 1024 * 1024 });
      assert.equal((fromFile.stdout.match(/"Flow \d+": \{/g) ?? []).length, builder.stats.records_total);
      assert.equal(fromFile.stdout.split('"_ws.malformed"').length - 1, 0);
    } finally {
      if (dumpcap.exitCode === null) dumpcap.kill('SIGKILL');
      await collector.kill();
      temp.remove();
    }
  });
});
