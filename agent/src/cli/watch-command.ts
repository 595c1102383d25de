import { readFileSync } from 'node:fs';
import { describeMqttError } from '../fleet/describe-mqtt-error.js';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { MQTT_CONNECT_TIMEOUT_MS } from '../config/defaults.js';
import { FleetView, type ProbeState } from '../fleet/fleet-view.js';
import { decodePayload } from '../fleet/payload-codec.js';
import { renderFleetView } from '../fleet/render-fleet-view.js';
import { parseCommandArgs } from './parse-command-args.js';
import { EXIT_USAGE, UsageError } from './usage-error.js';

export const WATCH_USAGE = `Usage: tapflow watch --mqtt URL [options]

Shows a fleet of tapflow probes live from their MQTT broker: which are online, offline or stale
(silent for 3 health intervals) and since when, their latest health and traffic summary. On a
terminal the screen is redrawn on change, at most once a second; otherwise a snapshot is printed
on each change, at most once a second. Ends on SIGINT or SIGTERM.

Options:
  --mqtt URL              the broker: mqtt://HOST[:1883], mqtts://HOST[:8883], ws://HOST[:PORT]/PATH
                          or wss://...
  --probe ID              only this probe
  --topic-root PREFIX     the probes' topic root, '+' standing for the probe id (default tapflow/+/)
  --username NAME         broker user name
  --password SECRET       broker password (other local users can read it in the process list)
  --ca FILE               CA certificate(s) that signed an mqtts:// or wss:// broker's (PEM)
  --cert FILE             client certificate (PEM), with --key FILE its private key
  --once                  collect for --wait seconds, print one snapshot and exit
  --wait S                with --once: seconds to collect (default 2)
  --json                  with --once: print the state as one JSON object
  -h, --help              this help

Exit codes: 0 success, 1 usage error or (with --once) no probe seen, 3 broker unreachable or
refusing the connection or the subscription.`;

export const EXIT_BROKER_FAILED = 3;
const DEFAULT_TOPIC_ROOT = 'tapflow/+/';
const DEFAULT_WAIT_S = 2;
const REDRAW_INTERVAL_MS = 1_000;
/** A terminal is also redrawn this often without news, so ages and staleness stay current. */
const TERMINAL_REFRESH_MS = 5_000;
/** mqtt.js retries at this period once the first connection succeeded (a watcher is one client: no jitter needed). */
const RECONNECT_PERIOD_MS = 2_000;
const DEFAULT_WIDTH = 100;

interface WatchOptions {
  url: string;
  probeId: string | null;
  topicRoot: string;
  once: boolean;
  waitMs: number;
  json: boolean;
  client: IClientOptions;
}

