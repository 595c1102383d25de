import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PacketSampler } from '../../../src/meter/packet-sampler.js';

describe('PacketSampler', () => {
  test('1:1 selects every packet', () => {
    const sampler = new PacketSampler(1, 'random');
    for (let i = 0; i < 1000; i++) assert.equal(sampler.select(), true);
  });

  test('deterministic 1:N selects exactly packets 0, N, 2N, …', () => {
    const sampler = new PacketSampler(7, 'deterministic');
    const selected: number[] = [];
    for (let i = 0; i < 50; i++) if (sampler.select()) selected.push(i);
    assert.deepEqual(selected, [0, 7, 14, 21, 28, 35, 42, 49]);
  });

  test('random 1:N selects close to 1/N of the packets, differently for different seeds', () => {
    const runs = [11, 12345].map((seed) => {
      const sampler = new PacketSampler(10, 'random', seed);
      const picks: boolean[] = [];
      for (let i = 0; i < 200_000; i++) picks.push(sampler.select());
      return picks;
    });
    for (const picks of runs) {
      const share = picks.filter(Boolean).length / picks.length;
      assert.ok(Math.abs(share - 0.1) < 0.005, `selected share ${share}`);
    }
    assert.notDeepEqual(runs[0]!.slice(0, 200), runs[1]!.slice(0, 200));
  });

  test('rejects an interval below 1', () => assert.throws(() => new PacketSampler(0, 'deterministic'), RangeError));
});
