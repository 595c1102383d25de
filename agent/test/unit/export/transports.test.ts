/**
 * UDP and file transports, and collector address parsing. UDP runs over loopback only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseCollectorAddress } from '../../../src/export/collector-address.js';
import { FileTransport, FILE_BUFFER_BYTES } from '../../../src/export/file-transport.js';
import { IpfixMessageBuilder } from '../../../src/export/ipfix/message-builder.js';
import { openUdpTransport, UdpTransport } from '../../../src/export/udp-transport.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { captureUdpExport, freeUdpPort, tempDir } from '../../helpers/collectors.js';
import { fillRecord, randomFlows, RecordingTransport } from './export-test-kit.js';

const hasCode = (code: string) => (error: unknown) => (error as { code?: string }).code === code;

describe('parseCollectorAddress', () => {
  const good: Array<[string, { host: string; port: number; family: number }]> = [
    ['127.0.0.1:4739', { host: '127.0.0.1', port: 4739, family: 4 }],
    ['[::1]:2055', { host: '::1', port: 2055, family: 6 }],
    ['[2001:db8::7]:65535', { host: '2001:db8::7', port: 65535, family: 6 }],
    ['collector.example.net:9995', { host: 'collector.example.net', port: 9995, family: 0 }],
    ['localhost:1', { host: 'localhost', port: 1, family: 0 }],
  ];
  for (const [text, expected] of good) test(`accepts ${text}`, () => assert.deepEqual(parseCollectorAddress(text), expected));

  const bad: Array<[string, RegExp]> = [
    ['127.0.0.1', /expected HOST:PORT/],
    ['::1:4739', /IPv6 addresses need brackets/],
    ['[::1:4739', /missing '\]'/],
    ['[::1]4739', /expected ':PORT'/],
    ['[10.0.0.1]:4739', /not an IPv6 address/],
    ['127.0.0.1:0', /outside 1\.\.65535/],
    ['127.0.0.1:70000', /outside 1\.\.65535/],
    ['127.0.0.1:http', /not a number/],
    ['bad_host!:4739', /not an IPv4 address or host name/],
    [':4739', /not an IPv4 address or host name/],
  ];
  for (const [text, pattern] of bad) {
    test(`rejects ${text}`, () => {
      assert.throws(() => parseCollectorAddress(text), (error: Error & { code?: string }) => error.code === 'TAPFLOW_E_EXPORT_COLLECTOR_ADDRESS' && pattern.test(error.message));
    });
  }
});

describe('UDP transport', () => {
  for (const family of [4, 6] as const) {
    test(`delivers the builder's messages byte for byte over IPv${family} loopback`, async () => {
      const receiver = createSocket(family === 6 ? 'udp6' : 'udp4');
      const received: Buffer[] = [];
      receiver.on('message', (message) => received.push(Buffer.from(message)));
      await new Promise<void>((resolve) => receiver.bind(0, family === 6 ? '::1' : '127.0.0.1', resolve));
      const port = receiver.address().port;
      const udp = await openUdpTransport(family === 6 ? `[::1]:${port}` : `127.0.0.1:${port}`);
      const copy = new RecordingTransport();
      const builder = new IpfixMessageBuilder({ transports: [udp, copy], exportTimeSeconds: () => 1 });
      const rec = new FlowRecord();
      for (const flow of randomFlows(500, family)) builder.add(fillRecord(rec, flow));
      builder.flush(0);
      await udp.drain();
      const deadline = Date.now() + 3_000;
      while (received.length < copy.messages.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      await udp.close();
      receiver.close();
      assert.deepEqual(received.map((b) => b.toString('hex')), copy.messages.map((m) => Buffer.from(m).toString('hex')));
      assert.deepEqual(udp.stats, { messages_total: copy.messages.length, octets_total: copy.stats.octets_total, dropped_total: 0, errors_total: 0, dropped_records_total: 0 });
    });
  }

  test('a port with no listener: no exception, the error counter rises', async () => {
    const port = await freeUdpPort();
    const udp = await openUdpTransport(`127.0.0.1:${port}`);
    const message = new Uint8Array(64);
    for (let i = 0; i < 5; i++) {
      udp.send(message, message.length, 1);
      await udp.drain();
      await new Promise((resolve) => setTimeout(resolve, 5)); // let the ICMP port unreachable come back
    }
    await udp.close();
    assert.ok(udp.stats.errors_total >= 1, `errors_total ${udp.stats.errors_total}`);
    udp.send(message, message.length, 1); // after close: counted as dropped, no throw
    assert.ok(udp.stats.dropped_total >= 1);
  });

  test('a full buffer pool drops and counts; drain() restores the pool', async () => {
    const capture = await captureUdpExport();
    const udp = await openUdpTransport(`127.0.0.1:${capture.port}`, { bufferPoolSize: 4, maxMessageBytes: 200 });
    const message = new Uint8Array(100);
    for (let i = 0; i < 10; i++) udp.send(message, message.length, 1); // no callback can run inside this loop
    assert.equal(udp.stats.dropped_total, 6);
    await udp.drain();
    for (let i = 0; i < 4; i++) udp.send(message, message.length, 1);
    assert.equal(udp.stats.dropped_total, 6);
    udp.send(new Uint8Array(300), 300, 1); // larger than a pool buffer
    assert.equal(udp.stats.dropped_total, 7);
    await udp.close();
    await capture.waitFor(8);
    await capture.stop();
    assert.equal(udp.stats.messages_total, 8);
  });

  test('created synchronously: messages sent while connecting wait in the pool and go out in order', async () => {
    const capture = await captureUdpExport();
    const udp = new UdpTransport(`localhost:${capture.port}`); // host name: resolved in the background
    assert.equal(udp.state, 'connecting');
    for (let i = 0; i < 5; i++) udp.send(Uint8Array.of(i, i, i), 3, 1);
    await udp.drain();
    assert.equal(udp.state, 'open');
    await udp.close();
    await capture.waitFor(5);
    await capture.stop();
    assert.deepEqual(capture.datagrams.map((d) => d[0]), [0, 1, 2, 3, 4]);
  });

  test('an unresolvable host name: open rejects with a typed error; queued messages are counted as errors', async () => {
    await assert.rejects(openUdpTransport('no-such-host.invalid:4739'), hasCode('TAPFLOW_E_EXPORT_COLLECTOR_RESOLVE'));
    const udp = new UdpTransport('no-such-host.invalid:4739');
    udp.send(new Uint8Array(10), 10, 1);
    await udp.drain();
    assert.equal(udp.state, 'failed');
    assert.equal(udp.stats.errors_total, 1);
    udp.send(new Uint8Array(10), 10, 1);
    assert.equal(udp.stats.dropped_total, 1);
    await udp.close();
  });
});

describe('file transport', () => {
  test('writes exactly the messages, across many 64 KiB buffer flushes, truncating an old file', async () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, 'flows.ipfix');
      writeFileSync(path, Buffer.alloc(1_000_000, 0xee));
      const file = new FileTransport(path);
      const copy = new RecordingTransport();
      const builder = new IpfixMessageBuilder({ transports: [file, copy], exportTimeSeconds: () => 1, templateRefresh: null });
      const rec = new FlowRecord();
      for (const flow of randomFlows(4_000, 2)) builder.add(fillRecord(rec, flow));
      builder.flush(0);
      assert.ok(copy.stats.octets_total > 3 * FILE_BUFFER_BYTES);
      await file.close();
      await file.close(); // idempotent
      assert.deepEqual(readFileSync(path), Buffer.from(copy.concat()));
      assert.equal(file.stats.messages_total, copy.messages.length);
      assert.throws(() => file.send(new Uint8Array(16), 16, 1), hasCode('TAPFLOW_E_EXPORT_FILE'));
    } finally {
      tmp.remove();
    }
  });

  test('cannot create: TAPFLOW_E_EXPORT_FILE', () => {
    assert.throws(() => new FileTransport('/nonexistent-dir/flows.ipfix'), (error: Error & { code?: string }) => error.code === 'TAPFLOW_E_EXPORT_FILE' && /ENOENT/.test(error.message));
  });

  test('a full disk (/dev/full): no exception; the lost messages and records are counted and the problem named', { skip: process.platform !== 'linux' }, async () => {
    const file = new FileTransport('/dev/full');
    const message = new Uint8Array(1_400);
    for (let i = 0; i < 100; i++) file.send(message, message.length, 3);
    await file.close();
    // 46 messages fill the 64 KiB buffer before each write: two failed writes, then the rest at close.
    assert.equal(file.stats.messages_total, 100);
    assert.equal(file.stats.dropped_total, 100);
    assert.equal(file.stats.dropped_records_total, 300);
    assert.equal(file.stats.errors_total, 3);
    assert.match(file.problem ?? '', /cannot write IPFIX file \/dev\/full: .*ENOSPC/);
  });

  test('a disk that fills up and frees again: the file keeps only whole messages, the gap is counted', { skip: process.getuid?.() === 0 && process.platform === 'linux' ? false : 'needs root for a tmpfs mount' }, async () => {
    const tmp = tempDir();
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', tmp.dir]).status === 0;
    let file: FileTransport | null = null;
    try {
      if (!mounted) return;
      const path = join(tmp.dir, 'flows.ipfix');
      const filler = join(tmp.dir, 'filler');
      file = new FileTransport(path);
      const message = (n: number): Uint8Array => new Uint8Array(1_000).fill(n);
      let n = 0;
      const sendMany = (count: number) => {
        for (let i = 0; i < count; i++) file!.send(message(++n & 0xff), 1_000, 1);
      };
      sendMany(66); // the 66th message makes the first 65 (one full buffer) go to disk
      assert.equal(statSync(path).size, 65_000);
      // Fill the rest of the disk.
      const fd = openSync(filler, 'w');
      try {
        for (;;) writeSync(fd, Buffer.alloc(4_096));
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        closeSync(fd);
      }
      sendMany(65); // the next write fails: ENOSPC
      assert.ok(file.stats.dropped_total > 0 && /ENOSPC/.test(file.problem ?? ''), `dropped ${file.stats.dropped_total}, problem ${file.problem}`);
      rmSync(filler);
      sendMany(70); // room again: writes resume
      await file.close();
      assert.equal(file.problem, null, 'a successful write clears the problem');
      const bytes = readFileSync(path);
      assert.equal(bytes.length % 1_000, 0, 'whole messages only');
      assert.equal(bytes.length / 1_000 + file.stats.dropped_total, file.stats.messages_total, 'written + dropped = sent');
    } finally {
      await file?.close();
      if (mounted) spawnSync('umount', [tmp.dir]);
      tmp.remove();
    }
  });
});
