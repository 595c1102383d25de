import { execFile, spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Ground truth from tshark (Wireshark's wiretap: an independent pcap/pcapng reader).
 * One row per packet record; pcapng records that are not packets (custom blocks shown as frames)
 * have no encapsulation and are dropped.
 */
export interface TsharkPacket {
  capLen: number;
  wireLen: number;
  /** null when tshark has no timestamp (Simple Packet Blocks). */
  tsUs: number | null;
  /** null for classic pcap (tshark prints none). */
  interfaceId: number | null;
  /** Wireshark's WTAP_ENCAP value (not a LINKTYPE). */
  encap: number;
}

export interface TsharkRead {
  packets: TsharkPacket[];
  /** tshark's complaint when it stopped before the end (or rejected the file), else null. */
  error: string | null;
}

export const TSHARK_MISSING = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0 ? null : 'tshark not installed: skipped';

const FIELDS = ['frame.cap_len', 'frame.len', 'frame.time_epoch', 'frame.interface_id', 'frame.encap_type'];

/**
 * tshark prints `secs.nsecs` with nsecs as `%09u`, so an out-of-range fraction shows as more than 9
 * digits (e.g. `.1000000000`); reading the digits as an integer count of nanoseconds handles both.
 */
export function parseEpochUs(text: string): number | null {
  if (text === '') return null;
  const match = /^(-?)(\d+)\.(\d+)$/.exec(text);
  if (!match) throw new Error(`unexpected tshark time ${text}`);
  const [, sign, secs, digits] = match as unknown as [string, string, string, string];
  const ns = digits.length >= 9 ? Number(digits) : Number(digits.padEnd(9, '0'));
  const us = Number(secs) * 1e6 + ns / 1000;
  return sign === '-' ? -us : us;
}

export function tsharkRead(file: string): Promise<TsharkRead> {
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'separator=\t', ...FIELDS.flatMap((field) => ['-e', field])];
  return new Promise((resolve, reject) => {
    const child = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', () => {
      const packets: TsharkPacket[] = [];
      for (const line of Buffer.concat(out).toString('utf8').split('\n')) {
        if (line === '') continue;
        const [capLen = '', wireLen = '', time = '', interfaceId = '', encap = ''] = line.split('\t');
        if (encap === '') continue; // not a packet record
        packets.push({
          capLen: Number(capLen),
          wireLen: Number(wireLen),
          tsUs: parseEpochUs(time),
          interfaceId: interfaceId === '' ? null : Number(interfaceId),
          encap: Number(encap),
        });
      }
      // Keep tshark's own complaint ("tshark: The file ... (reason)"), not dissector warnings.
      const stderr = Buffer.concat(err).toString('utf8');
      const at = stderr.search(/^tshark: /m);
      const complaint = at < 0 ? '' : stderr.slice(at).replace(/\s+/g, ' ').trim();
      resolve({ packets, error: complaint === '' ? null : complaint });
    });
  });
}

async function runPool(jobs: (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) }, worker));
}

/** Runs tshark over many files, a few at a time (its start-up, ~0.2 s, dominates small files). */
export async function tsharkReadAll(files: readonly string[]): Promise<Map<string, TsharkRead>> {
  const results = new Map<string, TsharkRead>();
  await runPool(files.map((file) => async () => void results.set(file, await tsharkRead(file))));
  return results;
}

/**
 * The same answers as tsharkReadAll, faster for many small classic pcaps: tshark's start-up costs
 * ~0.2 s per file, so the classic pcap files capinfos reads without error are concatenated by
 * `mergecap -a` (wiretap re-frames each record into pcapng: lengths and times unchanged) into a
 * few group files, each read by one tshark run and split back per file by capinfos' packet counts.
 * pcapng files (interface ids, sections) and files with errors are read one by one.
 */
export async function tsharkReadMany(files: readonly string[], scratchDir: string): Promise<Map<string, TsharkRead>> {
  const classic = files.filter((file) => file.endsWith('.pcap'));
  const counts = new Map<string, number>();
  if (classic.length > 0) {
    // Table mode: one "file<TAB>count" line per file; a file it had trouble with is also named on
    // stderr (sometimes with a count anyway), and is then read on its own.
    const { stdout, stderr } = await execFileAsync('capinfos', ['-T', '-r', '-c', ...classic], { maxBuffer: 16 << 20 }).catch(
      (error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr ?? '' }),
    );
    for (const line of stdout.split('\n')) {
      const [file = '', count = ''] = line.split('\t');
      if (file !== '' && /^\d+$/.test(count) && !stderr.includes(`"${file}"`)) counts.set(file, Number(count));
    }
  }
  const merged = classic.filter((file) => counts.has(file));
  const single = files.filter((file) => !counts.has(file));
  const groupCount = Math.max(2, availableParallelism());
  const groups: string[][] = Array.from({ length: groupCount }, () => []);
  merged.forEach((file, i) => groups[i % groupCount]!.push(file));

  const results = new Map<string, TsharkRead>();
  const jobs = single.map((file) => async () => void results.set(file, await tsharkRead(file)));
  groups.forEach((group, g) => {
    if (group.length === 0) return;
    jobs.unshift(async () => {
      const groupFile = join(scratchDir, `tshark-group-${g}.pcapng`);
      await execFileAsync('mergecap', ['-a', '-F', 'pcapng', '-w', groupFile, ...group]);
      const read = await tsharkRead(groupFile);
      const expected = group.reduce((sum, file) => sum + counts.get(file)!, 0);
      if (read.error !== null || read.packets.length !== expected) {
        throw new Error(`merged group ${g}: tshark read ${read.packets.length} of ${expected} packets (${read.error ?? 'no error'})`);
      }
      let at = 0;
      for (const file of group) {
        const count = counts.get(file)!;
        results.set(file, { packets: read.packets.slice(at, at + count).map((p) => ({ ...p, interfaceId: null })), error: null });
        at += count;
      }
    });
  });
  await runPool(jobs);
  return results;
}
