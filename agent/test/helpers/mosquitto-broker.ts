/**
 * A real Mosquitto broker for tests, on a free loopback port, with its own config file in a temp
 * directory: plain MQTT, or TLS with a CA and required client certificates. stop() and start()
 * again reuse the port, so a test can take the broker away from a running agent and give it back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasTool, tempDir } from './collectors.js';

export const MOSQUITTO_MISSING = 'mosquitto not installed: skipped';

export function hasMosquitto(): boolean {
  return hasTool('mosquitto') || hasTool('/usr/sbin/mosquitto');
}

export interface BrokerTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Clients must present a certificate signed by caFile. */
  requireClientCert: boolean;
}

export interface MosquittoBroker {
  port: number;
  /** mqtt://127.0.0.1:port or mqtts://127.0.0.1:port. */
  url: string;
  /** Everything the broker logged (stderr/stdout). */
  log(): string;
  /** Kills the broker (SIGKILL when `abrupt`), keeping the port and config for start(). */
  stop(abrupt?: boolean): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  close(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForListener(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * `persistent`: sessions and their queued messages (QoS 0 included) survive a stop/start, so an
 * observer that reconnects after a restart misses nothing published while it was away.
 */
export async function startMosquitto(options: { tls?: BrokerTls; persistent?: boolean } = {}): Promise<MosquittoBroker> {
  const dir = tempDir('tapflow-mosquitto-');
  const port = await freeTcpPort();
  const persistence = options.persistent ? ['persistence true', `persistence_location ${dir.dir}/`, 'queue_qos0_messages true'] : ['persistence false'];
  // As root, mosquitto drops to the `mosquitto` user, which cannot read our 0700 temp directory.
  const user = process.getuid?.() === 0 ? ['user root'] : [];
  const lines = [...user, `listener ${port} 127.0.0.1`, 'allow_anonymous true', ...persistence, 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'];
  if (options.tls) {
    lines.push(`cafile ${options.tls.caFile}`, `certfile ${options.tls.certFile}`, `keyfile ${options.tls.keyFile}`);
    if (options.tls.requireClientCert) lines.push('require_certificate true');
  }
  const configFile = join(dir.dir, 'mosquitto.conf');
  writeFileSync(configFile, `${lines.join('\n')}\n`);
  const binary = hasTool('mosquitto') ? 'mosquitto' : '/usr/sbin/mosquitto';
  let child: ChildProcess | null = null;
  let output = '';

  const start = async (): Promise<void> => {
    const proc = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child = proc;
    await waitForListener(port, 10_000);
  };
  const stop = async (abrupt = false): Promise<void> => {
    const proc = child;
    if (proc === null || proc.exitCode !== null) return;
    child = null;
    const exited = once(proc, 'exit');
    proc.kill(abrupt ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await start();
  return {
    port,
    url: `${options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    log: () => output,
    stop,
    start,
    close: async () => {
      await stop();
      dir.remove();
    },
  };
}
