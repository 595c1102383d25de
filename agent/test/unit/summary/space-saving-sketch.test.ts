/**
 * SpaceSavingSketch against an exact Map over the same stream: exact below capacity, the
 * Space-Saving bounds on skewed streams (unit and random weights), and the hash index and heap
 * staying consistent through heavy eviction churn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaceSavingSketch } from '../../../src/summary/space-saving-sketch.js';
import { seededRandom, zipfSampler } from './summary-test-kit.js';

const KEY_WORDS = 3;

/** A 3-word key derived from an id; the words differ in every position so all are compared. */
function fillKey(key: Uint32Array, id: number): Uint32Array {
  key[0] = id;
  key[1] = Math.imul(id, 2_654_435_761) >>> 0;
  key[2] = ~id >>> 0;
  return key;
}

function idOf(sketch: SpaceSavingSketch, slot: number): number {
  return sketch.keyOf(slot, new Uint32Array(KEY_WORDS))[0]!;
}

test('at most capacity distinct keys: every count exact, error 0, keys round-trip', () => {
  const capacity = 100;
  const sketch = new SpaceSavingSketch(KEY_WORDS, capacity, 2);
  const random = seededRandom(3);
  const truth = new Map<number, number>();
  const key = new Uint32Array(KEY_WORDS);
  for (let i = 0; i < 20_000; i++) {
    const id = 1000 + Math.floor(random() * capacity);
    const weight = 1 + Math.floor(random() * 1500);
    const slot = sketch.offer(fillKey(key, id), weight);
    sketch.extra(slot, 1, 2);
    truth.set(id, (truth.get(id) ?? 0) + weight);
  }
  assert.equal(sketch.size, truth.size);
  const slots = sketch.top(capacity);
  assert.equal(slots.length, truth.size);
  for (const slot of slots) {
    const id = idOf(sketch, slot);
    assert.equal(sketch.count(slot), truth.get(id), `count of ${id}`);
    assert.equal(sketch.error(slot), 0);
    assert.equal(sketch.extraCount(slot, 0), 0);
    assert.deepEqual([...sketch.keyOf(slot, new Uint32Array(KEY_WORDS))], [...fillKey(new Uint32Array(KEY_WORDS), id)]);
  }
  const expected = [...truth.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([id]) => id);
  assert.deepEqual(slots.map((slot) => idOf(sketch, slot)), expected, 'order: count desc, then key');
  assert.deepEqual(sketch.top(5), slots.slice(0, 5));
});

test('ties are ordered by key words', () => {
  const sketch = new SpaceSavingSketch(2, 8);
  const key = new Uint32Array(2);
  for (const [hi, lo] of [[5, 1], [2, 9], [5, 0], [0xffffffff, 0], [2, 3]] as const) {
    key[0] = hi;
    key[1] = lo;
    sketch.offer(key, 7);
  }
  const order = sketch.top(10).map((slot) => [...sketch.keyOf(slot, new Uint32Array(2))].join(','));
  assert.deepEqual(order, ['2,3', '2,9', '5,0', '5,1', '4294967295,0']);
});

for (const weighted of [false, true]) {
  test(`Zipf stream, 20k distinct keys, capacity 256${weighted ? ', random weights' : ''}: Space-Saving bounds hold`, () => {
    const capacity = 256;
    const distinct = 20_000;
    const sketch = new SpaceSavingSketch(KEY_WORDS, capacity);
    const random = seededRandom(weighted ? 99 : 42);
    const draw = zipfSampler(distinct, 1.1, random);
    const truth = new Map<number, number>();
    const key = new Uint32Array(KEY_WORDS);
    let total = 0;
    for (let i = 0; i < 300_000; i++) {
      const id = draw();
      const weight = weighted ? 1 + Math.floor(random() * 1500) : 1;
      sketch.offer(fillKey(key, id), weight);
      truth.set(id, (truth.get(id) ?? 0) + weight);
      total += weight;
    }
    assert.ok(truth.size > 10_000, `${truth.size} distinct keys seen`);
    assert.equal(sketch.size, capacity);
    const reported = new Map<number, number>();
    let countSum = 0;
    let minCount = Infinity;
    for (let slot = 0; slot < sketch.size; slot++) {
      const id = idOf(sketch, slot);
      const count = sketch.count(slot);
      const error = sketch.error(slot);
      const exact = truth.get(id) ?? 0;
      assert.ok(count - error <= exact && exact <= count, `key ${id}: ${count} - ${error} <= ${exact} <= ${count}`);
      assert.ok(!reported.has(id), `key ${id} in two slots`);
      reported.set(id, slot);
      countSum += count;
      minCount = Math.min(minCount, count);
    }
    assert.equal(countSum, total, 'counts sum to the total weight');
    assert.ok(minCount <= total / capacity);
    let heavy = 0;
    for (const [id, exact] of truth) {
      if (exact > total / capacity) {
        heavy++;
        assert.ok(reported.has(id), `heavy key ${id} (${exact} > ${total / capacity}) is tracked`);
      }
    }
    assert.ok(heavy >= 10, `${heavy} heavy keys checked`);
    // The top 10 by the sketch are the true top 10 (a skewed stream separates them clearly).
    const trueTop = [...truth.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([id]) => id);
    assert.deepEqual(new Set(sketch.top(10).map((slot) => idOf(sketch, slot))), new Set(trueTop));
    assert.ok(sketch.heapIsValid());
  });
}

