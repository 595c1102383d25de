import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_HEALTH_INTERVAL_MS, FleetView, STALE_HEALTH_INTERVALS } from '../../../src/fleet/fleet-view.js';
import { formatBitRate, formatBytes, formatCount, formatDuration, formatPacketRate, renderFleetView } from '../../../src/fleet/render-fleet-view.js';
import { GIB, healthPayload, statusPayload, summaryPayload } from './fleet-test-payloads.js';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

function onlineProbe(view: FleetView, probeId: string, atMs: number): void {
  assert.ok(view.update(`tapflow/${probeId}/status`, statusPayload(probeId, atMs), atMs));
  assert.ok(view.update(`tapflow/${probeId}/health`, healthPayload(probeId, atMs), atMs));
  assert.ok(view.update(`tapflow/${probeId}/summary`, summaryPayload(probeId, atMs), atMs));
}

describe('FleetView state', () => {
  it('keys probes by the payload probeId (any topic root), sorted, with their latest payloads', () => {
    const view = new FleetView();
    onlineProbe(view, 'edge-b', T0);
    const status = statusPayload('edge-a', T0);
    assert.ok(view.update('site/7/some-level/status', status, T0)); // a custom root: the topic names no probe
    const newer = healthPayload('edge-a', T0 + 30_000, { seq: 43 });
    view.update('site/7/some-level/health', healthPayload('edge-a', T0), T0);
    view.update('site/7/some-level/health', newer, T0 + 30_000);
    const probes = view.probes(T0 + 30_000);
    assert.deepEqual(probes.map((p) => p.probeId), ['edge-a', 'edge-b']);
    const a = probes[0]!;
    assert.equal(a.status, status);
    assert.equal(a.health, newer);
    assert.equal(a.summary, null);
    assert.equal(a.messages, 3);
    assert.equal(a.liveness, 'online');
    assert.equal(a.sinceMs, T0);
    assert.equal(view.accepted, 6);
    assert.equal(view.ignored, 0);
    assert.doesNotThrow(() => JSON.stringify(probes));
  });

  it('ignores and counts what is not a status, health or summary of the documented shape', () => {
    const view = new FleetView();
    const health = healthPayload('edge-a', T0);
    const { traffic: _dropped, ...noTraffic } = health;
    const garbage: [string, unknown][] = [
      ['tapflow/x/status', null], // undecodable
      ['tapflow/x/status', 'online'],
      ['tapflow/x/status', [statusPayload('x', T0)]],
      ['tapflow/x/status', Buffer.from('{}')],
      ['tapflow/x/status', { probeId: 'x', state: 'online', at: T0 }], // no schema
      ['tapflow/x/status', { ...statusPayload('x', T0), schema: 'tapflow.status/2' }],
      ['tapflow/x/status', { schema: 'tapflow.reply/1', probeId: 'x', command: 'ping', ok: true, result: null, correlationId: null }],
      ['tapflow/x/status', health], // health on a status topic
      ['tapflow/x/health', { ...health, probeId: '' }],
      ['tapflow/x/health', { ...health, probeId: 7 }],
      ['tapflow/x/health', noTraffic],
      ['tapflow/x/health', { ...health, at: 'yesterday' }],
      ['tapflow/x/status', { ...statusPayload('x', T0), state: 'sleeping' }],
      ['tapflow/x/summary', { ...summaryPayload('x', T0), services: null }],
    ];
    for (const [topic, payload] of garbage) assert.equal(view.update(topic, payload, T0), false, JSON.stringify(payload)?.slice(0, 80));
    assert.equal(view.ignored, garbage.length);
    assert.equal(view.accepted, 0);
    assert.deepEqual(view.probes(), []);
  });

  it('with a probe filter, keeps only that probe and counts the others as filtered', () => {
    const view = new FleetView({ probeId: 'edge-b' });
    assert.equal(view.update('tapflow/edge-a/status', statusPayload('edge-a', T0), T0), false);
    assert.equal(view.update('tapflow/edge-b/status', statusPayload('edge-b', T0), T0), true);
    assert.deepEqual(view.probes().map((p) => p.probeId), ['edge-b']);
    assert.equal(view.filtered, 1);
    assert.equal(view.ignored, 0);
  });

  it('bounds the number of probes, counting messages of further probes as ignored', () => {
    const view = new FleetView({ maxProbes: 2 });
    for (const id of ['a', 'b', 'c']) view.update(`tapflow/${id}/status`, statusPayload(id, T0), T0);
    assert.deepEqual(view.probes().map((p) => p.probeId), ['a', 'b']);
    assert.equal(view.ignored, 1);
  });

  it(`is stale after ${STALE_HEALTH_INTERVALS} health intervals without a message`, () => {
    const view = new FleetView();
    onlineProbe(view, 'p', T0); // intervalS 30, seq 42
    const limit = STALE_HEALTH_INTERVALS * 30_000;
    assert.equal(view.probes(T0 + limit).at(0)!.liveness, 'online');
    const stale = view.probes(T0 + limit + 1).at(0)!;
    assert.equal(stale.liveness, 'stale');
    assert.equal(stale.sinceMs, T0, 'stale since the last message');
    // Any message revives it.
    view.update('tapflow/p/summary', summaryPayload('p', T0 + limit + 500), T0 + limit + 500);
    assert.equal(view.probes(T0 + limit + 501).at(0)!.liveness, 'online');
  });

  it("takes the probe's own health interval, except from the first health message of a run", () => {
    const view = new FleetView();
    view.update('tapflow/slow/health', healthPayload('slow', T0, { intervalS: 300 }), T0);
    view.update('tapflow/new/health', healthPayload('new', T0, { seq: 1, intervalS: 2 }), T0);
    const at = T0 + 10 * 60_000;
    const [fresh, slow] = view.probes(at);
    assert.equal(slow!.healthIntervalMs, 300_000);
    assert.equal(slow!.liveness, 'online');
    assert.equal(fresh!.healthIntervalMs, DEFAULT_HEALTH_INTERVAL_MS, 'seq 1: the interval is the time since start, not the schedule');
    assert.equal(fresh!.liveness, 'stale');
  });

  it('dates retained messages by their payload time, live ones by their arrival', () => {
    const view = new FleetView();
    const now = T0 + 3_600_000;
    // Retained from an hour ago: the probe has been silent since.
    view.update('tapflow/old/status', statusPayload('old', T0), now, true);
    view.update('tapflow/old/health', healthPayload('old', T0), now, true);
    // Live, from a probe whose clock is an hour behind: it is talking now.
    view.update('tapflow/skewed/health', healthPayload('skewed', T0), now, false);
    // Retained, from a probe whose clock runs ahead: no later than its arrival.
    view.update('tapflow/ahead/health', healthPayload('ahead', now + 600_000), now, true);
    const [ahead, old, skewed] = view.probes(now + 1_000);
    assert.equal(old!.liveness, 'stale');
    assert.equal(old!.lastHeardMs, T0);
    assert.equal(skewed!.liveness, 'online');
    assert.equal(skewed!.lastHeardMs, now);
    assert.equal(ahead!.lastHeardMs, now);
  });

  it('offline: since the live transition, or for a replayed last will since the last sign of life', () => {
    const view = new FleetView();
    // A last will carries its registration time (the connection's start), older than the last health.
    view.update('tapflow/gone/status', statusPayload('gone', T0, { state: 'offline', reason: 'connection lost' }), T0 + 900_000, true);
    view.update('tapflow/gone/health', healthPayload('gone', T0 + 600_000), T0 + 900_000, true);
    const gone = view.probes(T0 + 900_000).at(0)!;
    assert.equal(gone.liveness, 'offline', 'offline, not stale');
    assert.equal(gone.sinceMs, T0 + 600_000);
    // Seen going offline live: since then. The will is the broker talking, no sign of life.
    onlineProbe(view, 'live', T0);
    view.update('tapflow/live/status', statusPayload('live', T0, { state: 'offline', reason: 'connection lost' }), T0 + 5_000);
    const live = view.probes(T0 + 6_000).find((p) => p.probeId === 'live')!;
    assert.equal(live.liveness, 'offline');
    assert.equal(live.sinceMs, T0 + 5_000);
    assert.equal(live.lastHeardMs, T0);
    // Back online.
    view.update('tapflow/live/status', statusPayload('live', T0 + 60_000), T0 + 60_000);
    assert.equal(view.probes(T0 + 61_000).find((p) => p.probeId === 'live')!.liveness, 'online');
  });
});

