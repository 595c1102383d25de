/**
 * Every field of every IPFIX data record as tshark decodes it, from its PDML output: the JSON
 * output folds repeated keys, and tapflow's enterprise elements all decode as repeated
 * `cflow.enterprise_private_entry` fields ("Type N: Value (hex bytes): ..."), so PDML is the
 * only independent view of them. Test-only; allocates freely.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TsharkIpfixRecord {
  /** Data set (template) id. */
  setId: number;
  /** cflow.* field name → its `show` values in record order (IANA elements tshark knows). */
  fields: Map<string, string[]>;
  /** Enterprise element id (reverse ones with their 0x4000 bit) → value bytes as hex, for `pen`. */
  enterprise: Map<number, string>;
}

export interface TsharkIpfixFields {
  records: TsharkIpfixRecord[];
  /** Expert items of severity error, and malformed-packet markers: both must be 0. */
  expertErrors: number;
  malformed: number;
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\b${name}="([^"]*)"`).exec(tag);
  return match?.[1]?.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Decode an IPFIX file (or, with udpPort, a pcap of IPFIX datagrams) with tshark -T pdml. */
export async function tsharkIpfixFields(path: string, opts: { udpPort?: number } = {}): Promise<TsharkIpfixFields> {
  const args = ['-r', path, '-T', 'pdml'];
  if (opts.udpPort !== undefined) args.push('-d', `udp.port==${opts.udpPort},cflow`);
  const { stdout } = await execFileAsync('tshark', args, { maxBuffer: 1 << 30 });
  const records: TsharkIpfixRecord[] = [];
  let setId = -1;
  let current: TsharkIpfixRecord | null = null;
  let expertErrors = 0;
  let malformed = 0;
  for (const line of stdout.split('\n')) {
    const tag = line.trim();
    if (!tag.startsWith('<field') && !tag.startsWith('<proto')) continue;
    const name = attribute(tag, 'name') ?? '';
    const show = attribute(tag, 'show') ?? '';
    if (tag.startsWith('<proto') && name === '_ws.malformed') malformed++;
    if (name === '_ws.expert.severity' && show === '8388608') expertErrors++;
    if (name === '' && /^Set \d+ \[id=\d+\]/.test(show)) {
      setId = Number(/\[id=(\d+)\]/.exec(show)![1]);
      current = null;
      continue;
    }
    if (name === '' && /^Flow \d+$/.test(show)) {
      current = { setId, fields: new Map(), enterprise: new Map() };
      records.push(current);
      continue;
    }
    if (current === null || !name.startsWith('cflow.')) continue;
    if (name === 'cflow.enterprise_private_entry') {
      const match = /Type (\d+): Value \(hex bytes\): ([0-9a-f ]*)/.exec(attribute(tag, 'showname') ?? '');
      if (match !== null) current.enterprise.set(Number(match[1]), match[2]!.replace(/ /g, ''));
      continue;
    }
    const values = current.fields.get(name) ?? [];
    values.push(show);
    current.fields.set(name, values);
  }
  return { records, expertErrors, malformed };
}

/** An enterprise value (hex) as an unsigned integer; undefined when absent. */
export function enterpriseNumber(record: TsharkIpfixRecord, id: number): number | undefined {
  const hex = record.enterprise.get(id);
  return hex === undefined ? undefined : hex === '' ? 0 : Number.parseInt(hex, 16);
}

/** An enterprise value (hex) as latin-1 text; '' when absent (tshark omits empty variable-length values). */
export function enterpriseText(record: TsharkIpfixRecord, id: number): string {
  const hex = record.enterprise.get(id) ?? '';
  return Buffer.from(hex, 'hex').toString('latin1');
}

export function field(record: TsharkIpfixRecord, name: string): string | undefined {
  return record.fields.get(name)?.[0];
}
