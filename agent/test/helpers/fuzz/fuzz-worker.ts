import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { generateFuzzCase } from './fuzz-case-generator.js';
import type { FuzzCaseReport } from './fuzz-report.js';
import { loadFuzzSeeds } from './fuzz-seeds.js';
import { runFuzzCase } from './run-fuzz-case.js';

/**
 * Worker thread of a fuzz campaign (started by fuzz-campaign.ts): runs cases [from, to) in order
 * and posts one FuzzCaseReport per case, so the main thread's watchdog knows which case is running
 * when the worker stops answering.
 */
export interface FuzzWorkerData {
  seed: number;
  from: number;
  to: number;
  tempDir: string;
}

export type FuzzWorkerMessage = { kind: 'ready'; seedFiles: number } | { kind: 'case'; report: FuzzCaseReport } | { kind: 'done' };

/** Read buffers from the reader's minimum to a roomy one: small ones split records over reads and grow. */
const READ_BUFFER_BYTES = [64, 200, 4096, 65_536];
/** Failing cases larger than this are reported without their bytes (rebuild them from seed and index). */
const MAX_HEX_BYTES = 64 * 1024;

const data = workerData as FuzzWorkerData;
const port = parentPort!;
const seeds = loadFuzzSeeds();
port.postMessage({ kind: 'ready', seedFiles: seeds.length } satisfies FuzzWorkerMessage);
const capturePath = join(data.tempDir, 'case.pcap');
const ipfixPath = join(data.tempDir, 'case.ipfix');
for (let index = data.from; index < data.to; index++) {
  const fuzzCase = generateFuzzCase(data.seed, index, seeds);
  const result = await runFuzzCase(fuzzCase.bytes, {
    capturePath,
    ipfixPath,
    readBufferBytes: READ_BUFFER_BYTES[index % READ_BUFFER_BYTES.length]!,
    pauseEvery: index % 3 === 0 ? 1 + (index % 7) : 0,
  });
  const failed = result.problems.length > 0;
  const report: FuzzCaseReport = {
    index,
    source: fuzzCase.source,
    mutations: fuzzCase.mutations,
    fileBytes: fuzzCase.bytes.length,
    result,
    failingHex: failed && fuzzCase.bytes.length <= MAX_HEX_BYTES ? Buffer.from(fuzzCase.bytes).toString('hex') : null,
  };
  port.postMessage({ kind: 'case', report } satisfies FuzzWorkerMessage);
}
port.postMessage({ kind: 'done' } satisfies FuzzWorkerMessage);