describe('renderFleetView', () => {
  const nowMs = T0 + 5_000;
  const view = new FleetView();
  onlineProbe(view, 'edge-a', T0);
  view.update('tapflow/edge-b/status', statusPayload('edge-b', T0 - 60_000, { state: 'offline', reason: 'connection lost' }), T0 - 10_000);
  const text = renderFleetView(view.probes(nowMs), nowMs, { width: 100 });

  it('shows each probe with its liveness, since when, version and interfaces', () => {
    assert.match(text, /^2 probes: 1 online, 1 offline, 0 stale/);
    assert.match(text, /^edge-a {2}ONLINE {3}since 12:00:00Z \(5s ago\) {2}v0\.5\.0 {2}run eth1,eth2 {2}on edge-a-host$/m);
    assert.match(text, /^edge-b {2}OFFLINE {2}since 11:59:50Z \(15s ago, connection lost\) {2}v0\.5\.0 {2}run eth1,eth2 {2}on edge-b-host$/m);
    const nextDay = nowMs + 86_400_000;
    const yesterday = renderFleetView(view.probes(nextDay), nextDay, { width: 100 });
    assert.match(yesterday, /^edge-a {2}STALE {4}last heard 2024-05-01 12:00:00Z \(1d 00h ago\)/m, 'another day: with the date');
  });

  it('shows the health figures in human units', () => {
    const h = healthPayload('edge-a', T0);
    const kernel = h.capture!.interfaces.reduce((n, i) => n + i.kernelDropped!, 0);
    const nic = h.system.nics!.reduce((n, i) => n + i.rxDropped, 0);
    const errors = h.export.destinations.reduce((n, d) => n + d.errors, 0);
    const dropped = h.export.destinations.reduce((n, d) => n + d.dropped, 0);
    const droppedRecords = h.export.destinations.reduce((n, d) => n + d.droppedRecords, 0);
    for (const expected of [
      'cpu 12.5%',
      'mem 1.2 GiB/3.8 GiB',
      'temp 54.2°C',
      'load 0.52',
      'rss 85.0 MiB',
      'up 3h 12m',
      '45.0 kpps',
      '12.3 Mb/s',
      `malformed ${h.traffic.malformedTotal}`,
      `drops ring ${h.capture!.ringDropped} kernel ${kernel} nic ${nic}`,
      `${h.flows.active}/${h.flows.capacity} active`,
      `evictions ${h.flows.evictions}`,
      '96.0 k records  8000 msgs  3.4 MiB',
      `errors ${errors}`,
      `dropped ${dropped} msgs (${droppedRecords} records)`,
      `${h.outbox.depth}/${h.outbox.capacity} queued  ${h.outbox.dropped} dropped`,
      `health #${h.seq} 5s ago`,
      '! ipfix+udp://10.0.0.1:4739: connection refused',
    ]) {
      assert.ok(text.includes(expected), `missing '${expected}' in:\n${text}`);
    }
    assert.ok(!text.includes('10.0.0.2:4739:'), 'a destination without a problem has no problem line');
  });

  it('shows the summary: totals, TCP outcomes, services with outcomes, top talkers', () => {
    for (const expected of ['12:00:00Z (1m 00s)', '1234 records', '345 conns', '12.3 k pkts', '45.6 MiB', 'completed 300  reset 4+8  rejected 3  unanswered 5  idle 20  open 2  midstream 6',
      'handshake 12.3ms/45.6ms  server 850µs/2.10ms  response 120.0ms/1.50s  retrans 1.25%', '10.0.0.5 12.3 MiB  2001:db8::7 4.5 MiB']) {
      assert.ok(text.includes(expected), `missing '${expected}' in:\n${text}`);
    }
    assert.match(text, /services 10\.0\.0\.5:443\/tcp +120 conns +20\.0 MiB {2}completed 100 {2}reset 9 {2}rejected 1\n +unanswered 2 {2}rtt 12\.3ms\/45\.6ms {2}resp 120\.0ms\/1\.50s {2}retrans 1\.00%\n/);
    const udp = text.split('\n').find((line) => line.includes('10.0.0.53:53/udp'));
    assert.ok(udp !== undefined && /80 conns +64\.0 KiB$/.test(udp), `UDP service without TCP outcomes: ${udp}`);
  });

  it('fits every line in the width', () => {
    for (const width of [100, 60]) {
      for (const line of renderFleetView(view.probes(nowMs), nowMs, { width }).split('\n')) assert.ok(line.length <= width, `${line.length} > ${width}: ${line}`);
    }
  });

  it('shows - for what a probe could not measure, and copes with an empty fleet', () => {
    const sparse = new FleetView();
    const h = healthPayload('bare', T0);
    sparse.update('tapflow/bare/health', { ...h, capture: null, system: { ...h.system, cpuPercent: null, memory: null, temperatureC: null, load: null, nics: null } }, T0);
    const out = renderFleetView(sparse.probes(nowMs), nowMs, { width: 100 });
    for (const expected of ['cpu -%', 'mem -', 'temp -', 'drops ring - kernel - nic -']) assert.ok(out.includes(expected), `missing '${expected}' in:\n${out}`);
    assert.match(renderFleetView([], nowMs, { width: 100 }), /0 probes: .*\nno probe seen yet\n$/);
  });
});

