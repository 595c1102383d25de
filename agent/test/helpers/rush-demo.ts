import { fileURLToPath } from 'node:url';
import {
  FrameSpec, IPPROTO_TCP, IPPROTO_UDP, PcapWriter, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, frameBytesFor, writeFrame,
} from './pcap-writer.js';
import { Xorshift32 } from './traffic-generator.js';

/**
 * The demo capture of the README quick start (agent/test/fixtures/demo-rush.pcap): one minute of a
 * ticket-sale rush on a load balancer. Clients (IPv4 and IPv6, documentation prefixes) open HTTPS
 * sessions to the VIP: most complete, some are reset by an overloaded server after the request,
 * some are rejected (SYN answered by RST), and some SYNs are never answered (retried after 1 s and
 * 3 s). DNS lookups ride alongside. Deterministic: the same seed writes the same bytes, and
 * `npm test` checks the committed file against a fresh one.
 *
 * Regenerate: node agent/dist/test/helpers/rush-demo.js agent/test/fixtures/demo-rush.pcap
 */

export const RUSH_DEMO_SEED = 2026;
const START_US = Date.UTC(2026, 10, 20, 19, 0, 0) * 1000;
const CLIENTS = 240;
const RUSH_US = 60_000_000;
const VIP4 = [192, 0, 2, 10];
const VIP6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
const DNS4 = [192, 0, 2, 53];

export type RushOutcome = 'completed' | 'reset_by_server' | 'rejected' | 'syn_unanswered';

export interface RushSession {
  client: string;
  clientPort: number;
  ipVersion: 4 | 6;
  outcome: RushOutcome;
  packets: number;
}

interface Pending {
  tsUs: number;
  order: number;
  frame: Uint8Array;
}

/** Writes the demo capture to `path` and returns what it holds, per session. */
export function writeRushDemo(path: string, seed = RUSH_DEMO_SEED): RushSession[] {
  const rng = new Xorshift32(seed);
  const spec = new FrameSpec();
  const scratch = new Uint8Array(frameBytesFor(1600));
  const pending: Pending[] = [];
  const sessions: RushSession[] = [];
  let order = 0;
  const emit = (tsUs: number) => pending.push({ tsUs, order: order++, frame: scratch.slice(0, writeFrame(scratch, spec)) });

  for (let c = 0; c < CLIENTS; c++) {
    const v6 = c % 5 === 4;
    const startUs = START_US + Math.floor(rng.next() * RUSH_US);
    const rttUs = 2_000 + rng.int(30_000);
    const clientPort = 32_768 + rng.int(28_000);
    const roll = rng.next();
    const outcome: RushOutcome = roll < 0.6 ? 'completed' : roll < 0.8 ? 'reset_by_server' : roll < 0.9 ? 'rejected' : 'syn_unanswered';
    const clientAddr = v6 ? [0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, (c >> 8) & 0xff, c & 0xff] : [198, 51, 100, 1 + (c % 250)];
    let packets = 0;
    let clientSeq = rng.nextU32();
    let serverSeq = rng.nextU32();

    const segment = (tsUs: number, fromClient: boolean, flags: number, payloadBytes: number) => {
      spec.ipVersion = v6 ? 6 : 4;
      spec.protocol = IPPROTO_TCP;
      spec.vlanId = 0;
      spec.srcAddr.fill(0).set(fromClient ? clientAddr : v6 ? VIP6 : VIP4);
      spec.dstAddr.fill(0).set(fromClient ? (v6 ? VIP6 : VIP4) : clientAddr);
      spec.srcMac = fromClient ? 0x02_00_00_00_00_01 : 0x02_00_00_00_00_02;
      spec.dstMac = fromClient ? 0x02_00_00_00_00_02 : 0x02_00_00_00_00_01;
      spec.srcPort = fromClient ? clientPort : 443;
      spec.dstPort = fromClient ? 443 : clientPort;
      spec.ttl = fromClient ? 57 : 64;
      spec.ipId = (spec.ipId + 1) & 0xffff;
      spec.tcpFlags = flags;
      spec.tcpSeq = fromClient ? clientSeq : serverSeq;
      spec.tcpAck = flags & TCP_ACK ? (fromClient ? serverSeq : clientSeq) : 0;
      spec.payloadBytes = payloadBytes;
      const used = payloadBytes + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
      if (fromClient) clientSeq = (clientSeq + used) >>> 0;
      else serverSeq = (serverSeq + used) >>> 0;
      emit(tsUs);
      packets++;
    };

    let t = startUs;
    if (outcome === 'syn_unanswered') {
      for (const retryUs of [0, 1_000_000, 3_000_000]) {
        clientSeq = (clientSeq - (retryUs === 0 ? 0 : 1)) >>> 0; // a retransmitted SYN reuses its sequence number
        segment(startUs + retryUs, true, TCP_SYN, 0);
      }
    } else if (outcome === 'rejected') {
      segment(t, true, TCP_SYN, 0);
      segment((t += rttUs), false, TCP_RST | TCP_ACK, 0);
    } else {
      segment(t, true, TCP_SYN, 0);
      segment((t += rttUs / 2), false, TCP_SYN | TCP_ACK, 0);
      segment((t += rttUs / 2), true, TCP_ACK, 0);
      segment((t += 1_000), true, TCP_PSH | TCP_ACK, 200 + rng.int(400));
      const thinkUs = 20_000 + rng.int(400_000);
      if (outcome === 'reset_by_server') {
        segment((t += thinkUs), false, TCP_RST | TCP_ACK, 0);
      } else {
        const responseSegments = 1 + rng.int(6);
        for (let s = 0; s < responseSegments; s++) segment((t += s === 0 ? thinkUs : 300), false, TCP_ACK | (s === responseSegments - 1 ? TCP_PSH : 0), v6 ? 1428 : 1448);
        segment((t += rttUs / 2), true, TCP_ACK, 0);
        segment((t += 5_000), true, TCP_FIN | TCP_ACK, 0);
        segment((t += rttUs / 2), false, TCP_FIN | TCP_ACK, 0);
        segment((t += rttUs / 2), true, TCP_ACK, 0);
      }
    }
    sessions.push({ client: v6 ? 'v6' : clientAddr.join('.'), clientPort, ipVersion: v6 ? 6 : 4, outcome, packets });

    if (!v6 && c % 4 === 0) {
      // The client's DNS lookup of the ticket site, just before it connects.
      for (const fromClient of [true, false]) {
        spec.ipVersion = 4;
        spec.protocol = IPPROTO_UDP;
        spec.srcAddr.fill(0).set(fromClient ? clientAddr : DNS4);
        spec.dstAddr.fill(0).set(fromClient ? DNS4 : clientAddr);
        spec.srcPort = fromClient ? clientPort + 1 : 53;
        spec.dstPort = fromClient ? 53 : clientPort + 1;
        spec.payloadBytes = fromClient ? 40 : 120;
        emit(startUs - (fromClient ? 3_000 : 1_000));
      }
    }
  }

  pending.sort((a, b) => a.tsUs - b.tsUs || a.order - b.order);
  const writer = new PcapWriter(path);
  for (const p of pending) writer.writePacket(p.frame, p.frame.length, Math.round(p.tsUs));
  writer.close();
  return sessions;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node rush-demo.js OUT.pcap\n');
    process.exit(1);
  }
  const sessions = writeRushDemo(out);
  const byOutcome: Record<string, number> = {};
  for (const s of sessions) byOutcome[s.outcome] = (byOutcome[s.outcome] ?? 0) + 1;
  process.stdout.write(`${out}: ${sessions.length} sessions ${JSON.stringify(byOutcome)}\n`);
}
