/**
 * End to end: real captures through the product's decoder, flow meter and flow table; every
 * flow's record must carry the application hint tshark's dissection of the same frames implies
 * (flow-hints-truth.ts: the first payload frames of each tcp.stream / udp.stream, by the rules of
 * flow-hints.ts). Two configurations:
 * - unlimited (255 packets per direction, 65535-byte snap): every field must agree exactly, names
 *   cut at nameBytes / alpnBytes being the one documented difference (ours a prefix of tshark's);
 * - the defaults (4 packets per direction, 1024-byte snap): the same, with the truth restricted to
 *   the first 4 payload frames per direction; a flow whose part came from a frame longer than the
 *   snap may differ only by missing that part (counted).
 * Flows are matched by their first frame's 5-tuple; a 5-tuple carrying several streams or records
 * (port reuse, or the same tuple on two VLANs) is left out and counted.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { CapturedPacket } from '../../../src/capture/captured-packet.js';
import { validateConfig } from '../../../src/config/load.js';
import type { FlowRecord, FlowRecordSink } from '../../../src/flow/flow-record.js';
import { FlowMeter, flowMeterOptionsFromConfig } from '../../../src/meter/flow-meter.js';
import { readClassicPcap } from '../../helpers/read-classic-pcap.js';
import { SHARED_PCAPS_MISSING, sharedPcapsDir } from '../../helpers/shared-pcaps.js';
import { canonicalAddress } from '../../helpers/tshark-truth.js';
import { HINT_CAPTURES, tsharkAvailable } from '../hints/hint-test-kit.js';
import { type ExpectedHint, expectedHints } from './flow-hints-truth.js';

// VXLAN is metered as its outer UDP flow: the inner HTTP is no hint of that flow.
const CAPTURES = HINT_CAPTURES.filter((path) => !path.includes('vxlan'));

const WEEK_MS = 7 * 24 * 3_600_000;
const KINDS = ['none', 'dns', 'http', 'tls'] as const;

const dir = sharedPcapsDir();
const skip = dir === null ? SHARED_PCAPS_MISSING : !tsharkAvailable() ? 'tshark not installed' : false;

/** What a record says, in ExpectedHint's terms. */
type Observed = Omit<ExpectedHint, 'key' | 'stream' | 'cutBySnap' | 'frames'>;

const latin1 = (bytes: Uint8Array, length: number): string => Buffer.from(bytes.subarray(0, length)).toString('latin1');

function addressText(ipVersion: number, words: Uint32Array): string {
  if (ipVersion === 4) return [24, 16, 8, 0].map((shift) => (words[0]! >>> shift) & 0xff).join('.');
  return canonicalAddress([...words].flatMap((w) => [(w >>> 16).toString(16), (w & 0xffff).toString(16)]).join(':'));
}

class HintRecords implements FlowRecordSink {
  readonly byKey = new Map<string, Observed[]>();
  add(r: FlowRecord): void {
    if (r.protocol !== 6 && r.protocol !== 17) return;
    const key = `${r.protocol}|${addressText(r.ipVersion, r.srcAddr)}|${r.srcPort}|${addressText(r.ipVersion, r.dstAddr)}|${r.dstPort}`;
    const list = this.byKey.get(key) ?? [];
    list.push({
      kind: KINDS[r.appHintKind]!,
      dnsQueryName: latin1(r.dnsQueryName, r.dnsQueryNameLength),
      dnsQueryType: r.dnsQueryType,
      dnsResponseSeen: r.dnsResponseSeen,
      dnsResponseCode: r.dnsResponseCode,
      httpRequestMethod: latin1(r.httpRequestMethod, r.httpRequestMethodLength),
      httpRequestHost: latin1(r.httpRequestHost, r.httpRequestHostLength),
      httpStatusCode: r.httpStatusCode,
      tlsServerName: latin1(r.tlsServerName, r.tlsServerNameLength),
      tlsVersion: r.tlsVersion,
      tlsAlpn: latin1(r.tlsAlpn, r.tlsAlpnLength),
    });
    this.byKey.set(key, list);
  }
  flush(): void {}
}

interface Setting {
  packetsPerDirection: number;
  snapBytes: number;
  nameBytes: number;
  alpnBytes: number;
}

function replay(file: string, setting: Setting): HintRecords {
  const week = WEEK_MS;
  const config = validateConfig({
    hints: setting,
    flowTable: { activeTimeoutMs: week, expiryTickMs: week, idleTimeoutMs: { tcp: week, tcpFin: week, tcpRst: week, udp: week, icmp: week, other: week } },
  });
  const options = flowMeterOptionsFromConfig(config);
  options.flowTable.hashSeed = 5;
  const sink = new HintRecords();
  const meter = new FlowMeter(options, sink);
  const capture = readClassicPcap(file);
  assert.ok(capture !== null, `${file}: not a classic pcap`);
  const packet = new CapturedPacket();
  packet.linkType = capture.linkType;
  for (const p of capture.packets) {
    packet.data = p.data;
    packet.capLen = p.data.length;
    packet.wireLen = p.wireLen;
    packet.tsUs = p.tsUs;
    meter.handlePacket(packet);
  }
  while (!meter.flushSome()) {
    // batches until the table is empty
  }
  return sink;
}