describe('human units', () => {
  it('formats rates decimally, sizes in IEC units, counts exactly below 10 000', () => {
    assert.equal(formatBitRate(999), '999 b/s');
    assert.equal(formatBitRate(12_300_000), '12.3 Mb/s');
    assert.equal(formatBitRate(2.5e9), '2.5 Gb/s');
    assert.equal(formatPacketRate(45_000), '45.0 kpps');
    assert.equal(formatPacketRate(1_234_567), '1.2 Mpps');
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1.0 KiB');
    assert.equal(formatBytes(1.2 * GIB), '1.2 GiB');
    assert.equal(formatBytes(500 * GIB), '500 GiB');
    assert.equal(formatCount(9_999), '9999');
    assert.equal(formatCount(12_345), '12.3 k');
    assert.equal(formatCount(99_999), '100 k');
    assert.equal(formatBitRate(999_960), '1.0 Mb/s');
    assert.equal(formatBytes(1023.7), '1.0 KiB');
    assert.equal(formatDuration(65_000), '1m 05s');
    assert.equal(formatDuration(-5_000), '0s');
    assert.equal(formatDuration(2 * 86_400_000 + 4 * 3_600_000), '2d 04h');
    for (const bad of [null, undefined, NaN, '12', Infinity]) {
      assert.equal(formatBytes(bad), '-');
      assert.equal(formatCount(bad), '-');
    }
  });
});
