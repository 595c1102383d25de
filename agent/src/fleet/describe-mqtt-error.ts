/**
 * A broker connection error as one actionable phrase, shared by the agent's link and
 * `tapflow watch`. `caHint` names where the CA is configured (`mqtt.tls.caFile (path)`, `--ca`).
 */
export function describeMqttError(error: Error & { code?: string | number }, caHint: string): string {
  const code = typeof error.code === 'string' ? error.code : '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|certificate/i.test(`${code} ${error.message}`)) {
    return `TLS verification failed (${error.message}); check ${caHint} and the broker's certificate`;
  }
  if (code === 'ECONNREFUSED') return 'connection refused (is the broker running, on this port?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (typeof error.code === 'number') return `the broker refused the connection (${error.message})`;
  return error.message || code || 'connection failed';
}
