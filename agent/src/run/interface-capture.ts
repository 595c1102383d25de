import { setTimeout as sleep } from 'node:timers/promises';
import type { CapturedPacket } from '../capture/captured-packet.js';
import { readInterfaceCounters, type InterfaceCounterReading } from '../capture/interface-counters.js';
import { CAPTURE_NO_INTERFACE, CAPTURE_OPEN } from '../capture/live-capture-errors.js';
import { LiveCapture, type LiveCaptureInfo } from '../capture/live-capture.js';
import { INTERFACE_RETRY_MAX_MS, INTERFACE_RETRY_MIN_MS } from '../config/defaults.js';
import { AgentError } from '../core/errors.js';

export interface InterfaceCaptureOptions {
  filter: string;
  bufferBytes: number;
  snapLenBytes: number;
  /** At start: wait for an absent or down interface ('retry') or fail at once. Later outages always retry. */
  onMissingInterface: 'retry' | 'fail';
  /** Status lines (interface missing, down, resumed). */
  log: (line: string) => void;
}

type State = 'opening' | 'capturing' | 'reopening' | 'closed';

/**
 * One capture interface kept open for the life of the agent: opened with retries, and reopened by
 * itself when capture fails (the interface went down), counting each outage and its length so the
 * gap shows in the counters.
 */
export class InterfaceCapture {
  info: LiveCaptureInfo | null = null;
  countersAtStart: InterfaceCounterReading | null = null;
  /** Times capture stopped by itself (interface down), and the time spent without capture. */
  outages = 0;
  outageMs = 0;
  private state: State = 'opening';
  private capture: LiveCapture | null = null;
  private seenInClosedCaptures = 0;
  private downSince = 0;
  /** The BPF filter in force (a reload may change it). */
  private filter: string;

  constructor(
    readonly name: string,
    private readonly handler: (packet: CapturedPacket) => void,
    private readonly options: InterfaceCaptureOptions,
    private readonly signal: AbortSignal,
  ) {
    this.filter = options.filter;
  }

  get packetsSeen(): number {
    return this.seenInClosedCaptures + (this.capture?.packetsSeenTotal ?? 0);
  }

  /** Opens the interface (waiting for it as configured); false if stopped by a signal meanwhile. */
  async start(): Promise<boolean> {
    const opened = await this.openWithRetry(this.options.onMissingInterface === 'retry');
    if (opened) this.countersAtStart = readInterfaceCounters(this.name);
    return opened;
  }

  /**
   * Captures with a new BPF filter from now on (a configuration reload): the capture is reopened,
   * its count carried over. If libpcap refuses the filter, capture goes on with the old one and
   * the error is thrown. Frames arriving during the reopen (well under a millisecond) are missed.
   */
  refilter(filter: string): void {
    if (filter === this.filter) return;
    if (this.state !== 'capturing') {
      this.filter = filter; // reopening after an outage: it will use the new one
      return;
    }
    const previous = this.filter;
    this.state = 'reopening';
    this.seenInClosedCaptures += this.capture?.packetsSeenTotal ?? 0;
    this.capture?.close();
    this.capture = null;
    try {
      this.filter = filter;
      this.openOnce();
    } catch (error) {
      this.filter = previous;
      this.openOnce();
      throw error;
    }
  }

  /** The filter in force. */
  get currentFilter(): string {
    return this.filter;
  }

  close(): void {
    this.state = 'closed';
    this.capture?.close();
  }

  private async openWithRetry(retry: boolean): Promise<boolean> {
    let waitMs = INTERFACE_RETRY_MIN_MS;
    for (;;) {
      if (this.signal.aborted || this.state === 'closed') return false;
      try {
        this.openOnce();
        return true;
      } catch (error) {
        // Absent, or present but down (libpcap cannot activate it): worth waiting for.
        const waitable = error instanceof AgentError && (error.code === CAPTURE_NO_INTERFACE || error.code === CAPTURE_OPEN);
        if (!retry || !waitable) throw error;
        this.options.log(`tapflow: ${(error as Error).message}; retrying in ${waitMs / 1000} s`);
      }
      try {
        await sleep(waitMs, undefined, { signal: this.signal });
      } catch {
        return false;
      }
      waitMs = Math.min(waitMs * 2, INTERFACE_RETRY_MAX_MS);
    }
  }

  private openOnce(): void {
    const capture = new LiveCapture(this.handler);
    this.info = capture.open(this.name, {
      filter: this.filter,
      bufferBytes: this.options.bufferBytes,
      snapLenBytes: this.options.snapLenBytes,
      onFailure: (status) => this.onFailure(status),
    });
    this.capture = capture;
    this.state = 'capturing';
  }

  private onFailure(libuvStatus: number): void {
    if (this.state !== 'capturing') return;
    this.state = 'reopening';
    this.outages++;
    this.downSince = Date.now();
    this.seenInClosedCaptures += this.capture?.packetsSeenTotal ?? 0;
    this.capture = null;
    this.options.log(`tapflow: capture on ${this.name} stopped (libuv status ${libuvStatus}: interface down?); reopening`);
    this.openWithRetry(true).then(
      (resumed) => {
        if (!resumed) return;
        const gapMs = Date.now() - this.downSince;
        this.outageMs += gapMs;
        this.options.log(`tapflow: capture on ${this.name} resumed after ${(gapMs / 1000).toFixed(1)} s`);
      },
      (error: unknown) => this.options.log(`tapflow: cannot reopen ${this.name}: ${(error as Error).message}`),
    );
  }
}
