/**
 * 1:N packet sampling in front of the decoder (RFC 5475 §5.1): systematic count-based (every Nth
 * packet, starting with the first) or random n-out-of-N-style (each packet with probability 1/N,
 * xorshift32). Int32 state only, so select() allocates and boxes nothing.
 *
 * Counters are exported as sampled (not scaled); the interval is announced to collectors
 * (IPFIX/v9 options, v5 header), which scale them up.
 */
export class PacketSampler {
  readonly interval: number;
  readonly method: 'deterministic' | 'random';
  private countdown = 1;
  /** Select when the low 31 random bits fall below this: probability 1/interval. */
  private readonly threshold31: number;
  private state: number;

  constructor(interval: number, method: 'deterministic' | 'random', seed = (Math.random() * 0x7fff_ffff) | 1) {
    if (!Number.isInteger(interval) || interval < 1) throw new RangeError(`sampling interval must be an integer ≥ 1, got ${interval}`);
    this.interval = interval;
    this.method = method;
    this.threshold31 = Math.floor(0x8000_0000 / interval) | 0;
    this.state = seed | 0 || 1;
  }

  /** True when this packet is to be metered. */
  select(): boolean {
    if (this.interval === 1) return true;
    if (this.method === 'deterministic') {
      if (--this.countdown > 0) return false;
      this.countdown = this.interval;
      return true;
    }
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x | 0;
    return (x & 0x7fff_ffff) < this.threshold31;
  }
}
