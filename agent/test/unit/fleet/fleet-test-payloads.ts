/**
 * Hand-built fleet payloads of the documented types (fleet-messages.ts), complete and typed, so a
 * contract change breaks the build here. Each figure is distinct, so a test can tell them apart.
 */
import type { HealthPayload, StatusPayload, SummaryPayload, TcpQuality } from '../../../src/fleet/fleet-messages.js';

export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;

export function statusPayload(probeId: string, atMs: number, overrides: Partial<StatusPayload> = {}): StatusPayload {
  return {
    schema: 'tapflow.status/1',
    probeId,
    state: 'online',
    reason: null,
    version: '0.5.0',
    configHash: '0123456789abcdef',
    startedAt: atMs - 1_000,
    hostname: `${probeId}-host`,
    pid: 4242,
    mode: 'run',
    interfaces: ['eth1', 'eth2'],
    at: atMs,
    ...overrides,
  };
}

export function healthPayload(probeId: string, atMs: number, overrides: Partial<HealthPayload> = {}): HealthPayload {
  return {
    schema: 'tapflow.health/1',
    probeId,
    seq: 42,
    at: atMs,
    uptimeS: 3 * 3600 + 12 * 60,
    intervalS: 30,
    system: {
      cpuPercent: 12.5,
      load: [0.52, 0.4, 0.33],
      memory: { totalBytes: 3.8 * GIB, usedBytes: 1.2 * GIB, availableBytes: 2.6 * GIB },
      temperatureC: 54.2,
      disks: [{ mount: '/', sizeBytes: 32 * GIB, usedBytes: 8 * GIB, usePercent: 25 }],
      nics: [
        { name: 'eth1', rxBytes: 1e9, rxPackets: 1e6, rxDropped: 7, rxErrors: 0, txBytes: 0 },
        { name: 'eth2', rxBytes: 1e9, rxPackets: 1e6, rxDropped: 5, rxErrors: 0, txBytes: 0 },
      ],
      timedOut: [],
      sampleMs: 120,
    },
    traffic: {
      packets: 123_456_789,
      meteredPackets: 123_456_789,
      octets: 98_765_432_100,
      packetsPerSecond: 45_000,
      bitsPerSecond: 12_300_000,
      malformed: { truncated: 3, badIpv4Header: 2 },
      malformedTotal: 5,
      ignored: {},
      samplingSkipped: 0,
    },
    capture: {
      interfaces: [
        { name: 'eth1', packetsSeen: 1e6, kernelDropped: 11, unseenEstimate: null, outages: 0 },
        { name: 'eth2', packetsSeen: 1e6, kernelDropped: 20, unseenEstimate: null, outages: 0 },
      ],
      ringDropped: 17,
    },
    flows: { active: 1234, capacity: 65_536, created: 99_999, evictions: 6, recordsByEndReason: { idleTimeout: 90_000 } },
    export: {
      messages: 8_000,
      records: 96_000,
      bytes: 3.4 * MIB,
      destinations: [
        { target: 'ipfix+udp://10.0.0.1:4739', sent: 7_990, dropped: 10, droppedRecords: 120, errors: 4, problem: 'connection refused', active: true },
        { target: 'ipfix+udp://10.0.0.2:4739', sent: 8_000, dropped: 1, droppedRecords: 9, errors: 5, problem: null, active: true },
      ],
    },
    process: { rssBytes: 85 * MIB, heapUsedBytes: 40 * MIB },
    outbox: { depth: 3, capacity: 1_000, dropped: 8 },
    final: false,
    ...overrides,
  };
}

/** TCP timing of a summary entry: handshake 12.3 ms / 45.6 ms, server part 850 µs / 2.10 ms, responses 120 ms / 1.50 s. */
function tcpQuality(packets: number, retransmittedPackets: number): TcpQuality {
  return {
    handshakeRtt: { samples: 300, p50Us: 12_300, p95Us: 45_600 },
    handshakeServerRtt: { samples: 310, p50Us: 850, p95Us: 2_100 },
    serverResponse: { samples: 700, p50Us: 120_000, p95Us: 1_500_000 },
    packets,
    retransmittedPackets,
    retransmissionRate: retransmittedPackets / packets,
  };
}

export function summaryPayload(probeId: string, toMs: number, overrides: Partial<SummaryPayload> = {}): SummaryPayload {
  return {
    schema: 'tapflow.summary/2',
    probeId,
    seq: 7,
    from: toMs - 60_000,
    to: toMs,
    totals: {
      records: 1_234,
      connections: 345,
      packets: 12_345,
      octets: 45.6 * MIB,
      tcp: {
        ...{ completed: 300, resetByClient: 4, resetByServer: 8, rejected: 3, synUnanswered: 5, idle: 20, openAtEnd: 2, midStream: 6 },
        ...tcpQuality(12_000, 150),
      },
    },
    protocols: [{ protocol: 6, name: 'tcp', records: 1_000, packets: 12_000, octets: 45 * MIB }],
    talkers: {
      byOctets: [
        { address: '10.0.0.5', value: 12.3 * MIB, error: 0 },
        { address: '2001:db8::7', value: 4.5 * MIB, error: 0 },
      ],
      byFlows: [{ address: '10.0.0.5', value: 200, error: 0 }],
    },
    conversations: { byOctets: [], byFlows: [] },
    serverPorts: { byOctets: [], byFlows: [] },
    services: [
      {
        ...{ address: '10.0.0.5', port: 443, protocol: 6, connections: 120, octets: 20 * MIB, value: 120, error: 0 },
        ...{ completed: 100, resetByClient: 3, resetByServer: 6, rejected: 1, synUnanswered: 2, idle: 5, openAtEnd: 1, midStream: 2 },
        ...tcpQuality(9_000, 90),
      },
      {
        ...{ address: '10.0.0.53', port: 53, protocol: 17, connections: 80, octets: 64 * 1024, value: 80, error: 0 },
        ...{ completed: 0, resetByClient: 0, resetByServer: 0, rejected: 0, synUnanswered: 0, idle: 0, openAtEnd: 0, midStream: 0 },
        handshakeRtt: { samples: 0, p50Us: null, p95Us: null },
        handshakeServerRtt: { samples: 0, p50Us: null, p95Us: null },
        serverResponse: { samples: 0, p50Us: null, p95Us: null },
        packets: 160,
        retransmittedPackets: 0,
        retransmissionRate: null,
      },
    ],
    final: false,
    ...overrides,
  };
}
