import type { CommandReply } from './fleet-messages.js';
import { decodePayload, isJsonPayload, PayloadDecodeError } from './payload-codec.js';

/** A command's arguments: the request payload's fields (minus the routing fields below). */
export type CommandArguments = Record<string, unknown>;
export type CommandHandler = (args: CommandArguments) => unknown;

/**
 * Where a reply goes and what it carries back. MQTT 5: the request's responseTopic and
 * correlationData. MQTT 3.1.1 (no properties): the payload's `replyTo` topic and `correlationId`
 * string; without replyTo, `<root>reply/<command>`.
 */
export interface ReplyRoute {
  topic: string;
  correlationData: Buffer | null;
  correlationId: string | null;
  /** Reply in JSON when the request was JSON, so a shell user with mosquitto_pub can read it. */
  json: boolean;
}

export interface CommandRequest {
  name: string;
  payload: Buffer;
  contentType: string | undefined;
  responseTopic: string | undefined;
  correlationData: Buffer | undefined;
}

const ROUTING_FIELDS = new Set(['replyTo', 'correlationId']);

/**
 * Runs fleet commands (`<root>cmd/<name>`): decodes the request, calls the handler, and builds
 * the reply — an error reply for an unknown command, a payload that does not decode to a map, or
 * a handler that fails. Nothing a request contains can throw out of handle().
 */
export class CommandDispatcher {
  private readonly handlers: ReadonlyMap<string, CommandHandler>;
  private readonly probeId: string;
  private readonly defaultReplyRoot: string;

  constructor(probeId: string, defaultReplyRoot: string, handlers: Record<string, CommandHandler>) {
    this.probeId = probeId;
    this.defaultReplyRoot = defaultReplyRoot;
    this.handlers = new Map(Object.entries(handlers));
  }

  get names(): string[] {
    return [...this.handlers.keys()];
  }

  async handle(request: CommandRequest): Promise<{ route: ReplyRoute; reply: CommandReply }> {
    let decoded: unknown;
    let decodeProblem: string | null = null;
    try {
      decoded = decodePayload(request.payload, request.contentType);
    } catch (error) {
      decodeProblem = error instanceof PayloadDecodeError ? error.message : String(error);
    }
    const fields = isPlainMap(decoded) ? decoded : null;
    const route = this.routeOf(request, fields);
    const fail = (code: string, message: string) => ({ route, reply: this.reply(request.name, route, { ok: false, error: { code, message } }) });

    if (decodeProblem !== null) return fail('malformed_payload', `payload ${decodeProblem}`);
    if (fields === null) return fail('malformed_payload', 'payload must be a map (object) of arguments, or empty');
    const handler = this.handlers.get(request.name);
    if (handler === undefined) return fail('unknown_command', `unknown command '${request.name}'; known: ${this.names.join(', ')}`);
    const args: CommandArguments = {};
    for (const [key, value] of Object.entries(fields)) {
      if (!ROUTING_FIELDS.has(key) && key !== '__proto__') args[key] = value;
    }
    try {
      const result = await handler(args);
      return { route, reply: this.reply(request.name, route, { ok: true, result: result ?? null }) };
    } catch (error) {
      const code = error instanceof CommandError ? error.commandCode : 'command_failed';
      return fail(code, error instanceof Error ? error.message : String(error));
    }
  }

  private routeOf(request: CommandRequest, fields: Record<string, unknown> | null): ReplyRoute {
    const replyTo = typeof fields?.replyTo === 'string' && isPublishableTopic(fields.replyTo) ? fields.replyTo : null;
    const correlationId = typeof fields?.correlationId === 'string' ? fields.correlationId : null;
    const json = request.payload.length > 0 || request.contentType !== undefined ? isJsonPayload(request.payload, request.contentType) : false;
    return {
      topic: request.responseTopic ?? replyTo ?? `${this.defaultReplyRoot}${request.name}`,
      correlationData: request.correlationData ?? null,
      correlationId,
      json,
    };
  }

  private reply(command: string, route: ReplyRoute, outcome: { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } }): CommandReply {
    return { schema: 'tapflow.reply/1', probeId: this.probeId, command, ...outcome, correlationId: route.correlationId };
  }
}

/** An error a handler throws to choose the reply's error code (e.g. invalid_argument). */
export class CommandError extends Error {
  readonly commandCode: string;
  constructor(commandCode: string, message: string) {
    super(message);
    this.commandCode = commandCode;
  }
}

/** A map of arguments: a plain object (not an array, a Date from a MessagePack timestamp, bytes, ...). */
function isPlainMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isPublishableTopic(topic: string): boolean {
  return topic.length > 0 && topic.length < 65_536 && !/[#+\u0000]/.test(topic);
}
