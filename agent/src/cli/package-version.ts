import { readFileSync } from 'node:fs';

/** tapflow's version, from the package.json two levels above the compiled agent/dist tree. */
export function packageVersion(): string {
  const url = new URL('../../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
