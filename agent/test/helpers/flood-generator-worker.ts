import { parentPort, workerData } from 'node:worker_threads';
import { newFlowPerPacket } from './traffic-generator.js';

/**
 * Worker thread of flood-replay.ts: writes the new-flow-per-packet capture into `path` (a FIFO the
 * main thread reads) with the generator's blocking writes, so a full pipe holds the generator back
 * without blocking the main thread. Posts the generator's totals when done.
 */
const { path, packets, seed } = workerData as { path: string; packets: number; seed: number };
const truth = newFlowPerPacket({ path, packets, seed, truth: 'totals' });
parentPort!.postMessage(truth);
