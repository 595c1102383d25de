/**
 * Open the socket of an IPFIX stream transport: plain TCP (RFC 7011 §10.4) or TLS with the peer's
 * certificate always verified (§11.1: mutual authentication with X.509 certificates), and turn
 * socket errors into messages an operator can act on.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface StreamTlsOptions {
  /** Trusted CA certificates (PEM); Node's default CAs when absent. */
  readonly ca?: Buffer | string | ReadonlyArray<Buffer | string>;
  /** Client certificate chain (PEM), for collectors that require one. */
  readonly cert?: Buffer | string;
  readonly key?: Buffer | string;
  /** Name to send as SNI and to verify the certificate against; default: the host when it is a name. */
  readonly serverName?: string;
}

/**
 * Connect to `ip` (already resolved). `hostName` is the configured name (null for an IP literal):
 * SNI must be a name (RFC 6066), and for an IP literal Node verifies against the IP SANs.
 * Emits 'connect' (TCP) and, with TLS, 'secureConnect' once the certificate was verified.
 */
export function openStreamSocket(ip: string, family: 4 | 6, port: number, hostName: string | null, tls: StreamTlsOptions | null): Socket {
  if (tls === null) return netConnect({ host: ip, port, family });
  const serverName = tls.serverName ?? hostName;
  return tlsConnect({
    host: ip,
    port,
    rejectUnauthorized: true,
    ...(serverName !== null ? { servername: serverName } : {}),
    ...(tls.ca !== undefined ? { ca: typeof tls.ca === 'string' || Buffer.isBuffer(tls.ca) ? tls.ca : [...tls.ca] } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
  });
}

/**
 * Node's message, prefixed "TLS: " when it is about the handshake or certificates rather than TCP:
 * an error that is not an errno (certificate verification, SSL alerts), or any error between the
 * TCP connect and the end of the handshake. E.g. "TLS: unable to verify the first certificate",
 * "connect ECONNREFUSED 127.0.0.1:4739".
 */
export function describeSocketError(error: Error, tls: boolean, tcpConnected: boolean, handshakeDone: boolean): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const isErrno = /^E[A-Z0-9]+$/.test(code);
  if (tls && (!isErrno || (tcpConnected && !handshakeDone))) return `TLS: ${error.message}`;
  return error.message;
}
