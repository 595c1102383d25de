/**
 * tshark's answer to "what application hint should each flow's record carry", for the flow-hints
 * tests. tshark dissects every frame on its own (TCP and IP reassembly off, as the per-packet
 * parsers see it); the hint of a flow (tcp.stream / udp.stream) is then derived from those frames
 * with the rules of flow-hints.ts written out again here: the first `packetsPerDirection` payload
 * frames per direction (tcp.len / udp.length − 8 > 0), first recognised protocol wins, first
 * value of each part wins.
 *
 * One case needs tshark's reassembly: a TLS record that continues in the next segment is not
 * dissected at all per packet, although the hello at its start may be whole in the first
 * segment (the parsers read it). For such a frame the hello fields come from a second tshark run
 * with reassembly: the frame's PDU is the one tcp.reassembled_in names, and the frame is its
 * first segment.
 */
import { execFileSync } from 'node:child_process';
import { canonicalAddress } from '../../helpers/tshark-truth.js';

const KEY_FIELDS = [
  'frame.number', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport',
  'tcp.stream', 'udp.stream', 'tcp.len', 'udp.length', 'tcp.reassembled_in',
] as const;
const HINT_FIELDS = [
  'dns.flags.response', 'dns.qry.name', 'dns.qry.type', 'dns.flags.rcode',
  'http.request.method', 'http.host', 'http.response.code', 'http.request.version',
  'tls.handshake.type', 'tls.handshake.version', 'tls.handshake.extensions_server_name', 'tls.handshake.extensions_alpn_str',
  'tls.handshake.extensions.supported_version',
] as const;
const FIELDS = [...KEY_FIELDS, ...HINT_FIELDS];
type Field = (typeof FIELDS)[number];
type Frame = Map<Field, string[]>;

/** tshark's output per (file, mode): the same captures are checked under several settings. */
const cache = new Map<string, Frame[]>();

