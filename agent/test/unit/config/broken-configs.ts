/**
 * Broken configuration files and exactly what `tapflow check-config` must say about each: the set
 * of JSON paths, what each message names (the rule broken) and, where the validator knows them,
 * the expected type and the value found. The values are the ones written into the file, so the
 * expectations come from the file, not from the validator's output.
 */

export interface ExpectedIssue {
  /** JSON path as check-config prints it, e.g. `$.flowTable.maxFlows`. */
  path: string;
  /** A fragment of the message naming the rule broken. */
  says: string | RegExp;
  /** The type printed as `expected X` in the detail. */
  expected?: string;
  /** The value in the file, printed as `got <JSON>` at the end of the line. */
  got?: unknown;
}

export interface BrokenConfig {
  name: string;
  /** The file's text (JSON unless the case is about invalid JSON). */
  text: string;
  issues: ExpectedIssue[];
}

const json = (value: unknown) => `${JSON.stringify({ $schema: '../tapflow.schema.json', ...(value as object) }, null, 2)}\n`;

// V8 names a position for this error (not for an unexpected token: see examples.test.ts).
const TRAILING_COMMA = '{\n  "export": {\n    "file": "flows.ipfix",\n  }\n}\n';

export const BROKEN_CONFIGS: BrokenConfig[] = [
  {
    name: 'unknown-top-level-key',
    text: json({ flowTable: { maxFlows: 4096 }, maxflows: 4096 }),
    issues: [{ path: '$.maxflows', says: 'unknown key' }],
  },
  {
    name: 'unknown-nested-keys',
    text: json({
      flowTable: { idleTimeoutMs: { tcp: 60_000, tcpfin: 5000 } },
      export: { stream: { pendingByte: 1_048_576 } },
      mqtt: { tls: { caFile: '/etc/tapflow/fleet-ca.pem', ca: '/etc/tapflow/fleet-ca.pem' }, health: { intervalS: 30 } },
    }),
    issues: [
      { path: '$.flowTable.idleTimeoutMs.tcpfin', says: 'unknown key' },
      { path: '$.export.stream.pendingByte', says: 'unknown key' },
      { path: '$.mqtt.tls.ca', says: 'unknown key' },
      { path: '$.mqtt.health.intervalS', says: 'unknown key' },
    ],
  },
  {
    name: 'wrong-types',
    text: json({
      capture: { interfaces: 'eth0', oneLink: 'yes' },
      flowTable: { maxFlows: '65536' },
      export: { collectors: [4739] },
      mqtt: { url: 1883, keepaliveS: 30.5 },
    }),
    issues: [
      { path: '$.capture.interfaces', says: 'expected array', expected: 'array', got: 'eth0' },
      { path: '$.capture.oneLink', says: 'expected boolean', expected: 'boolean', got: 'yes' },
      { path: '$.flowTable.maxFlows', says: 'expected number', expected: 'number', got: '65536' },
      { path: '$.export.collectors[0]', says: 'expected string', expected: 'string', got: 4739 },
      { path: '$.mqtt.url', says: 'expected string', expected: 'string', got: 1883 },
      { path: '$.mqtt.keepaliveS', says: 'expected int', expected: 'int', got: 30.5 },
    ],
  },
  {
    name: 'sections-not-objects',
    text: json({ flowTable: null, export: [], mqtt: { outbox: 'big' } }),
    issues: [
      { path: '$.flowTable', says: 'expected object', expected: 'object', got: null },
      { path: '$.export', says: 'expected object', expected: 'object', got: [] },
      { path: '$.mqtt.outbox', says: 'expected object', expected: 'object', got: 'big' },
    ],
  },
  {
    name: 'top-level-array',
    text: '[]\n',
    issues: [{ path: '$', says: 'expected a JSON object', got: [] }],
  },
  {
    name: 'numbers-out-of-range',
    text: json({
      capture: { bufferBytes: 2_147_483_648 },
      flowTable: { maxFlows: 16_777_217, idleTimeoutMs: { tcp: 0 } },
      ipfix: { observationDomainId: -1, mtuBytes: 70_000 },
      mqtt: { keepaliveS: 1, jitterMs: -1 },
    }),
    issues: [
      { path: '$.capture.bufferBytes', says: '<=1073741824', got: 2_147_483_648 },
      { path: '$.flowTable.maxFlows', says: '<=16777216', got: 16_777_217 },
      { path: '$.flowTable.idleTimeoutMs.tcp', says: '>=1', got: 0 },
      { path: '$.ipfix.observationDomainId', says: '>=0', got: -1 },
      { path: '$.ipfix.mtuBytes', says: '<=65507', got: 70_000 },
      { path: '$.mqtt.keepaliveS', says: '>=5', got: 1 },
      { path: '$.mqtt.jitterMs', says: '>=0', got: -1 },
    ],
  },
  {
    name: 'max-flows-too-small',
    text: json({ flowTable: { maxFlows: 8 } }),
    issues: [{ path: '$.flowTable.maxFlows', says: '>=16', got: 8 }],
  },
  {
    name: 'ring-slots-not-a-power-of-two',
    text: json({ capture: { ringSlots: 1000 } }),
    issues: [{ path: '$.capture.ringSlots', says: 'must be a power of two', got: 1000 }],
  },
  {
    // Both rules fail at once: two lines with the same path.
    name: 'ring-slots-too-small-and-not-a-power-of-two',
    text: json({ capture: { ringSlots: 48 } }),
    issues: [
      { path: '$.capture.ringSlots', says: '>=64', got: 48 },
      { path: '$.capture.ringSlots', says: 'must be a power of two', got: 48 },
    ],
  },
  {
    name: 'bad-collector-specs',
    text: json({ export: { collectors: ['nfv9+tcp://192.0.2.50:2055', 'ipfix+udp://192.0.2.50:70000', 'ipfix+udp://192.0.2.50', 'sctp://192.0.2.50:4739'] } }),
    issues: [
      { path: '$.export.collectors[0]', says: 'nfv9 is sent over UDP only', got: 'nfv9+tcp://192.0.2.50:2055' },
      { path: '$.export.collectors[1]', says: 'port 70000 is outside 1..65535', got: 'ipfix+udp://192.0.2.50:70000' },
      { path: '$.export.collectors[2]', says: 'expected [FORMAT+]TRANSPORT://HOST:PORT or HOST:PORT', got: 'ipfix+udp://192.0.2.50' },
      { path: '$.export.collectors[3]', says: 'expected [FORMAT+]TRANSPORT://HOST:PORT or HOST:PORT', got: 'sctp://192.0.2.50:4739' },
    ],
  },
  {
    // The format prefix is case-insensitive: NFV5 is still v5.
    name: 'netflow-v5-sampling-over-14-bits',
    text: json({ export: { collectors: ['NFV5+UDP://192.0.2.50:2055'] }, sampling: { interval: 16_384 } }),
    issues: [{ path: '$.sampling.interval', says: 'NetFlow v5 collectors can be told sampling intervals up to 16383 only', got: 16_384 }],
  },
  {
    name: 'export-tls-cert-without-key',
    text: json({ export: { collectors: ['ipfix+tls://collector.example.net:4740'], tls: { certFile: '/etc/tapflow/probe.pem' } } }),
    issues: [{ path: '$.export.tls.keyFile', says: 'certFile and keyFile go together' }],
  },
  {
    name: 'mqtt-tls-cert-without-key',
    text: json({ mqtt: { url: 'mqtts://broker.example.net:8883', tls: { certFile: '/etc/tapflow/probe.pem' } } }),
    issues: [{ path: '$.mqtt.tls.keyFile', says: 'certFile and keyFile go together' }],
  },
  {
    name: 'mqtt-tls-key-without-cert',
    text: json({ mqtt: { url: 'mqtts://broker.example.net:8883', tls: { keyFile: '/etc/tapflow/probe.key' } } }),
    issues: [{ path: '$.mqtt.tls.certFile', says: 'certFile and keyFile go together' }],
  },
  {
    name: 'mqtt-password-and-password-file',
    text: json({ mqtt: { url: 'mqtts://broker.example.net:8883', password: 's3cret', passwordFile: '/etc/tapflow/mqtt-password' } }),
    issues: [{ path: '$.mqtt.passwordFile', says: 'give password or passwordFile, not both' }],
  },
  {
    name: 'mqtt-reconnect-min-above-max',
    text: json({ mqtt: { reconnectMinMs: 5000, reconnectMaxMs: 1000 } }),
    issues: [{ path: '$.mqtt.reconnectMaxMs', says: 'must be at least reconnectMinMs (5000)', got: 1000 }],
  },
  {
    name: 'bad-cron-expressions',
    text: json({ mqtt: { health: { cron: '*/30 * * * * * *' }, summary: { cron: '0 61 * * *' } } }),
    issues: [
      { path: '$.mqtt.health.cron', says: 'not a cron expression: expression: expected 5 or 6 fields but got 7', got: '*/30 * * * * * *' },
      { path: '$.mqtt.summary.cron', says: /not a cron expression: hour: 61 /, got: '0 61 * * *' },
    ],
  },
  {
    name: 'bad-probe-id',
    text: json({ mqtt: { probeId: 'branch 07/span' } }),
    issues: [{ path: '$.mqtt.probeId', says: 'expected 1-64 characters of A-Z a-z 0-9 . _ : -', got: 'branch 07/span' }],
  },
  {
    name: 'topic-root-without-trailing-slash',
    text: json({ mqtt: { topicRoot: 'tapflow/branch-07' } }),
    issues: [{ path: '$.mqtt.topicRoot', says: "expected a topic prefix ending in '/' without wildcards", got: 'tapflow/branch-07' }],
  },
  {
    name: 'bad-names-and-enums',
    text: json({
      capture: { interfaces: ['eth 0'], onMissingInterface: 'wait' },
      sampling: { method: 'systematic' },
      export: { mode: 'round-robin' },
      mqtt: { url: 'http://broker.example.net', payloadFormat: 'cbor' },
    }),
    issues: [
      { path: '$.capture.interfaces[0]', says: 'expected a network interface name', got: 'eth 0' },
      { path: '$.capture.onMissingInterface', says: 'expected one of "retry"|"fail"', got: 'wait' },
      { path: '$.sampling.method', says: 'expected one of "deterministic"|"random"', got: 'systematic' },
      { path: '$.export.mode', says: 'expected one of "mirror"|"failover"', got: 'round-robin' },
      { path: '$.mqtt.url', says: 'expected mqtt://, mqtts://, ws:// or wss:// URL', got: 'http://broker.example.net' },
      { path: '$.mqtt.payloadFormat', says: 'expected one of "msgpack"|"json"', got: 'cbor' },
    ],
  },
  {
    // The parser's own message, with its position: the '}' after the comma, counted from 0.
    name: 'invalid-json-trailing-comma',
    text: TRAILING_COMMA,
    issues: [{ path: '$', says: new RegExp(`^not valid JSON at line \\d+, column \\d+: .*\\bat position ${TRAILING_COMMA.indexOf(',\n  }') + 4}\\b`) }],
  },
  {
    name: 'several-errors-reported-at-once',
    text: json({
      capture: { interfaces: ['eth0'], ringSlots: 1000, snaplen: 128 },
      flowTable: { maxFlows: 8 },
      // A collector failing the spec pattern (or any type error) would hide the cross-field
      // checks (sampling, password): see the TODO test in examples.test.ts. A bad port does not.
      export: { collectors: ['nfv5+udp://192.0.2.50:2055', 'ipfix+udp://192.0.2.50:70000'] },
      sampling: { interval: 20_000 },
      mqtt: { url: 'mqtts://broker.example.net:8883', password: 's3cret', passwordFile: '/etc/tapflow/mqtt-password', health: { cron: 'every 30 s' } },
      logging: { level: 'debug' },
    }),
    issues: [
      { path: '$.capture.ringSlots', says: 'must be a power of two', got: 1000 },
      { path: '$.capture.snaplen', says: 'unknown key' },
      { path: '$.flowTable.maxFlows', says: '>=16', got: 8 },
      { path: '$.export.collectors[1]', says: 'port 70000 is outside 1..65535', got: 'ipfix+udp://192.0.2.50:70000' },
      { path: '$.sampling.interval', says: 'up to 16383 only', got: 20_000 },
      { path: '$.mqtt.passwordFile', says: 'give password or passwordFile, not both' },
      { path: '$.mqtt.health.cron', says: 'not a cron expression', got: 'every 30 s' },
      { path: '$.logging', says: 'unknown key' },
    ],
  },
];
