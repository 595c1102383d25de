/**
 * probe-config/collectors/goflow2-mapping.yaml (GoFlow2 v2 `-mapping` file) maps every RFC 5103
 * reverse element tapflow's biflow templates send, once each, with PEN 29305, and stays loadable
 * by GoFlow2's rules (producer/proto/config_impl.go): enterprise fields need `penprovided: true`,
 * every mapped destination needs a `formatter.protobuf` entry, a non-empty `formatter.fields`
 * replaces the default output. GoFlow2 is not packaged for Debian, so it cannot run here; the
 * YAML is read with a small parser for the subset the file uses (no new dependency).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REVERSE_INFORMATION_ELEMENT_PEN } from '../../../src/export/ipfix/information-elements.js';
import { flowTemplates } from '../../../src/export/ipfix/flow-templates.js';
import { DEFAULT_TAPFLOW_PEN, TAPFLOW_ELEMENT_ROWS } from '../../../src/export/ipfix/tapflow-elements.js';
import { BIFLOW_TEMPLATES, IPV4_TEMPLATE, IPV6_TEMPLATE } from '../../../src/export/ipfix/templates.js';
import { REPO_ROOT } from '../../helpers/shared-pcaps.js';

const MAPPING_FILE = join(REPO_ROOT, 'probe-config/collectors/goflow2-mapping.yaml');

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };
interface Line { indent: number; text: string; number: number }

function scalar(text: string): Yaml {
  if (text === '' || text === '~' || text === 'null') return null;
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+$/.test(text)) return Number(text);
  const quoted = /^(['"])(.*)\1$/.exec(text);
  return quoted ? quoted[2]! : text;
}

/** Block mappings and sequences by indentation, `key: scalar`, `- scalar`, `- key: ...`, `# comments`. */
function parseYamlSubset(source: string): Yaml {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, index) => {
    const text = raw.replace(/(^|\s)#.*$/, '').trimEnd();
    if (text.trim() === '') return;
    if (text.includes('\t')) throw new Error(`line ${index + 1}: tab`);
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), number: index + 1 });
  });
  let at = 0;
  const block = (indent: number): Yaml => {
    const first = lines[at];
    if (first === undefined || first.indent !== indent) throw new Error(`line ${first?.number}: expected indent ${indent}`);
    if (first.text.startsWith('- ') || first.text === '-') {
      const items: Yaml[] = [];
      while (lines[at]?.indent === indent && lines[at]!.text.startsWith('-')) {
        const line = lines[at]!;
        const rest = line.text.slice(1).trimStart();
        if (/^[\w.-]+:(\s|$)/.test(rest)) {
          // "- key: value" opens a mapping whose other keys sit two columns further in.
          lines[at] = { indent: indent + 2, text: rest, number: line.number };
          items.push(block(indent + 2));
        } else {
          at++;
          items.push(scalar(rest));
        }
      }
      return items;
    }
    const map: { [key: string]: Yaml } = {};
    while (lines[at]?.indent === indent && !lines[at]!.text.startsWith('- ')) {
      const line = lines[at]!;
      const match = /^([\w.-]+):(?:\s+(.*))?$/.exec(line.text);
      if (match === null) throw new Error(`line ${line.number}: expected "key: value", got ${JSON.stringify(line.text)}`);
      const key = match[1]!;
      if (key in map) throw new Error(`line ${line.number}: duplicate key ${key}`);
      at++;
      const next = lines[at];
      if (match[2] === undefined && next !== undefined && next.indent > indent) map[key] = block(next.indent);
      else map[key] = scalar(match[2] ?? '');
    }
    return map;
  };
  const root = block(0);
  if (at !== lines.length) throw new Error(`line ${lines[at]!.number}: unexpected indentation`);
  return root;
}

