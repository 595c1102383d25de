/**
 * CommandDispatcher: where a reply goes (MQTT 5 responseTopic/correlationData, the 3.1.1
 * replyTo/correlationId convention, the default <root>reply/<name>), whether it is JSON, the
 * documented error codes, and what handlers receive. MessagePack requests are made with
 * @msgpack/msgpack, not msgpackr, so the dispatcher is shown to read any standard encoder's output.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { CommandDispatcher, CommandError, type CommandArguments, type CommandHandler, type CommandRequest } from '../../../src/fleet/fleet-commands.js';

const ROOT = 'tapflow/edge-1/reply/';

function request(name: string, payload: Buffer | Uint8Array | string, more: Partial<CommandRequest> = {}): CommandRequest {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  return { name, payload: bytes, contentType: undefined, responseTopic: undefined, correlationData: undefined, ...more };
}

function dispatcher(handlers: Record<string, CommandHandler> = {}): CommandDispatcher {
  return new CommandDispatcher('edge-1', ROOT, { ping: () => ({ pong: true }), ...handlers });
}

function errorOf(reply: Awaited<ReturnType<CommandDispatcher['handle']>>['reply']): { code: string; message: string } {
  assert.equal(reply.ok, false, `expected an error reply, got ${JSON.stringify(reply)}`);
  return (reply as { error: { code: string; message: string } }).error;
}

describe('CommandDispatcher routes', () => {
  it('MQTT 5: the reply goes to the responseTopic with the correlationData, even when the payload names a replyTo', async () => {
    const correlationData = Buffer.from([0, 1, 2, 0xff]);
    const { route, reply } = await dispatcher().handle(
      request('ping', JSON.stringify({ replyTo: 'ops/elsewhere' }), { responseTopic: 'ops/replies/7', correlationData }),
    );
    assert.equal(route.topic, 'ops/replies/7');
    assert.equal(route.correlationData, correlationData);
    assert.equal(route.correlationId, null);
    assert.deepEqual(reply, { schema: 'tapflow.reply/1', probeId: 'edge-1', command: 'ping', ok: true, result: { pong: true }, correlationId: null });
  });

  it('MQTT 3.1.1: replyTo and correlationId come from the payload (JSON or MessagePack) and the reply echoes the id', async () => {
    for (const payload of [Buffer.from(JSON.stringify({ replyTo: 'ops/v311', correlationId: 'abc-42' })), encode({ replyTo: 'ops/v311', correlationId: 'abc-42' })]) {
      const { route, reply } = await dispatcher().handle(request('ping', payload));
      assert.deepEqual([route.topic, route.correlationId, route.correlationData], ['ops/v311', 'abc-42', null]);
      assert.equal(reply.correlationId, 'abc-42');
      assert.equal(reply.ok, true);
    }
  });

  it('without a responseTopic or replyTo the reply goes to <root>reply/<command>, for errors too', async () => {
    const d = dispatcher();
    assert.equal((await d.handle(request('ping', Buffer.alloc(0)))).route.topic, `${ROOT}ping`);
    const unknown = await d.handle(request('no.such', Buffer.alloc(0)));
    assert.equal(unknown.route.topic, `${ROOT}no.such`);
    assert.equal(errorOf(unknown.reply).code, 'unknown_command');
  });

  it('a replyTo that is not a publishable topic (wildcards, NUL, empty, not a string) is not used', async () => {
    for (const replyTo of ['ops/#', 'ops/+/x', '+', 'a\u0000b', '', 42, null, ['ops/a'], { topic: 'ops/a' }]) {
      const { route, reply } = await dispatcher().handle(request('ping', JSON.stringify({ replyTo, correlationId: 'c1' })));
      assert.equal(route.topic, `${ROOT}ping`, `replyTo ${JSON.stringify(replyTo)}`);
      assert.equal(reply.ok, true, 'the command still runs');
      assert.equal(reply.correlationId, 'c1');
    }
  });

  it('a correlationId that is not a string is not echoed', async () => {
    for (const correlationId of [7, true, { id: 1 }, null]) {
      const { route, reply } = await dispatcher().handle(request('ping', JSON.stringify({ correlationId })));
      assert.equal(route.correlationId, null);
      assert.equal(reply.correlationId, null);
    }
  });

  it('a malformed request still gets its error reply where the requester listens (responseTopic)', async () => {
    const correlationData = Buffer.from('req-9');
    const { route, reply } = await dispatcher().handle(request('ping', '{"oops"', { contentType: 'application/json', responseTopic: 'ops/r', correlationData }));
    assert.deepEqual([route.topic, route.correlationData], ['ops/r', correlationData]);
    assert.equal(errorOf(reply).code, 'malformed_payload');
  });
});

describe('CommandDispatcher JSON or MessagePack', () => {
  const jsonOf = async (payload: Buffer | Uint8Array | string, contentType?: string) =>
    (await dispatcher().handle(request('ping', payload, contentType === undefined ? {} : { contentType }))).route.json;

  it('by content type when there is one', async () => {
    assert.equal(await jsonOf('{}', 'application/json'), true);
    assert.equal(await jsonOf('{}', 'application/json; charset=utf-8'), true);
    assert.equal(await jsonOf(encode({}), 'application/msgpack'), false);
    assert.equal(await jsonOf(Buffer.alloc(0), 'application/json'), true, 'an empty JSON request still wants JSON back');
  });

  it('by the first byte without one (MQTT 3.1.1): a JSON object is JSON, MessagePack and empty are not', async () => {
    assert.equal(await jsonOf('{"a":1}'), true);
    assert.equal(await jsonOf(encode({ a: 1 })), false);
    assert.equal(await jsonOf(Buffer.alloc(0)), false);
  });

  it('content types compare case-insensitively (RFC 2045), as decodePayload does', async () => {
    assert.equal(await jsonOf('{"a":1}', 'Application/JSON'), true);
  });

  it('a JSON object after leading whitespace is JSON for the reply too, as decodePayload reads it', async () => {
    assert.equal(await jsonOf(' \n{"a":1}'), true);
  });
});

describe('CommandDispatcher error codes', () => {
  it('unknown_command names the known commands', async () => {
    const error = errorOf((await dispatcher({ stats: () => ({}) }).handle(request('reboot', Buffer.alloc(0)))).reply);
    assert.equal(error.code, 'unknown_command');
    assert.match(error.message, /'reboot'/);
    assert.match(error.message, /known: ping, stats/);
  });

  it('malformed_payload: MessagePack that does not decode (bad byte, truncated, unknown extension)', async () => {
    const truncated = encode({ window: 'a longer string value' }).subarray(0, 8);
    const unknownExtension = Buffer.from([0xd4, 0x05, 0x00]); // fixext 1 of application type 5
    for (const payload of [Buffer.from([0xc1, 0xc1, 0xff]), truncated, unknownExtension]) {
      const error = errorOf((await dispatcher().handle(request('ping', payload))).reply);
      assert.equal(error.code, 'malformed_payload', Buffer.from(payload).toString('hex'));
      assert.match(error.message, /^payload not valid MessagePack/);
    }
  });

  it('malformed_payload: the never-used MessagePack byte 0xC1 on its own', async () => {
    const { reply } = await dispatcher().handle(request('ping', Buffer.from([0xc1])));
    assert.equal(errorOf(reply).code, 'malformed_payload');
  });

  it('malformed_payload: MessagePack binary (bin 8) is not a map', async () => {
    const { reply } = await dispatcher().handle(request('ping', encode(new Uint8Array([1, 2, 3]))));
    assert.equal(errorOf(reply).code, 'malformed_payload');
  });

  it('malformed_payload: a MessagePack timestamp is not a map', async () => {
    const { reply } = await dispatcher().handle(request('ping', encode(new Date(0))));
    assert.equal(errorOf(reply).code, 'malformed_payload');
  });

  it('malformed_payload: JSON that does not parse', async () => {
    for (const [payload, contentType] of [['{"oops"', 'application/json'], ['{"a":1', undefined], ['{', undefined]] as const) {
      const error = errorOf((await dispatcher().handle(request('ping', payload, contentType ? { contentType } : {}))).reply);
      assert.equal(error.code, 'malformed_payload');
      assert.match(error.message, /^payload not valid JSON/);
    }
  });

  it('malformed_payload: a payload that is not a map (JSON or MessagePack array, number, string, null)', async () => {
    const json = (text: string) => request('ping', text, { contentType: 'application/json' });
    const notMaps = [json('[1,2,3]'), json('42'), json('"ping"'), json('null'), request('ping', encode([1, 2])), request('ping', encode(7)), request('ping', encode('x')), request('ping', encode(null))];
    for (const r of notMaps) {
      const error = errorOf((await dispatcher().handle(r)).reply);
      assert.equal(error.code, 'malformed_payload', r.payload.toString('hex'));
      assert.match(error.message, /must be a map/);
    }
  });

  it('command_failed when a handler throws or rejects; the message is the error\'s', async () => {
    const d = dispatcher({
      sync: () => {
        throw new Error('disk on fire');
      },
      async: async () => {
        await sleep(1);
        throw new RangeError('too far');
      },
      text: () => {
        throw 'a plain string';
      },
    });
    assert.deepEqual(errorOf((await d.handle(request('sync', Buffer.alloc(0)))).reply), { code: 'command_failed', message: 'disk on fire' });
    assert.deepEqual(errorOf((await d.handle(request('async', Buffer.alloc(0)))).reply), { code: 'command_failed', message: 'too far' });
    assert.deepEqual(errorOf((await d.handle(request('text', Buffer.alloc(0)))).reply), { code: 'command_failed', message: 'a plain string' });
  });

  it("a CommandError's own code, thrown or rejected", async () => {
    const d = dispatcher({
      sync: () => {
        throw new CommandError('invalid_argument', 'seconds must be 1..60');
      },
      async: () => Promise.reject(new CommandError('busy', 'a flush is running')),
    });
    assert.deepEqual(errorOf((await d.handle(request('sync', Buffer.alloc(0)))).reply), { code: 'invalid_argument', message: 'seconds must be 1..60' });
    assert.deepEqual(errorOf((await d.handle(request('async', Buffer.alloc(0)))).reply), { code: 'busy', message: 'a flush is running' });
  });

  it('a handler that throws null or undefined gets command_failed; handle() never rejects', async () => {
    const d = dispatcher({
      nothing: () => {
        throw undefined;
      },
      empty: () => Promise.reject(null),
    });
    for (const name of ['nothing', 'empty']) {
      const { reply } = await d.handle(request(name, Buffer.alloc(0)));
      assert.equal(errorOf(reply).code, 'command_failed');
    }
  });
});

describe('CommandDispatcher handlers', () => {
  it('receive the payload fields without the routing fields, from JSON and from MessagePack', async () => {
    const seen: CommandArguments[] = [];
    const d = dispatcher({ set: (args) => void seen.push(args) });
    const fields = { replyTo: 'ops/r', correlationId: 'id-1', seconds: 30, nested: { list: [1, 'two', null] }, big: 4_000_000_000 };
    await d.handle(request('set', JSON.stringify(fields)));
    await d.handle(request('set', encode(fields)));
    await d.handle(request('set', Buffer.alloc(0)));
    const expected = { seconds: 30, nested: { list: [1, 'two', null] }, big: 4_000_000_000 };
    assert.deepEqual(seen, [expected, expected, {}]);
  });

  it('integers beyond 32 bits from a standard encoder (uint64/int64) reach the handler as numbers', async () => {
    const seen: CommandArguments[] = [];
    await dispatcher({ set: (args) => void seen.push(args) }).handle(request('set', encode({ up: 2 ** 40, down: -(2 ** 40) })));
    assert.deepEqual(seen, [{ up: 2 ** 40, down: -(2 ** 40) }]);
  });

  it('a handler result is the reply result; undefined becomes null', async () => {
    const d = dispatcher({ quiet: () => undefined, zero: () => 0, list: () => [1, 2] });
    for (const [name, result] of [['quiet', null], ['zero', 0], ['list', [1, 2]]] as const) {
      const { reply } = await d.handle(request(name, Buffer.alloc(0)));
      assert.deepEqual(reply, { schema: 'tapflow.reply/1', probeId: 'edge-1', command: name, ok: true, result, correlationId: null });
    }
  });

  it('an async handler is awaited', async () => {
    let finished = false;
    const d = dispatcher({
      slow: async (args) => {
        await sleep(20);
        finished = true;
        return { echoed: args.value };
      },
    });
    const { reply } = await d.handle(request('slow', encode({ value: 'later' })));
    assert.equal(finished, true);
    assert.deepEqual(reply.ok && reply.result, { echoed: 'later' });
  });

  it('lists its commands', () => {
    assert.deepEqual(dispatcher({ stats: () => null, 'config.get': () => null }).names, ['ping', 'stats', 'config.get']);
  });
});
