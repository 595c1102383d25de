import type { FlowRecord, FlowRecordSink } from './flow-record.js';

/**
 * A sink whose target can be replaced while the flow table keeps its reference: a configuration
 * reload builds a new export pipeline and points the meter's records at it without touching a
 * flow. One extra call per record.
 */
export class SwappableSink implements FlowRecordSink {
  target: FlowRecordSink;

  constructor(target: FlowRecordSink) {
    this.target = target;
  }

  add(rec: FlowRecord): void {
    this.target.add(rec);
  }

  flush(nowMs: number): void {
    this.target.flush(nowMs);
  }
}