/** A name kept in `capacity` bytes: equal, or (cut) the first `capacity` bytes of tshark's. */
function sameText(ours: string, theirs: string, capacity: number): boolean {
  return ours === theirs || (ours.length === capacity && theirs.length > capacity && theirs.startsWith(ours));
}

export interface Tally {
  flows: number;
  dns: number;
  http: number;
  tls: number;
  names: number;
  alpn: number;
  responses: number;
  cutNames: number;
  ambiguous: number;
  snapLimited: number;
}

function compare(ours: Observed, truth: ExpectedHint, setting: Setting, tally: Tally): string[] {
  const problems: string[] = [];
  const says = (field: keyof Observed, same: boolean): void => {
    if (!same) problems.push(`${truth.stream} ${truth.key} ${field}: ours ${JSON.stringify(ours[field])}, tshark ${JSON.stringify(truth[field])} (frames ${truth.frames.join(',')})`);
  };
  says('kind', ours.kind === truth.kind);
  for (const field of ['dnsQueryType', 'dnsResponseSeen', 'dnsResponseCode', 'httpRequestMethod', 'httpStatusCode', 'tlsVersion'] as const) says(field, ours[field] === truth[field]);
  for (const field of ['dnsQueryName', 'httpRequestHost', 'tlsServerName'] as const) {
    says(field, sameText(ours[field], truth[field], setting.nameBytes));
    if (truth[field] !== '') tally.names++;
    if (ours[field] !== truth[field]) tally.cutNames++;
  }
  says('tlsAlpn', sameText(ours.tlsAlpn, truth.tlsAlpn, setting.alpnBytes));
  if (truth.tlsAlpn !== '') tally.alpn++;
  if (truth.kind !== 'none') tally[truth.kind]++;
  if (truth.dnsResponseSeen === 1 || truth.httpStatusCode !== 0) tally.responses++;
  return problems;
}

function checkCapture(file: string, setting: Setting): { problems: string[]; tally: Tally } {
  const tally: Tally = { flows: 0, dns: 0, http: 0, tls: 0, names: 0, alpn: 0, responses: 0, cutNames: 0, ambiguous: 0, snapLimited: 0 };
  const truths = expectedHints(file, setting);
  const records = replay(file, setting);
  const streamsByKey = new Map<string, number>();
  for (const truth of truths) streamsByKey.set(truth.key, (streamsByKey.get(truth.key) ?? 0) + 1);
  const problems: string[] = [];
  for (const truth of truths) {
    const found = records.byKey.get(truth.key) ?? [];
    if (streamsByKey.get(truth.key)! > 1 || found.length > 1) {
      tally.ambiguous++;
      continue;
    }
    if (found.length === 0) {
      if (truth.kind !== 'none') problems.push(`${truth.stream} ${truth.key}: no record, tshark says ${truth.kind}`);
      continue;
    }
    tally.flows++;
    const differences = compare(found[0]!, truth, setting, tally);
    // A part read from a frame longer than the snap: the parser saw its first snapBytes only.
    if (differences.length > 0 && truth.cutBySnap && setting.snapBytes < 65_535) {
      tally.snapLimited++;
      continue;
    }
    problems.push(...differences);
  }
  // Records with a hint for a 5-tuple tshark has no stream for would be inventions.
  const keys = new Set(truths.map((truth) => truth.key));
  for (const [key, list] of records.byKey) if (!keys.has(key) && list.some((r) => r.kind !== 'none')) problems.push(`${key}: a ${list[0]!.kind} hint tshark has no stream for`);
  return { problems, tally };
}

const SETTINGS: [string, Setting][] = [
  ['every payload packet, whole', { packetsPerDirection: 255, snapBytes: 65_535, nameBytes: 254, alpnBytes: 254 }],
  ['the defaults', { packetsPerDirection: 4, snapBytes: 1024, nameBytes: 64, alpnBytes: 16 }],
  ['small buffers, 1 packet per direction', { packetsPerDirection: 1, snapBytes: 65_535, nameBytes: 6, alpnBytes: 1 }],
];

describe('flow records carry the hints tshark finds in the first packets of each flow', { skip }, () => {
  for (const [label, setting] of SETTINGS) {
    const total: Tally = { flows: 0, dns: 0, http: 0, tls: 0, names: 0, alpn: 0, responses: 0, cutNames: 0, ambiguous: 0, snapLimited: 0 };
    describe(label, () => {
      for (const relative of CAPTURES) {
        it(basename(relative), (t) => {
          const file = join(dir!, relative);
          if (!existsSync(file)) return t.skip(`${relative} missing`);
          const { problems, tally } = checkCapture(file, setting);
          t.diagnostic(`${relative}: ${JSON.stringify(tally)}`);
          for (const key of Object.keys(total) as (keyof Tally)[]) total[key] += tally[key];
          assert.deepEqual(problems.slice(0, 30), [], `${problems.length} disagreements`);
        });
      }
      it('compared every hint kind', (t) => {
        t.diagnostic(JSON.stringify(total));
        for (const key of ['flows', 'dns', 'http', 'tls', 'names', 'alpn', 'responses'] as const) assert.ok(total[key] > 0, `no ${key}`);
        if (setting.nameBytes < 64) assert.ok(total.cutNames > 0, 'no name was cut');
      });
    });
  }
});
