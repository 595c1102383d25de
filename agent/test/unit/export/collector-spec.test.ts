/**
 * `[FORMAT+]TRANSPORT://HOST:PORT` collector syntax, as the configuration schema and the exporter
 * both read it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { parseCollectorSpec } from '../../../src/export/collector-spec.js';

describe('parseCollectorSpec', () => {
  const good: Array<[string, string, string, string]> = [
    ['127.0.0.1:4739', 'ipfix', 'udp', 'ipfix+udp://127.0.0.1:4739'],
    ['udp://127.0.0.1:4739', 'ipfix', 'udp', 'ipfix+udp://127.0.0.1:4739'],
    ['ipfix+udp://[::1]:4739', 'ipfix', 'udp', 'ipfix+udp://[::1]:4739'],
    ['ipfix+tcp://collector.example:4739', 'ipfix', 'tcp', 'ipfix+tcp://collector.example:4739'],
    ['tcp://[2001:db8::5]:4739', 'ipfix', 'tcp', 'ipfix+tcp://[2001:db8::5]:4739'],
    ['IPFIX+TLS://10.0.0.5:4740', 'ipfix', 'tls', 'ipfix+tls://10.0.0.5:4740'],
    ['nfv9+udp://10.0.0.5:2055', 'nfv9', 'udp', 'nfv9+udp://10.0.0.5:2055'],
    ['nfv5+udp://[fe80::1]:9995', 'nfv5', 'udp', 'nfv5+udp://[fe80::1]:9995'],
  ];
  for (const [text, format, transport, name] of good) {
    test(`accepts ${text}`, () => {
      const spec = parseCollectorSpec(text);
      assert.deepEqual([spec.format, spec.transport, spec.name], [format, transport, name]);
    });
  }

  const bad: Array<[string, RegExp]> = [
    ['sflow+udp://10.0.0.5:6343', /unknown format "sflow"/],
    ['ipfix+sctp://10.0.0.5:4739', /unknown transport "sctp"/],
    ['nfv9+tcp://10.0.0.5:2055', /nfv9 is sent over UDP only/],
    ['nfv5+tls://10.0.0.5:2055', /nfv5 is sent over UDP only/],
    ['ipfix+udp://::1:4739', /IPv6 addresses need brackets/],
    ['ipfix+udp://10.0.0.5:0', /outside 1\.\.65535/],
    ['ipfix+udp://10.0.0.5', /expected HOST:PORT/],
  ];
  for (const [text, why] of bad) {
    test(`rejects ${text}`, () => assert.throws(() => parseCollectorSpec(text), (error: Error) => why.test(error.message) && (error as { code?: string }).code === 'TAPFLOW_E_EXPORT_COLLECTOR_ADDRESS'));
  }

  test('the configuration rejects every bad collector at once, each with its path and reason', () => {
    const input = { export: { collectors: ['10.0.0.1:4739', 'nfv5+tcp://10.0.0.2:2055', 'carrier-pigeon://x:1'] } };
    assert.throws(
      () => validateConfig(input, 'test'),
      (error: { issues?: { path: string; message: string }[] }) => {
        assert.deepEqual(error.issues?.map((issue) => issue.path), ['$.export.collectors[1]', '$.export.collectors[2]']);
        assert.match(error.issues![0]!.message, /UDP only/);
        return true;
      },
    );
  });
});
