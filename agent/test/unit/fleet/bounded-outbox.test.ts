/**
 * BoundedOutbox: bounded by count and by payload bytes, oldest dropped first and counted, a
 * message too big on its own dropped without evicting anything; then a model-based random test
 * against a plain array with the same documented policy (fixed seed, so a failure replays).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedOutbox, type OutboxMessage } from '../../../src/fleet/bounded-outbox.js';
import { Xorshift32 } from '../../helpers/traffic-generator.js';

function message(id: number, payloadBytes: number, retain = false): OutboxMessage {
  return { topic: `t/${id}`, payload: Buffer.alloc(payloadBytes, id & 0xff), retain };
}

/** Empties the outbox through peek/shift, checking each peek is what shift then returns. */
function drainTopics(outbox: BoundedOutbox): string[] {
  const topics: string[] = [];
  for (let next = outbox.peek(); next !== undefined; next = outbox.peek()) {
    assert.equal(outbox.shift(), next, 'shift() returns what peek() showed');
    topics.push(next.topic);
  }
  return topics;
}

describe('BoundedOutbox', () => {
  it('starts empty: peek and shift give undefined and change nothing', () => {
    const outbox = new BoundedOutbox(4, 1_000);
    assert.equal(outbox.peek(), undefined);
    assert.equal(outbox.shift(), undefined);
    assert.deepEqual([outbox.depth, outbox.depthBytes, outbox.accepted, outbox.dropped], [0, 0, 0, 0]);
  });

  it('keeps order: peek shows the oldest without removing it, shift removes it', () => {
    const outbox = new BoundedOutbox(4, 1_000);
    const [a, b, c] = [message(1, 10, true), message(2, 20), message(3, 30)];
    for (const m of [a, b, c]) outbox.push(m);
    assert.equal(outbox.peek(), a);
    assert.equal(outbox.peek(), a, 'peek twice: still the oldest (a failed send keeps it first)');
    assert.deepEqual([outbox.depth, outbox.depthBytes], [3, 60]);
    assert.equal(outbox.shift(), a, 'the very object pushed, retain flag included');
    assert.equal(a.retain, true);
    assert.deepEqual([outbox.depth, outbox.depthBytes], [2, 50]);
    assert.deepEqual(drainTopics(outbox), ['t/2', 't/3']);
    assert.deepEqual([outbox.depth, outbox.depthBytes, outbox.accepted, outbox.dropped], [0, 0, 3, 0]);
  });

  it('by count: a push into a full outbox drops the oldest, and counts it', () => {
    const outbox = new BoundedOutbox(3, 1_000_000);
    for (let id = 1; id <= 5; id++) outbox.push(message(id, 8));
    assert.deepEqual([outbox.depth, outbox.depthBytes, outbox.accepted, outbox.dropped], [3, 24, 5, 2]);
    assert.deepEqual(drainTopics(outbox), ['t/3', 't/4', 't/5']);
  });

  it('by bytes: as many of the oldest are dropped as it takes for the new message to fit', () => {
    const outbox = new BoundedOutbox(100, 100);
    for (let id = 1; id <= 4; id++) outbox.push(message(id, 25));
    assert.deepEqual([outbox.depth, outbox.depthBytes, outbox.dropped], [4, 100, 0], 'exactly full is allowed');
    outbox.push(message(5, 60)); // needs 60 free bytes: the three oldest (75 bytes) go
    assert.deepEqual([outbox.depth, outbox.depthBytes, outbox.accepted, outbox.dropped], [2, 85, 5, 3]);
    assert.deepEqual(drainTopics(outbox), ['t/4', 't/5']);
  });

  it('a message of exactly maxBytes evicts everything else and is kept', () => {
    const outbox = new BoundedOutbox(10, 100);
    outbox.push(message(1, 1));
    outbox.push(message(2, 2));
    outbox.push(message(3, 100));
    assert.deepEqual([outbox.depth, outbox.depthBytes, outbox.dropped], [1, 100, 2]);
    assert.deepEqual(drainTopics(outbox), ['t/3']);
  });

  it('a message larger than maxBytes on its own is dropped and counted, and evicts nothing', () => {
    const outbox = new BoundedOutbox(10, 100);
    outbox.push(message(1, 40));
    outbox.push(message(2, 40));
    outbox.push(message(3, 101));
    assert.deepEqual([outbox.depth, outbox.depthBytes, outbox.accepted, outbox.dropped], [2, 80, 3, 1]);
    assert.deepEqual(drainTopics(outbox), ['t/1', 't/2']);
  });

  it('an empty payload takes a slot but no bytes', () => {
    const outbox = new BoundedOutbox(2, 1_024);
    for (let id = 1; id <= 3; id++) outbox.push(message(id, 0));
    assert.deepEqual([outbox.depth, outbox.depthBytes, outbox.dropped], [2, 0, 1]);
    assert.deepEqual(drainTopics(outbox), ['t/2', 't/3']);
  });

  it('wraps around its ring many times without losing order or bytes', () => {
    const outbox = new BoundedOutbox(5, 10_000);
    let next = 1;
    let expected = 1;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3; i++) outbox.push(message(next++, next % 7));
      for (let i = 0; i < 3; i++) assert.equal(outbox.shift()!.topic, `t/${expected++}`);
    }
    assert.deepEqual([outbox.depth, outbox.depthBytes, outbox.accepted, outbox.dropped], [0, 0, 150, 0]);
  });

  it('model-based: random pushes and shifts behave like an array with the documented policy', () => {
    const rng = new Xorshift32(0x0b0c);
    for (let trial = 0; trial < 40; trial++) {
      const maxMessages = 1 + rng.int(8);
      const maxBytes = 1 + rng.int(300);
      const outbox = new BoundedOutbox(maxMessages, maxBytes);
      const model: OutboxMessage[] = [];
      let modelDropped = 0;
      let accepted = 0;
      let delivered = 0;
      const bytesOf = (list: OutboxMessage[]) => list.reduce((n, m) => n + m.payload.length, 0);
      for (let step = 0; step < 400; step++) {
        const where = `trial ${trial} (max ${maxMessages} messages, ${maxBytes} bytes), step ${step}`;
        const roll = rng.next();
        if (roll < 0.55) {
          // Sizes straddle maxBytes now and then, so the too-big path is exercised too.
          const m = message(trial * 1_000 + step, rng.int(Math.ceil(maxBytes * (rng.next() < 0.1 ? 1.5 : 0.6)) + 1));
          accepted++;
          outbox.push(m);
          if (m.payload.length > maxBytes) modelDropped++;
          else {
            while (model.length === maxMessages || bytesOf(model) + m.payload.length > maxBytes) {
              model.shift();
              modelDropped++;
            }
            model.push(m);
          }
        } else if (roll < 0.9) {
          const got = outbox.shift();
          assert.equal(got, model.shift(), `shift at ${where}`);
          if (got !== undefined) delivered++;
        } else {
          assert.equal(outbox.peek(), model[0], `peek at ${where}`);
        }
        assert.equal(outbox.depth, model.length, `depth at ${where}`);
        assert.equal(outbox.depthBytes, bytesOf(model), `bytes at ${where}`);
        assert.equal(outbox.dropped, modelDropped, `dropped at ${where}`);
        assert.equal(outbox.accepted, accepted, `accepted at ${where}`);
        assert.ok(outbox.depth <= maxMessages && outbox.depthBytes <= maxBytes, `bounds at ${where}`);
        // Conservation: every message accepted is delivered, dropped, or still waiting.
        assert.equal(outbox.accepted, delivered + outbox.dropped + outbox.depth, `conservation at ${where}`);
      }
      assert.deepEqual(drainTopics(outbox), model.map((m) => m.topic), `final contents, trial ${trial}`);
    }
  });
});
