/**
 * Delays between reconnect attempts: exponential from minMs, doubling up to maxMs, each delay
 * jittered by ±20% so many probes that lost the same collector do not reconnect in lockstep.
 * reset() after a connection that stayed up starts again from minMs. (Same idea as MQTT.js
 * reconnectPeriod and the "exponential backoff and jitter" advice; written from scratch.)
 */

/** Each delay is the nominal delay times a factor in [1 - JITTER, 1 + JITTER). */
export const RECONNECT_JITTER = 0.2;

export class ReconnectBackoff {
  readonly minMs: number;
  readonly maxMs: number;
  private readonly random: () => number;
  /** Nominal (unjittered) delay the next call returns. */
  private nominalMs: number;

  /** `random` returns [0, 1); tests inject a fixed one. */
  constructor(minMs: number, maxMs: number, random: () => number = Math.random) {
    this.minMs = Math.max(0, minMs);
    this.maxMs = Math.max(this.minMs, maxMs);
    this.random = random;
    this.nominalMs = this.minMs;
  }

  /** The delay before the next attempt; the one after that doubles (bounded by maxMs). */
  nextDelayMs(): number {
    const nominalMs = this.nominalMs;
    this.nominalMs = Math.min(this.maxMs, nominalMs * 2);
    const factor = 1 - RECONNECT_JITTER + 2 * RECONNECT_JITTER * this.random();
    return Math.round(nominalMs * factor);
  }

  /** The nominal delay the next call to nextDelayMs() is based on. */
  get upcomingNominalMs(): number {
    return this.nominalMs;
  }

  reset(): void {
    this.nominalMs = this.minMs;
  }
}