export async function runWatchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      mqtt: { type: 'string' },
      probe: { type: 'string' },
      'topic-root': { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      once: { type: 'boolean' },
      wait: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    WATCH_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${WATCH_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, WATCH_USAGE);
  if (values.mqtt === undefined) throw new UsageError('--mqtt URL is required', WATCH_USAGE);
  const url = values.mqtt;
  const scheme = /^([a-z]+):\/\/[^\s/]/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || !['mqtt', 'mqtts', 'ws', 'wss'].includes(scheme)) {
    throw new UsageError(`--mqtt: expected an mqtt://, mqtts://, ws:// or wss:// URL, got '${url}'`, WATCH_USAGE);
  }
  const topicRoot = values['topic-root'] ?? DEFAULT_TOPIC_ROOT;
  if (topicRoot.includes('#') || !mqtt.validateTopic(`${topicRoot}status`)) {
    throw new UsageError(`--topic-root: '${topicRoot}' is not a topic prefix ('+' only as a whole level, no '#')`, WATCH_USAGE);
  }
  if ((values.json || values.wait !== undefined) && !values.once) throw new UsageError(`--${values.json ? 'json' : 'wait'} needs --once`, WATCH_USAGE);
  const waitS = values.wait === undefined ? DEFAULT_WAIT_S : Number(values.wait);
  if (!Number.isFinite(waitS) || waitS < 0 || waitS > 3600) throw new UsageError(`--wait: expected seconds from 0 to 3600, got '${values.wait}'`, WATCH_USAGE);
  const tlsFiles = { ca: values.ca, cert: values.cert, key: values.key };
  const tlsGiven = Object.values(tlsFiles).some((file) => file !== undefined);
  if (tlsGiven && scheme !== 'mqtts' && scheme !== 'wss') throw new UsageError('--ca, --cert and --key need an mqtts:// or wss:// URL', WATCH_USAGE);
  if ((tlsFiles.cert === undefined) !== (tlsFiles.key === undefined)) throw new UsageError('--cert and --key go together', WATCH_USAGE);

  const client: IClientOptions = {
    protocolVersion: 5,
    clientId: `tapflow-watch-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    clean: true,
    connectTimeout: MQTT_CONNECT_TIMEOUT_MS,
    reconnectPeriod: values.once ? 0 : RECONNECT_PERIOD_MS,
    rejectUnauthorized: true,
    ...(values.username !== undefined ? { username: values.username } : {}),
    ...(values.password !== undefined ? { password: values.password } : {}),
  };
  for (const [name, file] of Object.entries(tlsFiles)) {
    if (file === undefined) continue;
    try {
      Object.assign(client, { [name]: readFileSync(file) });
    } catch (error) {
      process.stderr.write(`tapflow watch: --${name} ${file}: ${(error as Error).message}\n`);
      return EXIT_USAGE;
    }
  }
  return watch({ url, probeId: values.probe ?? null, topicRoot, once: values.once === true, waitMs: waitS * 1000, json: values.json === true, client });
}

async function watch(options: WatchOptions): Promise<number> {
  const where = redactUrl(options.url);
  const view = new FleetView({ probeId: options.probeId });
  const client = mqtt.connect(options.url, options.client);
  let problem: string | null = null;
  client.on('error', (error) => (problem = describeMqttError(error, '--ca')));

  const failure = await firstConnection(client);
  if (failure !== null) {
    process.stderr.write(`tapflow watch: cannot connect to ${where}: ${failure}\n`);
    client.end(true);
    return EXIT_BROKER_FAILED;
  }
  let changed = false;
  client.on('message', (topic, payload, packet) => {
    let decoded: unknown = null; // undecodable: the view counts it as ignored
    try {
      decoded = decodePayload(payload, packet.properties?.contentType);
    } catch {}
    if (view.update(topic, decoded, Date.now(), packet.retain)) changed = true;
  });
  const filters = ['status', 'health', 'summary'].map((kind) => `${options.topicRoot}${kind}`);
  try {
    await client.subscribeAsync(filters, { qos: 1 });
  } catch (error) {
    process.stderr.write(`tapflow watch: ${where} refused the subscription to ${filters.join(', ')}: ${(error as Error).message}\n`);
    await client.endAsync(true);
    return EXIT_BROKER_FAILED;
  }

  const stopped = untilSignal();
  if (options.once) {
    await Promise.race([stopped.promise, new Promise((resolve) => setTimeout(resolve, options.waitMs))]);
    stopped.dispose();
    await client.endAsync();
    return printSnapshot(view, options);
  }

  let connection = 'connected';
  client.on('close', () => (connection = 'connection lost, reconnecting'));
  client.on('connect', () => {
    connection = 'connected';
    problem = null;
  });
  const tty = process.stdout.isTTY === true;
  let lastDrawMs = 0;
  let lastShown = '';
  const draw = (): void => {
    const nowMs = Date.now();
    const probes = view.probes(nowMs);
    const state = `${connection} ${problem ?? ''} ${view.ignored} ${probes.map((p) => `${p.probeId}=${p.liveness}`).join(',')}`;
    const due = changed || state !== lastShown || (tty && nowMs - lastDrawMs >= TERMINAL_REFRESH_MS);
    if (!due || (!tty && lastDrawMs === 0 && probes.length === 0 && view.ignored === 0)) return;
    changed = false;
    lastShown = state;
    lastDrawMs = nowMs;
    const width = tty ? (process.stdout.columns || DEFAULT_WIDTH) : DEFAULT_WIDTH;
    const header = `tapflow watch  ${where}  ${options.topicRoot}  ${connection}${problem !== null && connection !== 'connected' ? ` (${problem})` : ''}`;
    const ignored = view.ignored > 0 ? `${view.ignored} message(s) ignored (not tapflow status/health/summary)\n` : '';
    const text = `${header}\n${ignored}${renderFleetView(probes, nowMs, { width })}`;
    // Clear and home, then the whole view: a redraw, not a scroll.
    process.stdout.write(tty ? `\x1b[2J\x1b[H${text}` : `${text}\n`);
  };
  draw();
  const timer = setInterval(draw, REDRAW_INTERVAL_MS);
  await stopped.promise;
  stopped.dispose();
  clearInterval(timer);
  await client.endAsync();
  return 0;
}

/** Resolves null once connected, or the reason the first attempt failed (the watcher gives up at once). */
function firstConnection(client: MqttClient): Promise<string | null> {
  return new Promise((resolve) => {
    const finish = (failure: string | null): void => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      resolve(failure);
    };
    const onConnect = (): void => finish(null);
    const onError = (error: Error): void => finish(describeMqttError(error, '--ca'));
    const onClose = (): void => finish('the connection closed before the broker answered');
    // mqtt.js's own connectTimeout closes the stream; this is the backstop for a silent transport.
    const timer = setTimeout(() => finish(`no answer within ${MQTT_CONNECT_TIMEOUT_MS / 1000} s`), MQTT_CONNECT_TIMEOUT_MS + 1_000);
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

function printSnapshot(view: FleetView, options: WatchOptions): number {
  const nowMs = Date.now();
  const probes: ProbeState[] = view.probes(nowMs);
  if (options.json) {
    const state = { at: nowMs, broker: redactUrl(options.url), topicRoot: options.topicRoot, probes, accepted: view.accepted, ignored: view.ignored, filtered: view.filtered };
    process.stdout.write(`${JSON.stringify(state)}\n`);
  } else {
    process.stdout.write(renderFleetView(probes, nowMs, { width: process.stdout.isTTY ? (process.stdout.columns || DEFAULT_WIDTH) : DEFAULT_WIDTH }));
  }
  if (probes.length > 0) return 0;
  const which = options.probeId !== null ? `probe '${options.probeId}'` : 'no probe';
  process.stderr.write(`tapflow watch: ${which}${options.probeId !== null ? ' not' : ''} seen under ${options.topicRoot} within ${options.waitMs / 1000} s\n`);
  return 1;
}

/** A promise settled by the first SIGINT or SIGTERM; dispose() removes the handlers. */
function untilSignal(): { promise: Promise<void>; dispose: () => void } {
  let onSignal!: () => void;
  const promise = new Promise<void>((resolve) => (onSignal = resolve));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The URL without user:password. */
function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1');
}