const asMap = (value: Yaml | undefined, what: string): { [key: string]: Yaml } => {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} is a mapping`);
  return value as { [key: string]: Yaml };
};
const asList = (value: Yaml | undefined, what: string): Yaml[] => {
  assert.ok(Array.isArray(value), `${what} is a list`);
  return value;
};

// The RFC 5103 reverse elements tapflow's `--biflow` templates carry (PEN 29305, element id).
const REVERSE_ELEMENTS: Record<string, number> = {
  reverseOctetDeltaCount: 1,
  reversePacketDeltaCount: 2,
  reverseFlowStartMilliseconds: 152,
  reverseFlowEndMilliseconds: 153,
  reverseTcpControlBits: 6,
  reverseIpClassOfService: 5,
  reverseMinimumTTL: 52,
  reverseMaximumTTL: 53,
  reverseIngressInterface: 10,
  reverseSourceMacAddress: 56,
  reverseDestinationMacAddress: 80,
};
const FORWARD_EXTRAS: Record<string, number> = { flowEndReason: 136, minimumTTL: 52, maximumTTL: 53 };

// pb/flow.proto names the file lists (GoFlow2 v2), and producer/proto/render.go's renderers.
const GOFLOW2_STANDARD_FIELDS = new Set([
  'type', 'time_received_ns', 'sequence_num', 'sampling_rate', 'sampler_address', 'time_flow_start_ns', 'time_flow_end_ns',
  'bytes', 'packets', 'src_addr', 'dst_addr', 'etype', 'proto', 'src_port', 'dst_port', 'in_if', 'out_if', 'src_mac', 'dst_mac',
  'src_vlan', 'ip_tos', 'tcp_flags', 'icmp_type', 'icmp_code',
]);
const GOFLOW2_RENDERERS = new Set(['none', 'ip', 'mac', 'etype', 'proto', 'datetime', 'datetimenano']);
const GOFLOW2_PROTO_TYPES = new Set(['varint', 'string', 'bytes']);

interface MappingEntry { field: number; pen: number; penprovided: boolean; destination: string }

function mappingEntries(section: Yaml | undefined, what: string): MappingEntry[] {
  return asList(asMap(section, what).mapping, `${what}.mapping`).map((item, i) => {
    const entry = asMap(item, `${what}.mapping[${i}]`);
    const allowed = new Set(['field', 'pen', 'penprovided', 'destination', 'endianness']);
    for (const key of Object.keys(entry)) assert.ok(allowed.has(key), `${what}.mapping[${i}]: unknown key ${key}`);
    assert.equal(typeof entry.field, 'number', `${what}.mapping[${i}].field`);
    assert.equal(typeof entry.destination, 'string', `${what}.mapping[${i}].destination`);
    return {
      field: entry.field as number,
      pen: (entry.pen ?? 0) as number,
      penprovided: entry.penprovided === true,
      destination: entry.destination as string,
    };
  });
}

describe('GoFlow2 mapping file for the RFC 5103 reverse elements', () => {
  const source = readFileSync(MAPPING_FILE, 'utf8');
  const root = asMap(parseYamlSubset(source), 'the file');
  const formatter = asMap(root.formatter, 'formatter');
  const fields = asList(formatter.fields, 'formatter.fields').map(String);
  const protobuf = asList(formatter.protobuf, 'formatter.protobuf').map((item, i) => asMap(item, `formatter.protobuf[${i}]`));
  const ipfix = mappingEntries(root.ipfix, 'ipfix');

  it('the small parser reads nested mappings, lists of mappings, scalars and comments', () => {
    assert.deepEqual(parseYamlSubset('a:\n  b: 1 # c\n  l:\n    - x\n    - k: true\n      m: "s"\nz: no\n'), {
      a: { b: 1, l: ['x', { k: true, m: 's' }] },
      z: 'no',
    });
    assert.throws(() => parseYamlSubset('a: 1\n   b: 2\n'), /indentation/);
  });

  it('cites the GoFlow2 sources the syntax comes from', () => {
    for (const cited of ['docs/mapping.md', 'producer/proto/config_impl.go', 'decoders/netflow/netflow.go', 'RFC 5103']) {
      assert.ok(source.includes(cited), `mentions ${cited}`);
    }
    assert.deepEqual(Object.keys(root).sort(), ['formatter', 'ipfix', 'netflowv9']);
  });

  it('maps every reverse element exactly once, with PEN 29305 and penprovided', () => {
    const fromTemplates = new Map<string, number>();
    for (const template of BIFLOW_TEMPLATES) {
      for (const field of template.fields) {
        if (field.element.enterpriseNumber === REVERSE_INFORMATION_ELEMENT_PEN) fromTemplates.set(field.element.name, field.element.id);
      }
    }
    assert.deepEqual(Object.fromEntries([...fromTemplates].sort()), Object.fromEntries(Object.entries(REVERSE_ELEMENTS).sort()), 'the biflow templates send exactly these');
    const withPen = ipfix.filter((entry) => entry.pen !== 0 || entry.penprovided);
    for (const [name, id] of Object.entries(REVERSE_ELEMENTS)) {
      const matches = withPen.filter((entry) => entry.field === id && entry.pen === REVERSE_INFORMATION_ELEMENT_PEN);
      assert.equal(matches.length, 1, `${name} (29305/${id}) mapped once`);
      assert.equal(matches[0]!.pen, 29_305, `${name}: pen`);
      assert.equal(matches[0]!.penprovided, true, `${name}: GoFlow2 keys enterprise fields by penprovided-pen-field`);
    }
    const reverseMapped = withPen.filter((entry) => entry.pen === REVERSE_INFORMATION_ELEMENT_PEN);
    assert.equal(reverseMapped.length, Object.keys(REVERSE_ELEMENTS).length + 2, 'the classic reverse elements + the IP length range');
  });

  it('maps every field the connection and DNS templates add, once, under the element\'s own PEN', () => {
    const classic = new Set([...BIFLOW_TEMPLATES, IPV4_TEMPLATE, IPV6_TEMPLATE].flatMap((t) => t.fields.map((f) => `${f.element.enterpriseNumber}/${f.element.id}`)));
    const added = new Map<string, string>();
    for (const biflow of [false, true]) {
      const templates = flowTemplates({ biflow, enterpriseNumber: DEFAULT_TAPFLOW_PEN, connectionFields: true, maxHintTextBytes: 64 });
      for (const template of templates.all) {
        for (const f of template.fields) {
          const key = `${f.element.enterpriseNumber}/${f.element.id}`;
          if (!classic.has(key)) added.set(key, f.element.name);
        }
      }
    }
    assert.ok(added.size >= 5 + 2 + TAPFLOW_ELEMENT_ROWS.length, `${added.size} new fields`);
    for (const [key, name] of added) {
      const [pen, id] = key.split('/').map(Number) as [number, number];
      const matches = ipfix.filter((entry) => entry.field === id && entry.pen === pen && entry.penprovided === (pen !== 0));
      assert.equal(matches.length, 1, `${name} (${key}) mapped once`);
    }
    const tapflowMapped = ipfix.filter((entry) => entry.pen === DEFAULT_TAPFLOW_PEN);
    assert.equal(tapflowMapped.length, [...added.keys()].filter((key) => key.startsWith(`${DEFAULT_TAPFLOW_PEN}/`)).length, 'no stale tapflow element');
  });

  it('maps flowEndReason and the TTL range (no PEN) for IPFIX and NetFlow v9', () => {
    for (const entries of [ipfix, mappingEntries(root.netflowv9, 'netflowv9')]) {
      const plain = entries.filter((entry) => entry.pen === 0 && !entry.penprovided);
      for (const [name, id] of Object.entries(FORWARD_EXTRAS)) {
        assert.equal(plain.filter((entry) => entry.field === id).length, 1, `${name} (${id}) mapped once`);
      }
    }
  });

  it('gives each destination a custom protobuf field (index >= 1000, unique) that the JSON output lists', () => {
    const names = protobuf.map((entry) => String(entry.name));
    const indexes = protobuf.map((entry) => Number(entry.index));
    assert.equal(new Set(names).size, names.length, 'unique names');
    assert.equal(new Set(indexes).size, indexes.length, 'unique indexes');
    for (const entry of protobuf) {
      assert.ok(Number.isInteger(entry.index) && Number(entry.index) >= 1000, `${entry.name}: index ${entry.index} >= 1000`);
      assert.ok(GOFLOW2_PROTO_TYPES.has(String(entry.type)), `${entry.name}: type ${entry.type}`);
      assert.ok(fields.includes(String(entry.name)), `${entry.name} is in formatter.fields`);
      assert.ok(!GOFLOW2_STANDARD_FIELDS.has(String(entry.name)), `${entry.name} does not shadow a flow.proto field`);
    }
    const destinations = [...ipfix, ...mappingEntries(root.netflowv9, 'netflowv9')].map((entry) => entry.destination);
    for (const destination of destinations) assert.ok(names.includes(destination), `${destination} has a formatter.protobuf entry`);
    const ipfixDestinations = ipfix.map((entry) => entry.destination);
    assert.equal(new Set(ipfixDestinations).size, ipfixDestinations.length, 'one IPFIX element per destination');
    assert.equal(names.length, new Set(destinations).size, 'no unused protobuf field');
  });

  it('keeps the standard output fields, and its key and renderers exist', () => {
    assert.equal(new Set(fields).size, fields.length, 'fields listed once');
    for (const standard of ['bytes', 'packets', 'src_addr', 'dst_addr', 'src_port', 'dst_port', 'proto', 'time_flow_start_ns', 'time_flow_end_ns']) {
      assert.ok(fields.includes(standard), `formatter.fields keeps ${standard} (a non-empty list replaces the default)`);
    }
    const custom = new Set(protobuf.map((entry) => String(entry.name)));
    for (const field of fields) assert.ok(GOFLOW2_STANDARD_FIELDS.has(field) || custom.has(field), `${field} exists`);
    for (const key of asList(formatter.key, 'formatter.key').map(String)) assert.ok(GOFLOW2_STANDARD_FIELDS.has(key) || custom.has(key), `key ${key} exists`);
    for (const [field, renderer] of Object.entries(asMap(formatter.render, 'formatter.render'))) {
      assert.ok(custom.has(field) || GOFLOW2_STANDARD_FIELDS.has(field), `render: ${field} exists`);
      assert.ok(GOFLOW2_RENDERERS.has(String(renderer)), `render: ${renderer} is a GoFlow2 renderer`);
    }
  });
});
