import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePacket } from '../../../src/decode/decode-packet.js';
import { DecodeStatus } from '../../../src/decode/decode-status.js';
import { FragmentMap } from '../../../src/decode/fragment-map.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { hex } from './hex-fixture.js';
import { ETH_IPV4, ETH_IPV6, IPV4_FIRST_FRAGMENT_UDP, IPV4_LAST_FRAGMENT_UDP, IPV6_FIRST_FRAGMENT_UDP, IPV6_LAST_FRAGMENT_UDP, UDP_4_BYTES } from './packet-fixtures.js';

const TIMEOUT_US = 30_000_000;

interface Fragment {
  version?: 4 | 6;
  src?: number;
  protocol?: number;
  id: number;
  offset: number;
  more?: number;
  ports?: [number, number];
}

function fragment(f: Fragment): PacketView {
  const view = new PacketView();
  view.ipVersion = f.version ?? 4;
  view.srcAddr[0] = f.src ?? 0x0a000001;
  view.dstAddr[0] = 0x0a000002;
  if (view.ipVersion === 6) view.srcAddr[3] = 7;
  view.protocol = f.protocol ?? 17;
  view.fragmentId = f.id;
  view.isFragment = 1;
  view.fragmentOffset = f.offset;
  view.moreFragments = f.more ?? (f.offset === 0 ? 1 : 0);
  [view.srcPort, view.dstPort] = f.offset === 0 ? (f.ports ?? [5353, 53]) : [0, 0];
  return view;
}

function decoded(bytes: Uint8Array): PacketView {
  const view = new PacketView();
  assert.equal(decodePacket(bytes, 0, bytes.length, bytes.length, 1, view), DecodeStatus.OK);
  return view;
}

