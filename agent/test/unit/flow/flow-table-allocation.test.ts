/**
 * The meter's packet path (decode → flow table with TCP tracking and application hints → expiry
 * and eviction → uniflow splitter) allocates nothing: 1M hint-bearing packets after warm-up, no
 * garbage collection and a young generation that does not grow (helpers/no-allocation.ts).
 *
 * The traffic: DNS query/response over UDP, HTTP request/response and TLS ClientHello/ServerHello
 * over TCP (the hint parsers' fixtures), in frames built once. Each round rewrites the client
 * port in place, so every round's packets are new flows whose first packets are parsed; a
 * 16-flow table evicts old flows (records with hints) all along. Run with --expose-gc.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { validateConfig } from '../../../src/config/load.js';
import { UniflowSplitter } from '../../../src/export/uniflow-splitter.js';
import type { FlowRecord, FlowRecordSink } from '../../../src/flow/flow-record.js';
import { FlowMeter, flowMeterOptionsFromConfig } from '../../../src/meter/flow-meter.js';
import { assertNoAllocation, NO_ALLOCATION_SKIP } from '../../helpers/no-allocation.js';
import * as f from '../hints/hint-fixtures.js';
import { captured, CLIENT_PORT_OFFSET_BACK, CLIENT_PORT_OFFSET_OUT, frame } from './hint-packets.js';

/** Counts what reaches the exporters, by hint kind. */
class CountingSink implements FlowRecordSink {
  readonly byKind = new Float64Array(4);
  add(r: FlowRecord): void {
    this.byKind[r.appHintKind]!++;
  }
  flush(): void {}
}

it('1M hint-bearing packets through the meter allocate nothing', { skip: NO_ALLOCATION_SKIP }, async (t) => {
  const counting = new CountingSink();
  const options = flowMeterOptionsFromConfig(validateConfig({ flowTable: { maxFlows: 16 } }));
  options.flowTable.hashSeed = 3;
  const meter = new FlowMeter(options, new UniflowSplitter(counting));
  const specs = [
    { protocol: 17, fromClient: true, serverPort: 53, payload: f.DNS_QUERY },
    { protocol: 17, fromClient: false, serverPort: 53, payload: f.DNS_RESPONSE_POINTER },
    { protocol: 6, fromClient: true, serverPort: 80, payload: f.HTTP_REQUEST },
    { protocol: 6, fromClient: false, serverPort: 80, payload: f.HTTP_RESPONSE },
    { protocol: 6, fromClient: true, serverPort: 443, payload: f.TLS_CLIENT_HELLO },
    { protocol: 6, fromClient: false, serverPort: 443, payload: f.TLS_SERVER_HELLO },
  ] as const;
  const packets = specs.map((spec) => captured(frame({ ...spec, clientPort: 1024 }), 0));
  const portOffsets = Int32Array.from(specs, (spec) => (spec.fromClient ? CLIENT_PORT_OFFSET_OUT : CLIENT_PORT_OFFSET_BACK));
  const clock = new Float64Array([1_700_000_000_000_000]);
  let round = 0;
  let next = 0;
  const run = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const packet = packets[next]!;
      if (next === 0) {
        round = (round + 1) & 0x7fff;
        const port = 1024 + round;
        for (let p = 0; p < packets.length; p++) {
          const data = packets[p]!.data;
          data[portOffsets[p]!] = port >>> 8;
          data[portOffsets[p]! + 1] = port & 0xff;
        }
      }
      clock[0] = clock[0]! + 100;
      packet.tsUs = clock[0]!;
      meter.handlePacket(packet);
      next = next + 1 === packets.length ? 0 : next + 1;
    }
  };
  await assertNoAllocation(t, run, { unit: 'packets' });
  t.diagnostic(`records by hint kind (none, dns, http, tls): ${[...counting.byKind].join(', ')}`);
  // Every kind reached the exporters, nearly all with a hint.
  assert.ok(counting.byKind[1]! > 10_000 && counting.byKind[2]! > 10_000 && counting.byKind[3]! > 10_000);
  assert.ok(counting.byKind[0]! < counting.byKind[1]! / 100);
});
