/**
 * A throwaway PKI made with openssl for TLS tests: a CA, a server certificate for 127.0.0.1 and
 * localhost, a client certificate (CN tapflow-probe-7) signed by it, and an unrelated CA.
 * Files are left in `dir` (ca.pem, server.pem/.key, client.pem/.key, other-ca.pem).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const openssl = (dir: string, ...args: string[]) => execFileAsync('openssl', args, { cwd: dir });
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export type TestPki = Record<'ca' | 'otherCa' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', Buffer>;

export async function makeTestPki(dir: string): Promise<TestPki> {
  await openssl(dir, 'req', '-x509', ...NEW_EC_KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=tapflow test CA');
  await openssl(dir, 'req', '-x509', ...NEW_EC_KEY, '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=some other CA');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const [name, subject, ext] of [['server', '/CN=localhost', ['-extfile', 'server.ext']], ['client', '/CN=tapflow-probe-7', []]] as const) {
    await openssl(dir, 'req', '-new', ...NEW_EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    await openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...ext);
  }
  const read = (file: string) => readFileSync(join(dir, file));
  return { ca: read('ca.pem'), otherCa: read('other-ca.pem'), serverCert: read('server.pem'), serverKey: read('server.key'), clientCert: read('client.pem'), clientKey: read('client.key') };
}