describe('FragmentMap', () => {
  it('attributes a decoded IPv4 last fragment to its first fragment', () => {
    const map = new FragmentMap(16, TIMEOUT_US);
    const first = decoded(hex(ETH_IPV4, IPV4_FIRST_FRAGMENT_UDP, UDP_4_BYTES));
    const last = decoded(hex(ETH_IPV4, IPV4_LAST_FRAGMENT_UDP));
    assert.equal(map.resolve(first, 0), true);
    assert.equal(map.resolve(last, 10), true);
    assert.deepEqual([last.srcPort, last.dstPort], [5353, 53]);
    assert.deepEqual(map.stats, { attributed: 1, unattributed: 0, stored: 1, evictions: 0, expired: 0 });
  });

  it('IPv6 is keyed without the protocol, and the first fragment\'s protocol is copied', () => {
    const map = new FragmentMap(16, TIMEOUT_US);
    const first = decoded(hex(ETH_IPV6, IPV6_FIRST_FRAGMENT_UDP, UDP_4_BYTES));
    const last = decoded(hex(ETH_IPV6, IPV6_LAST_FRAGMENT_UDP));
    last.protocol = 60; // as if a Destination Options header followed the fragment header
    map.resolve(first, 0);
    assert.equal(map.resolve(last, 1), true);
    assert.deepEqual([last.protocol, last.srcPort, last.dstPort], [17, 5353, 53]);
  });

  it('IPv4 is keyed with the protocol (RFC 791)', () => {
    const map = new FragmentMap(16, TIMEOUT_US);
    map.resolve(fragment({ id: 1, offset: 0, protocol: 17 }), 0);
    const other = fragment({ id: 1, offset: 185, protocol: 6 });
    assert.equal(map.resolve(other, 1), false);
    assert.deepEqual([other.srcPort, other.dstPort], [0, 0]);
  });

  it('fragments before their first fragment stay unattributed (ports 0, counted)', () => {
    const map = new FragmentMap(16, TIMEOUT_US);
    const early = fragment({ id: 9, offset: 185 });
    assert.equal(map.resolve(early, 0), false);
    assert.deepEqual([early.srcPort, early.dstPort], [0, 0]);
    map.resolve(fragment({ id: 9, offset: 0 }), 1);
    assert.equal(map.resolve(fragment({ id: 9, offset: 370 }), 2), true);
    assert.equal(map.stats.unattributed, 1);
    assert.equal(map.stats.attributed, 1);
  });

  it('entries expire after timeoutUs', () => {
    const map = new FragmentMap(16, TIMEOUT_US);
    map.resolve(fragment({ id: 3, offset: 0 }), 1_000);
    assert.equal(map.resolve(fragment({ id: 3, offset: 185 }), 1_000 + TIMEOUT_US - 1), true);
    assert.equal(map.resolve(fragment({ id: 3, offset: 370 }), 1_000 + TIMEOUT_US), false);
    map.resolve(fragment({ id: 4, offset: 0 }), 1_000 + TIMEOUT_US); // sweeps the old entry
    assert.equal(map.stats.expired, 1);
    assert.equal(map.size, 1);
  });

  it('when full, the oldest entry is overwritten and counted', () => {
    const map = new FragmentMap(4, TIMEOUT_US);
    for (let id = 0; id < 5; id++) map.resolve(fragment({ id, offset: 0, ports: [1000 + id, 53] }), id);
    assert.equal(map.stats.evictions, 1);
    assert.equal(map.size, 4);
    assert.equal(map.resolve(fragment({ id: 0, offset: 185 }), 10), false);
    for (let id = 1; id < 5; id++) {
      const later = fragment({ id, offset: 185 });
      assert.equal(map.resolve(later, 10), true, `id ${id}`);
      assert.equal(later.srcPort, 1000 + id);
    }
  });

  it('a duplicated first fragment refreshes the ports and is stored once', () => {
    const map = new FragmentMap(4, TIMEOUT_US);
    map.resolve(fragment({ id: 5, offset: 0, ports: [1, 2] }), 0);
    map.resolve(fragment({ id: 5, offset: 0, ports: [3, 4] }), 1);
    const later = fragment({ id: 5, offset: 185 });
    map.resolve(later, 2);
    assert.deepEqual([later.srcPort, later.dstPort, map.stats.stored, map.size], [3, 4, 1, 1]);
  });

  it('ICMP fragments get their type/code back too', () => {
    const map = new FragmentMap(4, TIMEOUT_US);
    map.resolve(fragment({ id: 6, offset: 0, protocol: 1, ports: [0, 0x0800] }), 0);
    const later = fragment({ id: 6, offset: 185, protocol: 1 });
    map.resolve(later, 1);
    assert.deepEqual([later.dstPort, later.icmpTypeCode], [0x0800, 0x0800]);
  });

  it('non-fragments are left alone', () => {
    const map = new FragmentMap(4, TIMEOUT_US);
    const whole = fragment({ id: 7, offset: 0 });
    whole.isFragment = 0;
    assert.equal(map.resolve(whole, 0), false);
    assert.equal(map.size, 0);
  });

  it('agrees with a plain Map model over 50 000 random operations (index, eviction and expiry)', (t) => {
    const capacity = 32;
    const timeoutUs = 60; // about as many live first fragments as slots: both evictions and expiries happen
    const map = new FragmentMap(capacity, timeoutUs, 1);
    // Model: insertion-ordered entries, same policy (oldest overwritten when full, expiry by age).
    const model = new Map<string, { ports: number; atUs: number }>();
    let seed = 99;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n; // high bits: an LCG's low bits cycle with a short period
    };
    for (let nowUs = 0; nowUs < 50_000; nowUs++) {
      const id = random(64);
      const src = random(3);
      const key = `${src}/${id}`;
      if (random(2) === 0) {
        const ports = random(60_000);
        const existing = model.get(key);
        if (existing !== undefined && existing.atUs + timeoutUs > nowUs) existing.ports = ports;
        else {
          if (existing !== undefined) model.delete(key);
          for (const [k, v] of model) if (v.atUs + timeoutUs <= nowUs) model.delete(k);
          if (model.size === capacity) model.delete(model.keys().next().value!);
          model.set(key, { ports, atUs: nowUs });
        }
        map.resolve(fragment({ id, src, offset: 0, ports: [ports, 1] }), nowUs);
      } else {
        const later = fragment({ id, src, offset: 1 });
        const expected = model.get(key);
        const live = expected !== undefined && expected.atUs + timeoutUs > nowUs;
        assert.equal(map.resolve(later, nowUs), live, `at ${nowUs}`);
        assert.equal(later.srcPort, live ? expected.ports : 0);
      }
    }
    t.diagnostic(JSON.stringify(map.stats));
    assert.ok(map.stats.evictions > 0 && map.stats.expired > 0 && map.stats.attributed > 0 && map.stats.unattributed > 0, JSON.stringify(map.stats));
  });

  it('rejects a capacity or timeout that is not usable', () => {
    assert.throws(() => new FragmentMap(0, TIMEOUT_US), RangeError);
    assert.throws(() => new FragmentMap(1.5, TIMEOUT_US), RangeError);
    assert.throws(() => new FragmentMap(4, 0), RangeError);
  });
});
