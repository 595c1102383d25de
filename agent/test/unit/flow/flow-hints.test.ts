/**
 * The flow table's application hints, hand-made: which packets are read (packetsPerDirection,
 * snapBytes, packets without payload not counted), when reading stops (complete hint), first
 * value and first kind win, names cut at nameBytes, hints kept across active-timeout parts and
 * carried by both uniflow records, and a reused slot starting clean. Frames go through the real
 * decoder and meter (hint-packets.ts builds them); payloads are the hint parsers' fixtures.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { UniflowSplitter } from '../../../src/export/uniflow-splitter.js';
import { FlowEndReason, type FlowRecord, type FlowRecordSink } from '../../../src/flow/flow-record.js';
import { AppHintKind } from '../../../src/hints/app-hints.js';
import { FlowMeter, flowMeterOptionsFromConfig } from '../../../src/meter/flow-meter.js';
import * as f from '../hints/hint-fixtures.js';
import { captured, frame, type FrameSpec } from './hint-packets.js';

const SECOND_US = 1_000_000;

/** A ServerHello without extensions: it selects TLS 1.2 by its legacy_version (RFC 8446 §4.1.3). */
const SERVER_HELLO_TLS12 = f.hex(`
  16 0303 002a                # record: handshake, length 42
  02 000026                   # ServerHello, length 38
  0303                        # legacy_version: TLS 1.2
  ${'22'.repeat(32)}          # random
  00                          # legacy_session_id_echo: empty
  c02f 00                     # cipher_suite, compression
`);

interface Seen {
  packets: number;
  reversePackets: number;
  endReason: number;
  kind: number;
  dnsName: string;
  dnsType: number;
  dnsResponseSeen: number;
  dnsRcode: number;
  method: string;
  host: string;
  status: number;
  sni: string;
  tlsVersion: number;
  alpn: string;
}

const text = (bytes: Uint8Array, length: number): string => Buffer.from(bytes.subarray(0, length)).toString('latin1');

function seen(r: FlowRecord): Seen {
  return {
    packets: r.packets,
    reversePackets: r.reversePackets,
    endReason: r.endReason,
    kind: r.appHintKind,
    dnsName: text(r.dnsQueryName, r.dnsQueryNameLength),
    dnsType: r.dnsQueryType,
    dnsResponseSeen: r.dnsResponseSeen,
    dnsRcode: r.dnsResponseCode,
    method: text(r.httpRequestMethod, r.httpRequestMethodLength),
    host: text(r.httpRequestHost, r.httpRequestHostLength),
    status: r.httpStatusCode,
    sni: text(r.tlsServerName, r.tlsServerNameLength),
    tlsVersion: r.tlsVersion,
    alpn: text(r.tlsAlpn, r.tlsAlpnLength),
  };
}

class Recorder implements FlowRecordSink {
  readonly records: Seen[] = [];
  add(r: FlowRecord): void {
    this.records.push(seen(r));
  }
  flush(): void {}
}

const NONE = { kind: 0, dnsName: '', dnsType: 0, dnsResponseSeen: 0, dnsRcode: 0, method: '', host: '', status: 0, sni: '', tlsVersion: 0, alpn: '' };

/** A meter with these hints settings (a long active timeout unless given) and a recorder behind it. */
function meterWith(hints: Record<string, unknown>, activeTimeoutMs = 3_600_000, sink: FlowRecordSink = new Recorder()): { meter: FlowMeter; feed(spec: Partial<FrameSpec> & { fromClient: boolean }): void; finish(): void } {
  const options = flowMeterOptionsFromConfig(validateConfig({ hints, flowTable: { maxFlows: 16, activeTimeoutMs } }));
  options.flowTable.hashSeed = 9;
  const meter = new FlowMeter(options, sink);
  let tsUs = 1_700_000_000 * SECOND_US;
  return {
    meter,
    feed(spec) {
      tsUs += 1000;
      meter.handlePacket(captured(frame({ protocol: 6, clientPort: 40000, serverPort: 80, ...spec }), tsUs));
    },
    finish() {
      while (!meter.flushSome()) {
        // until empty
      }
    },
  };
}

function only(sink: Recorder): Seen {
  assert.equal(sink.records.length, 1, JSON.stringify(sink.records));
  return sink.records[0]!;
}

