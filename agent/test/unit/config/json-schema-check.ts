/**
 * A walk of a value against the subset of JSON Schema (2020-12) that probe-config/tapflow.schema.json
 * uses, for tests: no JSON Schema validator is a dependency. A keyword the walk does not implement
 * is reported as a violation, so a schema that grows a new keyword cannot pass unchecked.
 */

export interface JsonSchemaNode {
  [keyword: string]: unknown;
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: boolean;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
}

/** Keywords that only annotate. */
const ANNOTATIONS = new Set(['$schema', 'description', 'default']);
const CHECKED = new Set(['type', 'properties', 'additionalProperties', 'items', 'anyOf', 'enum', 'const', 'pattern', 'minLength', 'maxLength', 'maxItems', 'minimum', 'maximum']);

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      return false;
  }
}

/** Every way `value` breaks `node`, as `PATH: why` lines (empty when it conforms). */
export function schemaViolations(node: JsonSchemaNode, value: unknown, path = '$'): string[] {
  const out: string[] = [];
  const fail = (why: string) => out.push(`${path}: ${why}`);
  for (const keyword of Object.keys(node)) {
    if (!ANNOTATIONS.has(keyword) && !CHECKED.has(keyword)) fail(`schema keyword "${keyword}" not checked by this walk`);
  }
  if (node.anyOf && !node.anyOf.some((branch) => schemaViolations(branch, value, path).length === 0)) fail(`matches none of ${node.anyOf.length} alternatives`);
  if (node.type !== undefined) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (!types.some((type) => hasType(value, type))) {
      fail(`expected ${types.join(' or ')}, got ${JSON.stringify(value)}`);
      return out; // the remaining keywords assume the type
    }
  }
  if (node.enum && !node.enum.some((option) => option === value)) fail(`not one of ${JSON.stringify(node.enum)}`);
  if ('const' in node && node.const !== value) fail(`not ${JSON.stringify(node.const)}`);
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) fail(`below ${node.minimum}`);
    if (node.maximum !== undefined && value > node.maximum) fail(`above ${node.maximum}`);
  }
  if (typeof value === 'string') {
    // JSON Schema patterns are ECMA-262 regular expressions without flags, matched anywhere ('u' for code points).
    if (node.pattern !== undefined && !new RegExp(node.pattern, 'u').test(value)) fail(`does not match ${node.pattern}`);
    const length = [...value].length;
    if (node.minLength !== undefined && length < node.minLength) fail(`shorter than ${node.minLength}`);
    if (node.maxLength !== undefined && length > node.maxLength) fail(`longer than ${node.maxLength}`);
  }
  if (Array.isArray(value)) {
    if (node.maxItems !== undefined && value.length > node.maxItems) fail(`more than ${node.maxItems} items`);
    if (node.items) value.forEach((item, index) => out.push(...schemaViolations(node.items!, item, `${path}[${index}]`)));
  }
  if (hasType(value, 'object') && (node.properties || node.additionalProperties === false)) {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      const child = node.properties?.[key];
      if (child) out.push(...schemaViolations(child, inner, `${path}.${key}`));
      else out.push(`${path}.${key}: not a property in the schema`);
    }
  }
  return out;
}
