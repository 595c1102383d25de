import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailoverRouter, type FailoverLane } from '../../../src/export/failover-router.js';
import type { FlowMessageBuilder } from '../../../src/export/flow-message-builder.js';
import { FlowRecord } from '../../../src/flow/flow-record.js';

/** A lane that counts what reaches it and whose health the test sets. */
function lane(name: string, log: string[]) {
  const state = { healthy: false, observed: 0 };
  const builder = {
    stats: { messages_total: 0, records_total: 0, octets_total: 0, options_records_total: 0, template_sets_total: 0 },
    lastTimeMs: 0,
    notExportable: 0,
    observeTime: () => void state.observed++,
    add: () => log.push(name),
    flush: () => undefined,
  } satisfies FlowMessageBuilder;
  const failoverLane: FailoverLane = { sink: builder, builder, healthy: () => state.healthy };
  return { state, lane: failoverLane };
}

describe('FailoverRouter', () => {
  test('records go to the first healthy lane, re-chosen at each flush; a returning primary takes over', () => {
    const log: string[] = [];
    const a = lane('a', log);
    const b = lane('b', log);
    const router = new FailoverRouter([a.lane, b.lane]);
    const rec = new FlowRecord();
    router.add(rec); // nothing known yet: the first lane
    router.flush(1);
    assert.equal(router.activeIndex, 0, 'none healthy: stay');
    b.state.healthy = true;
    router.flush(2);
    router.add(rec);
    a.state.healthy = true;
    router.add(rec); // the switch back happens at the next flush, not mid-batch
    router.flush(3);
    router.add(rec);
    assert.deepEqual(log, ['a', 'b', 'b', 'a']);
    assert.equal(router.switches, 2);
    assert.ok(b.state.observed > 0, 'inactive lanes still learn the time');
  });
});