describe('flow hints', () => {
  it('DNS over UDP: query name and type from the query, rcode from the response; both uniflow records carry them', () => {
    const whole = new Recorder();
    const uniflow = new Recorder();
    const tee: FlowRecordSink = { add: (r) => (whole.add(r), new UniflowSplitter(uniflow).add(r)), flush() {} };
    const m = meterWith({}, 3_600_000, tee);
    m.feed({ protocol: 17, fromClient: true, serverPort: 53, payload: f.DNS_QUERY });
    m.feed({ protocol: 17, fromClient: false, serverPort: 53, payload: f.DNS_RESPONSE_POINTER });
    m.finish();
    // The response's own question (test TXT) is not taken: the query's came first.
    const expected = { ...NONE, kind: AppHintKind.DNS, dnsName: 'www.example.com', dnsType: 28, dnsResponseSeen: 1, dnsRcode: 3 };
    assert.deepEqual({ ...only(whole), packets: 0, reversePackets: 0, endReason: 0 }, { ...expected, packets: 0, reversePackets: 0, endReason: 0 });
    assert.equal(uniflow.records.length, 2);
    for (const r of uniflow.records) assert.deepEqual({ ...r, packets: 0, reversePackets: 0, endReason: 0 }, { ...expected, packets: 0, reversePackets: 0, endReason: 0 });
  });

  it('a response seen without its query gives the name from the response question', () => {
    const sink = new Recorder();
    const m = meterWith({}, 3_600_000, sink);
    m.feed({ protocol: 17, fromClient: false, serverPort: 53, payload: f.DNS_RESPONSE_POINTER });
    m.finish();
    assert.deepEqual({ ...only(sink), packets: 0, reversePackets: 0, endReason: 0 }, { ...NONE, packets: 0, reversePackets: 0, endReason: 0, kind: AppHintKind.DNS, dnsName: 'test', dnsType: 16, dnsResponseSeen: 1, dnsRcode: 3 });
  });

  it('HTTP: method and Host of the first request, status of the first response; a pipelined second request changes nothing', () => {
    const sink = new Recorder();
    const m = meterWith({}, 3_600_000, sink);
    m.feed({ fromClient: true, tcpFlags: 0x02, seq: 999 }); // SYN: no payload
    m.feed({ fromClient: true, payload: f.HTTP_REQUEST });
    m.feed({ fromClient: true, payload: f.ascii('GET / HTTP/1.1\r\nHost: second.example\r\n\r\n') });
    m.feed({ fromClient: false, payload: f.HTTP_RESPONSE });
    m.feed({ fromClient: false, payload: f.ascii('HTTP/1.1 200 OK\r\n\r\n') });
    m.finish();
    const r = only(sink);
    assert.deepEqual([r.kind, r.method, r.host, r.status], [AppHintKind.HTTP, 'PATCH', 'api.example.org', 503]);
  });

  it('TLS: SNI and ALPN from the ClientHello; the version is the client\'s highest offer until the ServerHello selects one', () => {
    for (const withServer of [false, true]) {
      const sink = new Recorder();
      const m = meterWith({}, 3_600_000, sink);
      m.feed({ fromClient: true, serverPort: 8443, payload: f.TLS_CLIENT_HELLO });
      if (withServer) m.feed({ fromClient: false, serverPort: 8443, payload: SERVER_HELLO_TLS12 });
      m.finish();
      const r = only(sink);
      assert.deepEqual([r.kind, r.sni, r.alpn], [AppHintKind.TLS, 'example.net', 'h2']);
      assert.equal(r.tlsVersion, withServer ? 0x0303 : 0x0304);
    }
  });

  it('packetsPerDirection: only the first N payload packets of each direction are read (packets without payload do not count)', () => {
    for (const [limit, expectHost] of [[2, false], [3, true]] as const) {
      const sink = new Recorder();
      const m = meterWith({ packetsPerDirection: limit }, 3_600_000, sink);
      m.feed({ fromClient: true, tcpFlags: 0x02 }); // SYN
      m.feed({ fromClient: true }); // bare ACKs
      m.feed({ fromClient: true });
      m.feed({ fromClient: true, payload: f.ascii('hello') });
      m.feed({ fromClient: true, payload: f.ascii('world') });
      m.feed({ fromClient: true, payload: f.HTTP_REQUEST }); // the 3rd payload packet
      m.feed({ fromClient: false, payload: f.HTTP_RESPONSE }); // the reverse direction's 1st
      m.finish();
      const r = only(sink);
      assert.equal(r.kind, AppHintKind.HTTP);
      assert.equal(r.status, 503);
      assert.equal(r.host, expectHost ? 'api.example.org' : '');
      assert.equal(r.method, expectHost ? 'PATCH' : '');
    }
  });

  it('reading stops once the hint is complete', () => {
    const sink = new Recorder();
    const m = meterWith({}, 3_600_000, sink);
    m.feed({ fromClient: false, payload: f.HTTP_RESPONSE }); // the response first (mid-stream)
    m.feed({ fromClient: true, payload: f.HTTP_REQUEST }); // complete
    m.feed({ fromClient: false, payload: f.ascii('HTTP/1.1 200 OK\r\n\r\n') });
    m.finish();
    const r = only(sink);
    assert.deepEqual([r.method, r.host, r.status], ['PATCH', 'api.example.org', 503]);
  });

  it('the first protocol recognised is the kind: an HTTP-looking payload in a TLS flow is ignored', () => {
    const sink = new Recorder();
    const m = meterWith({}, 3_600_000, sink);
    m.feed({ fromClient: true, payload: f.TLS_CLIENT_HELLO });
    m.feed({ fromClient: false, payload: f.HTTP_RESPONSE });
    m.finish();
    const r = only(sink);
    assert.deepEqual([r.kind, r.status, r.sni], [AppHintKind.TLS, 0, 'example.net']);
  });

  it('snapBytes: the parsers see only the first snapBytes of a payload', () => {
    const padding = 'X-Padding: ' + 'p'.repeat(100) + '\r\n';
    const request = f.ascii(`GET /a HTTP/1.1\r\n${padding}Host: late.example\r\n\r\n`);
    for (const [snapBytes, host] of [[64, ''], [1024, 'late.example']] as const) {
      const sink = new Recorder();
      const m = meterWith({ snapBytes }, 3_600_000, sink);
      m.feed({ fromClient: true, payload: request });
      m.finish();
      const r = only(sink);
      assert.deepEqual([r.kind, r.method, r.host], [AppHintKind.HTTP, 'GET', host], `snapBytes ${snapBytes}`);
    }
    // A ClientHello cut before its extensions: a TLS hint without SNI.
    const sink = new Recorder();
    const m = meterWith({ snapBytes: 60 }, 3_600_000, sink);
    m.feed({ fromClient: true, payload: f.TLS_CLIENT_HELLO });
    m.finish();
    const r = only(sink);
    assert.deepEqual([r.kind, r.sni, r.alpn, r.tlsVersion], [AppHintKind.TLS, '', '', 0x0303]);
  });

  it('nameBytes and alpnBytes cut names to their first bytes', () => {
    const sink = new Recorder();
    const m = meterWith({ nameBytes: 4, alpnBytes: 1 }, 3_600_000, sink);
    m.feed({ fromClient: true, payload: f.TLS_CLIENT_HELLO });
    m.finish();
    const r = only(sink);
    assert.deepEqual([r.sni, r.alpn], ['exam', 'h']);
  });

  it('hints are the same in every active-timeout part of a flow', () => {
    const sink = new Recorder();
    const m = meterWith({}, 1_000, sink);
    m.feed({ fromClient: true, payload: f.HTTP_REQUEST });
    m.feed({ fromClient: false, payload: f.HTTP_RESPONSE });
    for (let i = 0; i < 3; i++) {
      m.meter.advanceClock(m.meter.nowMs * 1000 + 2 * SECOND_US);
      m.feed({ fromClient: true });
    }
    m.finish();
    assert.ok(sink.records.length >= 3, `${sink.records.length} parts`);
    assert.ok(sink.records.some((r) => r.endReason === FlowEndReason.ACTIVE_TIMEOUT));
    for (const r of sink.records) assert.deepEqual([r.kind, r.method, r.host, r.status], [AppHintKind.HTTP, 'PATCH', 'api.example.org', 503]);
  });

  it('a reused slot starts without hints, and with its packet counts at zero', () => {
    const sink = new Recorder();
    const m = meterWith({ packetsPerDirection: 1 }, 3_600_000, sink);
    m.feed({ fromClient: true, payload: f.TLS_CLIENT_HELLO });
    m.finish();
    // The same slot (the free list hands the last freed slot out first): a flow without hints...
    m.feed({ fromClient: true, clientPort: 40001, payload: f.ascii('nothing to see') });
    m.finish();
    // ...and one whose first payload packet is read, though the slot's previous flow used its budget.
    m.feed({ fromClient: true, clientPort: 40002, payload: f.HTTP_REQUEST });
    m.finish();
    assert.equal(m.meter.table.counters.flowsCreated, 3);
    assert.equal(sink.records.length, 3);
    assert.deepEqual([sink.records[0]!.kind, sink.records[0]!.sni], [AppHintKind.TLS, 'example.net']);
    assert.deepEqual({ ...sink.records[1]!, packets: 0, reversePackets: 0, endReason: 0 }, { ...NONE, packets: 0, reversePackets: 0, endReason: 0 });
    assert.deepEqual([sink.records[2]!.kind, sink.records[2]!.method, sink.records[2]!.sni], [AppHintKind.HTTP, 'PATCH', '']);
  });

  it('hints.enabled false: no hints', () => {
    const sink = new Recorder();
    const m = meterWith({ enabled: false }, 3_600_000, sink);
    m.feed({ fromClient: true, payload: f.HTTP_REQUEST });
    m.feed({ fromClient: false, payload: f.HTTP_RESPONSE });
    m.finish();
    assert.deepEqual({ ...only(sink), packets: 0, reversePackets: 0, endReason: 0 }, { ...NONE, packets: 0, reversePackets: 0, endReason: 0 });
    assert.equal(m.meter.table.store.hintName.length, 0);
  });
});