function runTshark(file: string, perPacket: boolean): Frame[] {
  const cached = cache.get(`${perPacket}|${file}`);
  if (cached !== undefined) return cached;
  const args = ['-r', file, '-n', '-o', 'tcp.analyze_sequence_numbers:FALSE'];
  if (perPacket) args.push('-o', 'tcp.desegment_tcp_streams:FALSE', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE');
  args.push('-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=\u0001', '-E', 'separator=\t');
  for (const field of FIELDS) args.push('-e', field);
  const stdout = execFileSync('tshark', args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString('latin1');
  const frames = stdout.split('\n').filter((line) => line !== '').map((line) => {
    const columns = line.split('\t');
    return new Map(FIELDS.map((field, i) => [field, columns[i] ? columns[i]!.split('\u0001') : []]));
  });
  cache.set(`${perPacket}|${file}`, frames);
  return frames;
}

const one = (frame: Frame, field: Field): string | undefined => frame.get(field)?.[0];

/** A flow's expected hint, in the record's terms (text as latin1 strings, '' when absent). */
export interface ExpectedHint {
  /** protocol|srcAddr|srcPort|dstAddr|dstPort of the stream's first frame (the record's forward direction). */
  key: string;
  stream: string;
  kind: 'none' | 'dns' | 'http' | 'tls';
  dnsQueryName: string;
  dnsQueryType: number;
  dnsResponseSeen: number;
  dnsResponseCode: number;
  httpRequestMethod: string;
  httpRequestHost: string;
  httpStatusCode: number;
  tlsServerName: string;
  tlsVersion: number;
  tlsAlpn: string;
  /** Set when a part was read from a frame whose payload is longer than snapBytes: the parser saw less. */
  cutBySnap: boolean;
  /** Frames the kind / parts came from (diagnostics). */
  frames: number[];
}

export interface TruthOptions {
  packetsPerDirection: number;
  snapBytes: number;
}

const REGISTERED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >>> 8 === (value & 0xff);
}

function endpoint(frame: Frame, side: 'src' | 'dst', protocol: 'tcp' | 'udp'): string {
  const address = one(frame, `ip.${side}`) ?? canonicalAddress(one(frame, `ipv6.${side}`) ?? '?');
  return `${address}|${one(frame, `${protocol}.${side}port`)}`;
}

/** The per-flow hints tshark's dissection implies, by stream. */
export function expectedHints(file: string, options: TruthOptions): ExpectedHint[] {
  const frames = runTshark(file, true);
  // Hellos reassembled by tshark, keyed by the frame where their first segment is.
  const reassembledHelloAt = new Map<number, Frame>();
  const reassembled = runTshark(file, false);
  const byNumber = new Map(reassembled.map((f) => [Number(one(f, 'frame.number')), f]));
  for (const f of reassembled) {
    const pdu = one(f, 'tcp.reassembled_in');
    if (pdu === undefined) continue;
    const hello = byNumber.get(Number(pdu));
    const type = hello && one(hello, 'tls.handshake.type');
    const start = Number(one(f, 'frame.number'));
    if ((type === '1' || type === '2') && ![...reassembledHelloAt.values()].includes(hello!)) reassembledHelloAt.set(start, hello!);
  }

  const flows = new Map<string, Building>();
  for (const frame of frames) {
    const protocol = one(frame, 'tcp.stream') !== undefined ? 'tcp' : one(frame, 'udp.stream') !== undefined ? 'udp' : null;
    if (protocol === null) continue;
    const stream = `${protocol}:${one(frame, `${protocol}.stream`)}`;
    const source = endpoint(frame, 'src', protocol);
    let flow = flows.get(stream);
    if (flow === undefined) {
      const key = `${protocol === 'tcp' ? 6 : 17}|${source}|${endpoint(frame, 'dst', protocol)}`;
      flow = {
        key, stream, forward: source, payloadFrames: [0, 0], asked: false, answered: false, kind: 'none', cutBySnap: false, frames: [],
        dnsQueryName: '', dnsQueryType: 0, dnsResponseSeen: 0, dnsResponseCode: 0,
        httpRequestMethod: '', httpRequestHost: '', httpStatusCode: 0, tlsServerName: '', tlsVersion: 0, tlsAlpn: '',
      };
      flows.set(stream, flow);
    }
    const payload = protocol === 'tcp' ? Number(one(frame, 'tcp.len') ?? 0) : Number(one(frame, 'udp.length') ?? 8) - 8;
    if (payload <= 0) continue;
    const direction = source === flow.forward ? 0 : 1;
    if (flow.payloadFrames[direction]! >= options.packetsPerDirection) continue;
    flow.payloadFrames[direction]!++;
    const number = Number(one(frame, 'frame.number'));
    const cut = payload > options.snapBytes;
    let view = frame;
    if (protocol === 'tcp' && one(frame, 'tls.handshake.type') === undefined && reassembledHelloAt.has(number)) view = reassembledHelloAt.get(number)!;
    mergeFrame(flow, view, protocol, number, cut);
  }
  return [...flows.values()].map(({ forward: _f, payloadFrames: _p, asked: _a, answered: _b, ...hint }) => hint);
}

function kindOf(frame: Frame, protocol: 'tcp' | 'udp'): ExpectedHint['kind'] {
  if (one(frame, 'dns.flags.response') !== undefined) return 'dns';
  const type = one(frame, 'tls.handshake.type');
  if (type === '1' || type === '2') return 'tls';
  const method = one(frame, 'http.request.method');
  if (protocol === 'tcp' && (method !== undefined || one(frame, 'http.response.code') !== undefined)) {
    // Documented in hints-vs-tshark.test.ts: a method RFC 9110 does not register counts only on a
    // request line ending in HTTP/1.x (SMTP/FTP commands look the same).
    if (method !== undefined && !REGISTERED_METHODS.has(method) && !/^HTTP\/1\.\d$/.test(one(frame, 'http.request.version') ?? '')) {
      return one(frame, 'http.response.code') !== undefined ? 'http' : 'none';
    }
    return 'http';
  }
  return 'none';
}

/** A flow being derived: which parts were read already, and the payload frames counted per direction. */
interface Building extends ExpectedHint {
  forward: string;
  payloadFrames: [number, number];
  asked: boolean;
  answered: boolean;
}

/** One frame of the flow, by the rules of flow-hints.ts. */
function mergeFrame(flow: Building, frame: Frame, protocol: 'tcp' | 'udp', number: number, cut: boolean): void {
  const kind = kindOf(frame, protocol);
  if (kind === 'none' || (flow.kind !== 'none' && flow.kind !== kind)) return;
  const before = JSON.stringify(flow);
  flow.kind = kind;
  if (kind === 'dns') {
    const name = one(frame, 'dns.qry.name');
    if (!flow.asked && name !== undefined) {
      flow.dnsQueryName = name === '<Root>' ? '' : name;
      flow.dnsQueryType = Number(one(frame, 'dns.qry.type'));
      flow.asked = true;
    }
    const response = one(frame, 'dns.flags.response');
    if (!flow.answered && (response === '1' || response === 'True')) {
      flow.dnsResponseSeen = 1;
      flow.dnsResponseCode = Number(one(frame, 'dns.flags.rcode'));
      flow.answered = true;
    }
  } else if (kind === 'http') {
    const method = one(frame, 'http.request.method');
    const code = one(frame, 'http.response.code');
    if (method === undefined) {
      if (!flow.answered && code !== undefined) {
        flow.httpStatusCode = Number(code);
        flow.answered = true;
      }
    } else if (!flow.asked) {
      flow.httpRequestMethod = method;
      flow.httpRequestHost = one(frame, 'http.host') ?? '';
      flow.asked = true;
    }
  } else {
    const type = one(frame, 'tls.handshake.type');
    const legacy = Number(one(frame, 'tls.handshake.version'));
    const versions = (frame.get('tls.handshake.extensions.supported_version') ?? []).map(Number);
    if (type === '1' && !flow.asked) {
      flow.tlsServerName = one(frame, 'tls.handshake.extensions_server_name') ?? '';
      flow.tlsAlpn = one(frame, 'tls.handshake.extensions_alpn_str') ?? '';
      const highest = versions.filter((v) => !isGrease(v)).reduce((a, b) => Math.max(a, b), 0);
      if (!flow.answered) flow.tlsVersion = highest !== 0 ? highest : legacy;
      flow.asked = true;
    } else if (type === '2' && !flow.answered) {
      flow.tlsVersion = versions[0] ?? legacy;
      flow.answered = true;
    }
  }
  if (JSON.stringify(flow) !== before) {
    flow.frames.push(number);
    if (cut) flow.cutBySnap = true;
  }
}
