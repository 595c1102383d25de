/**
 * A test IPFIX collector over TCP or TLS (RFC 7011 §10.4, §11) on 127.0.0.1: it splits each
 * connection's byte stream into messages by the header's 16-bit length field (version 10) and
 * keeps copies, per connection. It can be killed abruptly (every connection reset with RST, the
 * listener closed) and started again on the same port, and can write a connection's messages as
 * an RFC 5655 IPFIX file (messages back to back) for tshark.
 */
import { writeFileSync } from 'node:fs';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';

const IPFIX_VERSION = 10;
const IPFIX_HEADER_BYTES = 16;

export interface CollectedConnection {
  /** Complete messages in arrival order (copies). */
  readonly messages: Buffer[];
  /** When the connection was accepted (Date.now()). */
  readonly acceptedAtMs: number;
  /** Bytes received after the last complete message (a message torn by the disconnect). */
  partialBytes: number;
  /** A header that is not IPFIX (version != 10 or length < 16); parsing stopped there. */
  error: string | null;
  /** The peer closed or was reset. */
  closed: boolean;
  /** The peer ended cleanly (FIN / TLS close) rather than by an error. */
  endedCleanly: boolean;
  /** TLS: subject CN of the verified client certificate. */
  clientCertificateCn: string | null;
}

export interface StreamCollectorTls {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** CAs for client certificates; with it, a client certificate is required and verified. */
  readonly ca?: Buffer;
}

export interface StreamCollectorOptions {
  /** 0 or absent: a free port chosen at the first start, kept across restarts. */
  readonly port?: number;
  readonly tls?: StreamCollectorTls;
  /** Accept, then reset at once (to observe reconnect timing). */
  readonly resetOnAccept?: boolean;
}

export interface StreamCollector {
  readonly port: number;
  /** Every connection since creation, across restarts, in accept order. */
  readonly connections: CollectedConnection[];
  /** TLS handshakes the server rejected (tlsClientError messages). */
  readonly tlsErrors: string[];
  readonly listening: boolean;
  /** All complete messages of every connection, in order. */
  messages(): Buffer[];
  /** Polls `condition` until true; rejects after timeoutMs naming `what`. */
  waitUntil(condition: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Stop reading (new connections too): the exporter's writes back up into the kernel, then Node. */
  pauseReading(): void;
  resumeReading(): void;
  /** Abrupt stop: reset every connection (RST), close the listener. */
  kill(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Write connection `index`'s messages (all connections when absent) as an IPFIX file. */
  writeIpfixFile(path: string, index?: number): void;
}

/** The sequence number in an IPFIX header. */
export function ipfixSequence(message: Uint8Array): number {
  return Buffer.from(message.buffer, message.byteOffset, message.length).readUInt32BE(8);
}

/** The set ids of a message in order (2 = Template Set, >= 256 = data). */
export function ipfixSetIds(message: Uint8Array): number[] {
  const bytes = Buffer.from(message.buffer, message.byteOffset, message.length);
  const ids: number[] = [];
  for (let offset = IPFIX_HEADER_BYTES; offset + 4 <= bytes.readUInt16BE(2); ) {
    const length = bytes.readUInt16BE(offset + 2);
    ids.push(bytes.readUInt16BE(offset));
    if (length < 4) break;
    offset += length;
  }
  return ids;
}

/** A message holding only Template (or Options Template) Sets. */
export function isTemplatesOnly(message: Uint8Array): boolean {
  const ids = ipfixSetIds(message);
  return ids.length > 0 && ids.every((id) => id === 2 || id === 3);
}

function track(connection: CollectedConnection, socket: Socket | TLSSocket, paused: boolean): void {
  if (paused) socket.pause();
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (connection.error !== null) return;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const version = pending.readUInt16BE(0);
      const length = pending.readUInt16BE(2);
      if (version !== IPFIX_VERSION || length < IPFIX_HEADER_BYTES) {
        connection.error = `not an IPFIX header after ${connection.messages.length} messages: version ${version}, length ${length}`;
        return;
      }
      if (pending.length < length) break;
      connection.messages.push(Buffer.from(pending.subarray(0, length)));
      pending = pending.subarray(length);
    }
    connection.partialBytes = pending.length;
  });
  socket.on('end', () => (connection.endedCleanly = true));
  socket.on('error', () => undefined); // ECONNRESET when the exporter goes away: expected
  socket.on('close', () => (connection.closed = true));
}

export async function startStreamCollector(options: StreamCollectorOptions = {}): Promise<StreamCollector> {
  const connections: CollectedConnection[] = [];
  const tlsErrors: string[] = [];
  const rawSockets = new Set<Socket>();
  /** The sockets the messages are read from (TLS: the TLSSocket). */
  const dataSockets = new Set<Socket | TLSSocket>();
  let paused = false;
  const trackData = (connection: CollectedConnection, socket: Socket | TLSSocket): void => {
    dataSockets.add(socket);
    socket.on('close', () => dataSockets.delete(socket));
    track(connection, socket, paused);
  };
  let server: Server | null = null;
  let port = options.port ?? 0;

  const newConnection = (): CollectedConnection => {
    const connection: CollectedConnection = {
      messages: [],
      acceptedAtMs: Date.now(),
      partialBytes: 0,
      error: null,
      closed: false,
      endedCleanly: false,
      clientCertificateCn: null,
    };
    connections.push(connection);
    return connection;
  };

  const listen = async (): Promise<void> => {
    if (server !== null) return;
    const tls = options.tls;
    const created: Server =
      tls === undefined
        ? createNetServer((socket) => trackData(newConnection(), socket))
        : createTlsServer(
            { key: tls.key, cert: tls.cert, ...(tls.ca !== undefined ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) },
            (socket) => {
              const connection = newConnection();
              const subject = socket.getPeerCertificate().subject as Record<string, string> | undefined;
              connection.clientCertificateCn = subject?.CN ?? null;
              trackData(connection, socket);
            },
          );
    // 'connection' sees the raw TCP socket, also under TLS: the one that can be reset.
    created.on('connection', (socket: Socket) => {
      rawSockets.add(socket);
      socket.on('close', () => rawSockets.delete(socket));
      // Plain TCP only: the connection was recorded by the server's own listener just before.
      if (options.resetOnAccept === true) socket.resetAndDestroy();
    });
    created.on('tlsClientError', (error: Error) => tlsErrors.push(error.message));
    await new Promise<void>((resolve, reject) => {
      created.once('error', reject);
      created.listen(port, '127.0.0.1', () => {
        created.off('error', reject);
        resolve();
      });
    });
    port = (created.address() as { port: number }).port;
    server = created;
  };

  await listen();

  return {
    get port() {
      return port;
    },
    connections,
    tlsErrors,
    get listening() {
      return server !== null;
    },
    messages: () => connections.flatMap((connection) => connection.messages),
    async waitUntil(condition, what, timeoutMs = 3_000) {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    pauseReading() {
      paused = true;
      for (const socket of dataSockets) socket.pause();
    },
    resumeReading() {
      paused = false;
      for (const socket of dataSockets) socket.resume();
    },
    async kill() {
      const current = server;
      server = null;
      for (const socket of rawSockets) {
        if (!socket.destroyed) socket.resetAndDestroy();
      }
      rawSockets.clear();
      if (current !== null) await new Promise<void>((resolve) => current.close(() => resolve()));
    },
    start: listen,
    writeIpfixFile(path, index) {
      const chosen = index === undefined ? connections : connections.slice(index, index + 1);
      writeFileSync(path, Buffer.concat(chosen.flatMap((connection) => connection.messages)));
    },
  };
}
