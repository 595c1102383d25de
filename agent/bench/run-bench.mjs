#!/usr/bin/env node
// tapflow benchmarks (see agent/bench/README.md). `npm run bench` builds first, then runs this:
//   1. offline replay throughput, tapflow vs softflowd, on three generated captures;
//   2. heap bytes per packet on the decode and decode+flow paths after warm-up;
//   3. live capture on a veth at fixed replay rates, tapflow vs softflowd (root only).
// Options: --only throughput|heap|live|encode|flood|fuzz|soak, --encode-records N, --packets N (per throughput capture), --rounds N,
//          --heap-packets N (per measured window), --live-packets N, --live-rounds N,
//          --json FILE (raw results).
// Environment: TAPFLOW_BENCH_DIR caches the generated captures (default $TMPDIR/tapflow-bench).
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const repoRoot = new URL('../..', import.meta.url).pathname;
const distBench = join(repoRoot, 'agent/dist/bench');
if (!existsSync(join(distBench, 'bench-captures.js'))) {
  console.error('agent/dist/bench is missing: run `npm run build` (or `npm run bench`) first');
  process.exit(1);
}

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    packets: { type: 'string', default: process.env.TAPFLOW_BENCH_PACKETS ?? '2000000' },
    rounds: { type: 'string', default: '3' },
    'heap-packets': { type: 'string', default: '2000000' },
    'live-packets': { type: 'string', default: '300000' },
    'live-rounds': { type: 'string', default: '2' },
    'encode-records': { type: 'string', default: '2000000' },
    json: { type: 'string' },
  },
});
const only = values.only ?? 'all';
if (!['all', 'throughput', 'heap', 'live', 'fuzz', 'encode', 'flood', 'soak'].includes(only)) throw new Error(`--only must be throughput, heap, live, encode, flood, fuzz or soak, got ${only}`);

const { machineInfo, formatMachineInfo } = await import(join(distBench, 'machine-info.js'));
const { SCENARIOS, benchCapture, defaultCacheDir } = await import(join(distBench, 'bench-captures.js'));
const { formatTable } = await import(join(distBench, 'bench-format.js'));

/** Captures for the heap measurement: small enough to hold in memory, cycled. */
const HEAP_CAPTURE_PACKETS = 250_000;

const machine = machineInfo();
const results = { machine, startedAt: new Date().toISOString(), throughput: null, heap: null, live: null, encode: null, flood: null, fuzz: null, soak: null };
console.log(formatMachineInfo(machine));
const softflowdVersion = spawnSync('softflowd', ['-h'], { encoding: 'utf8' });
console.log(`softflowd: ${/version (\d+(?:\.\d+)*)/.exec(`${softflowdVersion.stdout}${softflowdVersion.stderr}`)?.[1] ?? 'not installed'}`);
console.log(`captures cached in ${defaultCacheDir()}\n`);

