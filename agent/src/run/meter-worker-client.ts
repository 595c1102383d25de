import type { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { CommandError } from '../fleet/fleet-commands.js';
import type { MeterWorkerError, MeterWorkerMessage, MeterWorkerReply, MeterWorkerReport, WorkerSummary } from './meter-worker-protocol.js';

/**
 * The main thread's side of the meter worker: requests (report, summary, flush) matched to their
 * answers by id, the final report of a stop, and the first failure. Once the worker has stopped,
 * requests are answered from its final report instead of waiting for a thread that is gone.
 */
export class MeterWorkerClient {
  /** The latest report (status lines print it without waiting). */
  latest: MeterWorkerReport | null = null;
  finalReport: MeterWorkerReport | null = null;
  failure: MeterWorkerError | null = null;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (reply: MeterWorkerReply) => void; reject: (error: Error) => void }>();
  private finalListeners: ((report: MeterWorkerReport | null) => void)[] = [];
  private exited = false;
  /** Told of the worker's failure the moment it arrives, so the agent stops at once rather than capture into a ring nobody reads. */
  onFailure: (failure: MeterWorkerError) => void = () => undefined;

  constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (reply: MeterWorkerReply) => this.onReply(reply));
    worker.on('exit', () => {
      this.exited = true;
      this.settleAll(new Error('the meter worker has stopped'));
    });
  }

  async report(): Promise<MeterWorkerReport> {
    if (this.finalReport) return this.finalReport;
    return (await this.request({ type: 'report', id: 0 })) as MeterWorkerReport;
  }

  /** The summary since the previous one; after the stop, the final report's. */
  async summary(fromMs: number, toMs: number): Promise<WorkerSummary | null> {
    if (this.finalReport) return this.finalReport.summary;
    const reply = await this.request({ type: 'summary', id: 0, fromMs, toMs });
    return reply.type === 'summary' ? reply.summary : null;
  }

  async flush(): Promise<number> {
    if (this.finalReport) return 0;
    const reply = await this.request({ type: 'flush', id: 0 });
    return reply.type === 'flushed' ? reply.records : 0;
  }

  /** Applies a reloaded configuration in the meter (timeouts, sampling, export); throws with the reason if the worker refused it. */
  async reconfigure(config: Config): Promise<void> {
    if (this.finalReport) throw new Error('the meter has stopped');
    const reply = await this.request({ type: 'reconfigure', id: 0, config });
    if (reply.type === 'reconfigured' && reply.error !== null) throw new Error(reply.error);
  }

  /** flows.query in the worker's recent-flow ring; a refused query throws the CommandError it names. */
  async queryFlows(args: Record<string, unknown>): Promise<unknown> {
    if (this.finalReport) throw new CommandError('unavailable', 'the meter has stopped');
    const reply = await this.request({ type: 'query', id: 0, args });
    if (reply.type !== 'queried') throw new CommandError('unavailable', 'the meter has stopped');
    if (reply.error !== null) throw new CommandError(reply.error.code, reply.error.message);
    return reply.result;
  }

  /** The worker failed (its own error reply, or the thread's 'error' event): answer everyone, tell onFailure once. */
  fail(failure: MeterWorkerError): void {
    if (this.failure !== null) return;
    this.failure = failure;
    this.settleAll(new Error(`the meter failed: ${failure.message}`));
    this.onFailure(failure);
  }

  /** Asks the worker to stop; resolves with its final report (null if it failed or exited without one). */
  stop(): Promise<MeterWorkerReport | null> {
    // A failed or exited worker sends no final report: do not wait for one.
    if (this.failure !== null || this.exited) return Promise.resolve(this.finalReport);
    const done = new Promise<MeterWorkerReport | null>((resolve) => this.finalListeners.push(resolve));
    this.worker.postMessage({ type: 'stop' } satisfies MeterWorkerMessage);
    return done;
  }

  private request(message: MeterWorkerMessage & { id: number }): Promise<MeterWorkerReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  private onReply(reply: MeterWorkerReply): void {
    if (reply.type === 'error') {
      this.fail(reply);
      return;
    }
    if (reply.type === 'report') {
      this.latest = reply;
      if (reply.final) {
        this.finalReport = reply;
        this.settleAll(null);
        return;
      }
    }
    const waiter = this.waiting.get(reply.id);
    if (waiter) {
      this.waiting.delete(reply.id);
      waiter.resolve(reply);
    }
  }

  /** Answers every open request from the final report (or fails them), and the stop's waiters. */
  private settleAll(error: Error | null): void {
    for (const [id, waiter] of this.waiting) {
      this.waiting.delete(id);
      if (this.finalReport) waiter.resolve(this.finalReport);
      else waiter.reject(error ?? new Error('the meter worker has stopped'));
    }
    const listeners = this.finalListeners;
    this.finalListeners = [];
    for (const listener of listeners) listener(this.finalReport);
  }
}
