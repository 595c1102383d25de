/**
 * Wall-clock microseconds for live packets, read from the monotonic clock.
 *
 * npm `cap` hands us no kernel timestamp, so we stamp each packet ourselves. Date.now() has only
 * millisecond resolution and can step backwards (NTP, manual set); performance.now() is monotonic
 * with sub-microsecond resolution. We anchor it once to the wall clock (performance.timeOrigin, the
 * wall time in ms when the process started) and add elapsed time: monotonic, µs-resolved, no BigInt
 * and no allocation per call.
 *
 * Precision: a float64 near 1.8e15 µs has a step of 0.25 µs, so values are quarter-µs exact.
 * Accuracy: the stamp is taken when JS runs the packet callback, not when the NIC saw the frame, so
 * it lags by the event-loop delay of a burst (cap drains the kernel buffer in one go). Over days the
 * monotonic clock and an NTP-disciplined wall clock drift apart; clockDriftUs() measures that, off
 * the packet path.
 */
const PROCESS_ANCHOR_US = performance.timeOrigin * 1000;

/** Microseconds since the Unix epoch (float64, may carry a fraction); never decreases. */
export function nowUs(): number {
  return PROCESS_ANCHOR_US + performance.now() * 1000;
}

/** Wall clock minus nowUs(), in µs (positive: the wall clock is ahead). For health reports. */
export function clockDriftUs(): number {
  return Date.now() * 1000 - nowUs();
}

/** What a live source needs from a clock; tests inject a fake. */
export interface MicrosecondClock {
  nowUs(): number;
}

/** The process clock above as an injectable object. */
export const ANCHORED_CLOCK: MicrosecondClock = { nowUs };