function captureFor(scenario, packets) {
  const started = performance.now();
  const capture = benchCapture(scenario, packets);
  if (!capture.cached) console.error(`generated ${capture.path} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return capture;
}

if (only === 'all' || only === 'throughput') {
  const { runReplayThroughput, formatThroughputTable } = await import(join(distBench, 'replay-throughput.bench.js'));
  const captures = SCENARIOS.map((scenario) => captureFor(scenario, Number(values.packets)));
  const runs = await runReplayThroughput(captures, {
    rounds: Number(values.rounds),
    repoRoot,
    onRun: (run) =>
      console.error(
        `round ${run.round} ${run.scenario.padEnd(19)} ${run.tool.padEnd(9)} ${(run.wallMs / 1000).toFixed(2)} s` +
          (run.error ? `  FAILED: ${run.error}` : ''),
      ),
  });
  results.throughput = { captures: captures.map((c) => ({ ...c.truth, scenario: c.scenario })), runs };
  console.log(`\nOffline replay throughput (whole process, median of ${values.rounds} alternating rounds; pps = packets / wall time)`);
  console.log(formatThroughputTable(captures, runs));
  console.log('tapflow: node agent/dist/src/cli/main.js replay FILE --out X.ipfix --summary-json (default config)');
  console.log('softflowd: -r FILE -n 127.0.0.1:PORT -v 10 -T full -6 -a, -m and -t timeouts equal to tapflow defaults\n');
}

if (only === 'all' || only === 'heap') {
  const script = join(distBench, 'heap-per-packet.bench.js');
  const rows = [];
  results.heap = [];
  for (const scenario of SCENARIOS) {
    const capture = captureFor(scenario, HEAP_CAPTURE_PACKETS);
    for (const target of ['decode', 'meter', 'export']) {
      const child = spawnSync(process.execPath, ['--expose-gc', script, '--file', capture.path, '--target', target, '--packets', values['heap-packets']], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      const line = child.stdout.trim().split('\n').at(-1) ?? '';
      if (child.status !== 0 || !line.startsWith('{')) {
        const why = `${child.stderr}`.trim().split('\n').filter((l) => /Error|error/.test(l))[0] ?? `exit ${child.status}`;
        console.error(`heap ${scenario} ${target} FAILED: ${why}`);
        rows.push([scenario, target, 'n/a', '', '', '', '']);
        continue;
      }
      const r = JSON.parse(line);
      results.heap.push({ scenario, ...r });
      rows.push([
        scenario,
        target === 'export' ? 'decode + flow + IPFIX export' : target === 'meter' ? 'decode + flow (FlowMeter)' : 'decodePacket',
        r.bytesPerPacket.toFixed(3),
        `${r.minBytesPerPacket.toFixed(3)}-${r.maxBytesPerPacket.toFixed(3)}`,
        String(r.gcCount),
        Math.round(r.packetsPerSecond).toLocaleString('en-US'),
        r.flowsCreated === null ? '' : r.flowsCreated.toLocaleString('en-US'),
      ]);
    }
  }
  console.log(`Heap allocation after warm-up (${HEAP_CAPTURE_PACKETS.toLocaleString('en-US')}-packet captures cycled in memory, ` +
    `3 windows of ${Number(values['heap-packets']).toLocaleString('en-US')} packets, no-op sink)`);
  console.log(formatTable(['scenario', 'path', 'bytes/packet', 'min-max', 'GCs', 'in-process pps', 'flows created'], rows));
}

if (only === 'all' || only === 'live') {
  const { runLiveCapture, LIVE_CAPTURE_SKIP } = await import(join(distBench, 'live-capture.bench.js'));
  const { formatLiveTable, rateLabel } = await import(join(distBench, 'live-capture-table.js'));
  if (LIVE_CAPTURE_SKIP) {
    console.log(`\nLive capture: ${LIVE_CAPTURE_SKIP}`);
  } else {
    const capture = captureFor('imix', Number(values['live-packets']));
    const started = performance.now();
    const runs = await runLiveCapture(capture, {
      rounds: Number(values['live-rounds']),
      repoRoot,
      onRun: (run) =>
        console.error(
          `round ${run.round} live ${rateLabel(run.ratePps).padEnd(8)} ${run.tool.padEnd(9)} sent ${run.sent ?? 'n/a'} seen ${run.seen ?? 'n/a'}` +
            (run.error ? `  FAILED: ${run.error}` : ''),
        ),
    });
    results.live = { capture: capture.truth, runs };
    console.log(`\nLive capture on a veth (imix, ${capture.truth.packets.toLocaleString('en-US')} packets replayed by tcpreplay in a namespace; ` +
      `median of ${values['live-rounds']} alternating rounds; ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    console.log(formatLiveTable(runs));
    console.log('drop % = 1 - seen / sent (tcpreplay\'s count). CPU = user+sys over the replay + 300 ms drain, % of one core.');
    console.log('tapflow: run -i IF --out X.ipfix --summary-json --quiet; if/socket drops = kernelDropped / unseenEstimate.');
    console.log('softflowd: -i IF -d -c CTL (same -m/-t as offline); seen = ps_recv - ps_drop, metered = processed + ignored (softflowctl statistics); if/socket = ps_ifdrop / ps_drop.\n');
  }
}

if (only === 'all' || only === 'encode') {
  const { runIpfixEncodeBench, formatIpfixEncodeTable } = await import(join(distBench, 'ipfix-encode.bench.js'));
  const encode = runIpfixEncodeBench(Number(values['encode-records']), Number(values.rounds));
  results.encode = encode;
  console.log(`\nIPFIX encoding (IpfixMessageBuilder, ${Number(values['encode-records']).toLocaleString('en-US')} records per round, median of ${values.rounds} alternating rounds, in-process)`);
  console.log(formatIpfixEncodeTable(encode));
}

if (only === 'all' || only === 'fuzz') {
  // Reader/decoder/hint-parser fuzzing for TAPFLOW_FUZZ_SECONDS (default 60), fresh seed unless TAPFLOW_FUZZ_SEED.
  const { fuzzBenchOptions, runFuzzBench, formatFuzzReport } = await import(join(distBench, 'fuzz.bench.js'));
  const options = fuzzBenchOptions([]);
  const report = await runFuzzBench(options);
  results.fuzz = report;
  console.log(`\nFuzzing: capture reader → decoder → flow table → IPFIX file, and hint parsers (${options.seconds} s budget)`);
  console.log(formatFuzzReport(report));
}

if (only === 'all' || only === 'flood') {
  // SYN flood streamed through `tapflow replay -`: pps, RSS after warm-up, evictions (TAPFLOW_FLOOD_PACKETS, default 5,000,000).
  const { floodBenchOptions, runFloodBench, formatFloodTable, FLOOD_TABLE_NOTES } = await import(join(distBench, 'flood.bench.js'));
  const options = floodBenchOptions([]);
  const runs = await runFloodBench(options, (run) => console.error(`flood round ${run.round} ${(run.wallMs / 1000).toFixed(1)} s${run.error ? `  FAILED: ${run.error}` : ''}`));
  results.flood = runs;
  console.log(`\nFlood: every packet a new flow, ${options.packets.toLocaleString('en-US')} packets streamed through replay (no files on disk)`);
  console.log(formatFloodTable(runs));
  console.log(`${FLOOD_TABLE_NOTES}\n`);
}

if (only === 'all' || only === 'soak') {
  // Live capture for TAPFLOW_SOAK_MINUTES (default 10) of looped replay: RSS/heap first vs last minute, health drift, export gaps.
  const { runSoak, formatSoakTable, soakOptionsFromEnv, SOAK_SKIP } = await import(join(distBench, 'soak.bench.js'));
  if (SOAK_SKIP) {
    console.log(`\nSoak: ${SOAK_SKIP}`);
  } else {
    const options = soakOptionsFromEnv();
    const soak = await runSoak(options, (line) => console.error(line));
    results.soak = soak;
    console.log(`\nSoak: tapflow run on a veth for ${options.minutes} min, demo rush looped at ${options.ratePps} pps, health every 10 s over MQTT, IPFIX over UDP`);
    console.log(formatSoakTable(soak));
  }
}

const { formatBenchSummary } = await import(join(distBench, 'bench-summary.js'));
console.log('\nSummary: tapflow against its reference in this same run (ratio > 1: tapflow higher)');
console.log(formatBenchSummary(results));

if (values.json) {
  writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nraw results: ${values.json}`);
}
