/**
 * The exporter's "system uptime" for NetFlow v5 and v9, whose flow times are millisecond offsets
 * from the exporter's boot (uptime 0); each header carries the current uptime next to the Unix
 * time, and collectors recover absolute times as `unixSecs * 1000 - sysUptime + offset`.
 *
 * tapflow has no router boot: "boot" is the first time the builder learns (the meter flushes the
 * first packet's time before any record; failing that, the first record's start), floored to a
 * whole second. The clock is the builder's clock (latest record end or caller time, as for IPFIX),
 * not the wall clock, so replays carry the capture's times. The header time is the clock floored
 * to a whole second: v9 has no sub-second field, and with both ends on whole seconds
 * `unixSecs * 1000 - sysUptime` is exactly the boot, so every record time decodes to the ms. (A
 * record may therefore end up to 999 ms after the header's uptime; nfdump and Wireshark accept that.)
 *
 * Offsets are uint32 ms: they wrap after 2^32 ms (49.7 days) as on routers, and a record that
 * started before the boot (only if records precede the first caller time) is clamped to 0.
 *
 * The times live in Float64Array cells that the per-record code reads inline: passing large doubles
 * as function arguments would box them (a heap allocation per record).
 */
import type { FlowRecord } from '../flow/flow-record.js';

/** Cell with the boot time (ms since the epoch, whole second); NaN until known. */
export const BOOT_CELL = 0;
/** Cell with the clock (ms since the epoch); -Infinity until known. */
export const NOW_CELL = 1;

export class SysUptimeClock {
  readonly cells = new Float64Array([Number.NaN, Number.NEGATIVE_INFINITY]);

  /** The clock (ms since the epoch), -Infinity before anything is known. */
  get nowMs(): number {
    return this.cells[NOW_CELL] ?? Number.NEGATIVE_INFINITY;
  }

  /** Uptime 0 (ms since the epoch, a whole second), NaN before anything is known. */
  get bootMs(): number {
    return this.cells[BOOT_CELL] ?? Number.NaN;
  }

  /** The caller's time; true when the clock moved forward. Ignores NaN and earlier times. */
  observe(nowMs: number): boolean {
    const cells = this.cells;
    if (!(nowMs > (cells[NOW_CELL] ?? 0)) || !Number.isFinite(nowMs)) return false;
    if (Number.isNaN(cells[BOOT_CELL])) cells[BOOT_CELL] = Math.floor(nowMs / 1000) * 1000;
    cells[NOW_CELL] = nowMs;
    return true;
  }

  /** A record's times (a flow cannot end after "now"); true when the clock moved forward. */
  observeRecord(rec: FlowRecord): boolean {
    const cells = this.cells;
    if (Number.isNaN(cells[BOOT_CELL])) {
      const startMs = rec.startMs;
      if (Number.isFinite(startMs)) cells[BOOT_CELL] = Math.floor(startMs / 1000) * 1000;
    }
    const endMs = rec.endMs;
    if (!(endMs > (cells[NOW_CELL] ?? 0)) || !Number.isFinite(endMs)) return false;
    cells[NOW_CELL] = endMs;
    return true;
  }

  /**
   * Write the header's sysUptime (uint32 ms) and Unix seconds (uint32) at the given offsets; both
   * 0 while the clock is unknown.
   */
  writeHeaderTimes(view: DataView, uptimeOffset: number, unixSecondsOffset: number): void {
    const cells = this.cells;
    const nowMs = cells[NOW_CELL] ?? Number.NEGATIVE_INFINITY;
    const bootMs = cells[BOOT_CELL] ?? Number.NaN;
    if (!Number.isFinite(nowMs) || Number.isNaN(bootMs)) {
      view.setUint32(uptimeOffset, 0);
      view.setUint32(unixSecondsOffset, 0);
      return;
    }
    const headerSeconds = Math.floor(nowMs / 1000);
    const uptimeMs = headerSeconds * 1000 - bootMs;
    view.setUint32(uptimeOffset, uptimeMs > 0 ? uptimeMs % 4_294_967_296 : 0);
    view.setUint32(unixSecondsOffset, headerSeconds % 4_294_967_296);
  }
}