test('index and heap stay consistent through heavy eviction churn; extras reset on takeover', () => {
  for (const [capacity, keyWords] of [[1, 1], [7, 2], [64, 5], [200, 9]] as const) {
    const sketch = new SpaceSavingSketch(keyWords, capacity, 1);
    const random = seededRandom(capacity);
    const key = new Uint32Array(keyWords);
    const present = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      // Mostly fresh keys (an eviction each), from a small word range so probe runs collide.
      const id = Math.floor(random() * (random() < 0.3 ? capacity : 1_000_000));
      for (let w = 0; w < keyWords; w++) key[w] = (id * (w + 1)) % 4096;
      const before = sketch.lookup(key);
      const slot = sketch.offer(key, 1 + Math.floor(random() * 3));
      if (before >= 0) assert.equal(slot, before, 'a tracked key keeps its slot');
      else assert.equal(sketch.extraCount(slot, 0), 0, 'a newly taken slot starts with zero extras');
      sketch.extra(slot, 0, 1);
      if (i % 997 === 0 || i > 49_900) {
        present.clear();
        for (let s = 0; s < sketch.size; s++) {
          assert.equal(sketch.indexedSlotOf(s), s, `slot ${s} findable (capacity ${capacity}, step ${i})`);
          const text = [...sketch.keyOf(s, new Uint32Array(keyWords))].join(',');
          assert.ok(!present.has(text), 'no key in two slots');
          present.add(text);
          assert.ok(sketch.error(s) <= sketch.count(s));
        }
        assert.ok(sketch.heapIsValid(), `heap order (capacity ${capacity}, step ${i})`);
      }
    }
    assert.equal(sketch.size, capacity);
    // An evicted key is really gone from the index: look up keys that are certainly not tracked.
    let misses = 0;
    for (let id = 0; id < 5000; id++) {
      for (let w = 0; w < keyWords; w++) key[w] = (id * (w + 1)) % 4096;
      const slot = sketch.lookup(key);
      if (slot < 0) {
        misses++;
        continue;
      }
      assert.deepEqual([...sketch.keyOf(slot, new Uint32Array(keyWords))], [...key]);
    }
    assert.ok(misses > 0);
  }
});

test('clear() forgets every key and counts start from zero again', () => {
  const sketch = new SpaceSavingSketch(1, 4);
  const key = new Uint32Array(1);
  for (let i = 0; i < 10; i++) {
    key[0] = i;
    sketch.offer(key, 10 + i);
  }
  sketch.clear();
  assert.equal(sketch.size, 0);
  assert.deepEqual(sketch.top(4), []);
  key[0] = 9;
  assert.equal(sketch.lookup(key), -1);
  const slot = sketch.offer(key, 3);
  assert.equal(sketch.count(slot), 3);
  assert.equal(sketch.error(slot), 0);
});

test('constructor rejects nonsense sizes', () => {
  assert.throws(() => new SpaceSavingSketch(0, 4), RangeError);
  assert.throws(() => new SpaceSavingSketch(1, 0), RangeError);
  assert.throws(() => new SpaceSavingSketch(1, 4, -1), RangeError);
});
