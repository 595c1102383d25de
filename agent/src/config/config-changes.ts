/**
 * What a new configuration changes, and what applying it takes. A reload applies what can change
 * under a running probe (timeouts, export, sampling, the capture filter, the fleet channel) and
 * reports the rest (sizes of preallocated tables, the interfaces, the ring) as needing a restart.
 */

/** Where a change is applied. */
export type ChangeScope = 'meter' | 'export' | 'capture' | 'fleet' | 'restart' | 'none';

/** JSON paths (`$.a.b`) of the leaves that differ; arrays compare whole. */
export function changedPaths(before: unknown, after: unknown, path = '$'): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].sort().flatMap((key) => changedPaths(before[key], after[key], `${path}.${key}`));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [path];
}

const SCOPES: [RegExp, ChangeScope][] = [
  [/^\$\.\$schema$/, 'none'],
  [/^\$\.flowTable\.(activeTimeoutMs|expiryTickMs|idleTimeoutMs\.\w+)$/, 'meter'],
  [/^\$\.(export|ipfix|sampling)\./, 'export'],
  [/^\$\.capture\.(filter|excludeOwnTraffic)$/, 'capture'],
  [/^\$\.mqtt\.recentFlows$/, 'restart'],
  // The hint columns are preallocated per flow slot and the parsers' buffers at start.
  [/^\$\.hints\./, 'restart'],
  [/^\$\.mqtt\./, 'fleet'],
];

export function scopeOf(path: string): ChangeScope {
  for (const [pattern, scope] of SCOPES) if (pattern.test(path)) return scope;
  return 'restart';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
