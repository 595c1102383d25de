/**
 * pmacct's nfacctd (NetFlow/IPFIX collector) as an independent collector for tests.
 *
 * What was learned (Debian pmacct 1.7.7, /usr/sbin/nfacctd; keys from CONFIG-KEYS in
 * /usr/share/doc/pmacct):
 * - `nfacctd -f FILE` stays in the foreground unless `daemonize: true`; with no `syslog`/`logfile` it
 *   logs to stderr. No pidfile unless `pidfile` is set. It runs a core process plus one forked
 *   process per plugin, and the print plugin forks a short-lived writer per purge: those inherit
 *   stdout/stderr, so "everything is written" is the child's 'close' event (all pipe holders gone),
 *   not 'exit'.
 * - Ready: the core logs "waiting for NetFlow/IPFIX data on 127.0.0.1:PORT" once bound, the print
 *   plugin "JSON: setting object handlers." once its cache is allocated. A port already taken makes
 *   nfacctd log an error and exit, so start-up retries on another port.
 * - Stop: SIGINT makes the core signal its plugins; the print plugin purges its cache one last time
 *   ("Purging cache - START (PID: <plugin pid>)") and the core logs "OK, Exiting ..." about 2 s
 *   later. SIGTERM does NOT stop the 1.7.7 core (it kept running for minutes; the plugin may die
 *   and log "Core process *seems* gone"). Datagrams still in the socket or in the core → plugin
 *   queue when the signal lands are lost, so stop() first waits for the kernel receive queue to
 *   drain (/proc/net/udp) and then for a whole periodic purge to start and end after that.
 * - A background job of a non-interactive shell ignores SIGINT, and nfacctd keeps that disposition:
 *   run by hand as `cmd &`, it does not stop on SIGINT (spawned from Node it does).
 * - Print plugin: `print_output_file` is OVERWRITTEN at every purge unless
 *   `print_output_file_append: true`; the cache is emptied at each purge, so with a short
 *   `print_refresh_time` one 5-tuple can appear on several lines, which are summed. JSON lines look
 *   like {"event_type": "purge", "ip_src": ..., "ip_dst": ..., "port_src": N, "port_dst": N,
 *   "ip_proto": "6", "packets": N, "bytes": N}; `print_num_protos: true` keeps ip_proto numeric.
 * - `print_cache_entries` is the number of hash buckets (~10 entries each, default 16411 ≈ 150K
 *   aggregates per refresh interval, ~66 MB). A full cache logs "Finished cache entries" and loses
 *   data; a full core → plugin queue logs "missing data detected". Both are reported by problems().
 * - Timestamps: without `print_history` the print plugin does not bin by time, and old pcap times
 *   drop nothing (checked with `nfacctd_time_new: false` too: every packet arrives). With
 *   `print_history` the bins follow the records' flowStart (2022 for a 2022 capture);
 *   `nfacctd_time_new: true` stamps arrival time instead, which keeps the helper independent of
 *   the capture's age.
 * - `nfacctd_renormalize: false` (the default, stated explicitly): counters are taken as sent, not
 *   multiplied by an announced sampling interval.
 * - `nfacctd_disable_checks: false` turns ON the basic checks (sequence numbers per observation
 *   domain, version): a gap logs "expecting flow '...' but received '...'", reported by problems().
 * - `nfacctd_pipe_size` sets SO_RCVBUF of the listening socket (capped by net.core.rmem_max).
 * - ICMP: port_dst shows type·256+code and port_src 0 (tapflow sends that in destinationTransportPort
 *   as well as in icmpTypeCodeIPv4/IPv6), which is how tshark-truth keys ICMP.
 * - Renormalisation (checked by pmacct-collector.test.ts): the interval of tapflow's IPFIX sampling
 *   options record and of NetFlow v9 options 34/35 is applied exactly.
 * - Not used here but found: the `tcpflags` primitive is 0 over IPFIX because nfacctd reads
 *   tcpControlBits only when it is 1 byte long, and tapflow sends the 2-byte RFC 7125 element; over
 *   NetFlow v9 (1-byte TCP_FLAGS) the flags arrive. RFC 5103 reverse elements are ignored: a biflow
 *   record counts for its forward direction only.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort } from './collectors.js';
import { flowKey, type FlowTotals } from './tshark-truth.js';
import { udpReceiveQueueBytes } from './collectors.js';

export const NFACCTD_MISSING = 'pmacct nfacctd not installed (apt-get install pmacct): skipped';

const NFACCTD_CANDIDATES = ['/usr/sbin/nfacctd', '/usr/local/sbin/nfacctd', '/usr/bin/nfacctd', '/usr/local/bin/nfacctd'];

/** nfacctd's path (PATH first, then the sbin directories a non-root PATH may lack), or null. */
export function nfacctdPath(): string | null {
  const onPath = (process.env.PATH ?? '').split(':').filter((dir) => dir !== '').map((dir) => join(dir, 'nfacctd'));
  for (const candidate of [...onPath, ...NFACCTD_CANDIDATES]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Log lines that mean nfacctd lost or doubted data. */
const PROBLEM_PATTERNS = [/missing data detected/i, /Finished cache entries/i, /expecting flow/i, /\bERROR\b/, /\bWARN\b/];

export interface NfacctdOptions {
  /** Seconds between print purges (print_refresh_time); default 1. */
  refreshSeconds?: number;
  /** print_cache_entries (hash buckets, a prime); default 16411. */
  cacheEntries?: number;
  /** nfacctd_renormalize; default false. */
  renormalize?: boolean;
}

export interface NfacctdHandle {
  port: number;
  dir: string;
  /** The print plugin's JSON-lines file (complete after stop()). */
  outputFile: string;
  /** Drains the socket, waits one purge, then SIGINT and waits until every nfacctd process is gone. */
  stop(): Promise<void>;
  /** stderr/stdout so far. */
  log(): string;
  /** Log lines that report lost or suspicious data (see PROBLEM_PATTERNS). */
  problems(): string[];
  remove(): void;
}

/** The generated configuration (one key per line, `key: value`). */
export function nfacctdConfig(port: number, outputFile: string, options: NfacctdOptions = {}): string {
  const lines = [
    'daemonize: false',
    'nfacctd_ip: 127.0.0.1',
    `nfacctd_port: ${port}`,
    'nfacctd_pipe_size: 4194304',
    'nfacctd_time_new: true',
    `nfacctd_renormalize: ${options.renormalize === true}`,
    'nfacctd_disable_checks: false',
    'plugins: print[flows]',
    'aggregate[flows]: src_host, dst_host, src_port, dst_port, proto',
    'print_output[flows]: json',
    `print_output_file[flows]: ${outputFile}`,
    'print_output_file_append[flows]: true',
    `print_refresh_time[flows]: ${options.refreshSeconds ?? 1}`,
    `print_cache_entries[flows]: ${options.cacheEntries ?? 16411}`,
    'print_num_protos[flows]: true',
  ];
  return `${lines.join('\n')}\n`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PURGE_END = /Purging cache - END/g;
const countPurges = (text: string) => text.match(PURGE_END)?.length ?? 0;

async function startOnce(binary: string, dir: string, options: NfacctdOptions): Promise<NfacctdHandle | null> {
  const port = await freeUdpPort();
  const outputFile = join(dir, 'flows.json');
  const configFile = join(dir, 'nfacctd.conf');
  writeFileSync(configFile, nfacctdConfig(port, outputFile, options));
  const child = spawn(binary, ['-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close': the core, the plugin and every purge writer have closed the inherited pipes.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const deadline = Date.now() + 5_000;
  while (!output.includes(`waiting for NetFlow/IPFIX data on 127.0.0.1:${port}`) || !output.includes('setting object handlers')) {
    if (child.exitCode !== null) {
      await closed;
      if (/Address already in use|bind\(\)/i.test(output)) return null; // the port was taken meanwhile
      throw new Error(`nfacctd exited at start-up (code ${child.exitCode}):\n${output}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nfacctd did not start on port ${port}:\n${output}`);
    }
    await sleep(20);
  }
  let stopped = false;
  return {
    port,
    dir,
    outputFile,
    log: () => output,
    problems: () => output.split('\n').filter((line) => PROBLEM_PATTERNS.some((pattern) => pattern.test(line))),
    remove: () => rmSync(dir, { recursive: true, force: true }),
    async stop() {
      if (stopped) return;
      stopped = true;
      const drainDeadline = Date.now() + 5_000;
      while (udpReceiveQueueBytes(port) > 0 && Date.now() < drainDeadline) await sleep(10);
      // Two purge ends after the drain: the second purge started after it, and the plugin reads its
      // queue between purges, so the queue is empty by then.
      const purgesAtDrain = countPurges(output);
      const purgeDeadline = Date.now() + 2_000 + 2_000 * (options.refreshSeconds ?? 1);
      while (countPurges(output) < purgesAtDrain + 2 && Date.now() < purgeDeadline && child.exitCode === null) await sleep(20);
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Starts nfacctd on a free UDP port of 127.0.0.1 with a generated config in a temporary directory. */
export async function startNfacctd(options: NfacctdOptions = {}): Promise<NfacctdHandle> {
  const binary = nfacctdPath();
  if (binary === null) throw new Error(NFACCTD_MISSING);
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'tapflow-nfacctd-'));
    const handle = await startOnce(binary, dir, options);
    if (handle !== null) return handle;
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error('nfacctd: no free UDP port after 3 attempts');
}

export interface NfacctdFlow {
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  packets: number;
  bytes: number;
}

/** The print plugin's JSON lines (print_output: json), one aggregate per line; purge markers skipped. */
export function parseNfacctdJson(text: string): NfacctdFlow[] {
  const flows: NfacctdFlow[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const row = JSON.parse(line) as Record<string, string | number | undefined>;
    if (row.event_type !== 'purge') continue;
    flows.push({
      srcAddr: String(row.ip_src ?? ''),
      dstAddr: String(row.ip_dst ?? ''),
      srcPort: Number(row.port_src ?? 0),
      dstPort: Number(row.port_dst ?? 0),
      protocol: Number(row.ip_proto),
      packets: Number(row.packets),
      bytes: Number(row.bytes),
    });
  }
  return flows;
}

/** Every aggregate nfacctd wrote (an absent file means it received nothing). */
export function nfacctdFlows(handle: Pick<NfacctdHandle, 'outputFile'>): NfacctdFlow[] {
  return existsSync(handle.outputFile) ? parseNfacctdJson(readFileSync(handle.outputFile, 'utf8')) : [];
}

/** Per-5-tuple totals keyed like tshark-truth's flowKey (ICMP: port 0 and type·256+code). */
export function nfacctdFlowTotals(flows: readonly NfacctdFlow[]): FlowTotals {
  const totals: FlowTotals = new Map();
  for (const flow of flows) {
    const key = flowKey(flow.srcAddr.includes(':') ? 6 : 4, flow.srcAddr, flow.dstAddr, flow.protocol, flow.srcPort, flow.dstPort);
    const entry = totals.get(key) ?? { packets: 0, octets: 0 };
    entry.packets += flow.packets;
    entry.octets += flow.bytes;
    totals.set(key, entry);
  }
  return totals;
}
