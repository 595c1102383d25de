/**
 * Failover between collectors (export.mode "failover"): records go to one lane at a time, the
 * first healthy one in configuration order; the choice is re-made at each flush (every expiry
 * tick), so a primary that comes back takes over again. When none is healthy the current lane
 * keeps the records (a TCP lane buffers them, bounded, until a connection returns).
 *
 * Every lane's builder is told the time at each flush, active or not, so its template refresh
 * clock stays current and a lane taking over sends templates when they are due.
 */
import type { FlowRecord, FlowRecordSink } from '../flow/flow-record.js';
import type { FlowMessageBuilder } from './flow-message-builder.js';

export interface FailoverLane {
  /** Where records for this lane go (the builder, or a splitter in front of it). */
  readonly sink: FlowRecordSink;
  readonly builder: FlowMessageBuilder;
  readonly healthy: () => boolean;
}

export class FailoverRouter implements FlowRecordSink {
  /** Index of the lane receiving records. */
  activeIndex = 0;
  /** How many times the active lane changed. */
  switches = 0;
  private active: FlowRecordSink;

  constructor(private readonly lanes: readonly FailoverLane[]) {
    if (lanes.length === 0) throw new RangeError('failover needs at least one lane');
    this.active = lanes[0]!.sink;
  }

  add(rec: FlowRecord): void {
    this.active.add(rec);
  }

  flush(nowMs: number): void {
    this.active.flush(nowMs);
    for (let i = 0; i < this.lanes.length; i++) if (i !== this.activeIndex) this.lanes[i]!.builder.observeTime(nowMs);
    this.choose();
  }

  /** Make the active lane the first healthy one (unchanged when none is). */
  choose(): void {
    let chosen = -1;
    for (let i = 0; i < this.lanes.length; i++) {
      if (this.lanes[i]!.healthy()) {
        chosen = i;
        break;
      }
    }
    if (chosen >= 0 && chosen !== this.activeIndex) {
      this.activeIndex = chosen;
      this.active = this.lanes[chosen]!.sink;
      this.switches++;
    }
  }
}
