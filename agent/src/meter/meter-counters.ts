import { DECODE_STATUS_COUNT, DECODE_STATUS_NAMES, isMalformed } from '../decode/decode-status.js';

/** Counters of the metering path (plain numbers and one Float64Array; snapshot() copies them). */
export class MeterCounters {
  /** Every packet handed to the meter. */
  packets = 0;
  /** IP octets of the packets that reached the flow table. */
  meteredOctets = 0;
  meteredPackets = 0;
  /** Packets packet sampling passed over (never decoded). */
  unsampledPackets = 0;
  /** Packets by DecodeStatus (index = status). */
  readonly byDecodeStatus = new Float64Array(DECODE_STATUS_COUNT);

  get malformedPackets(): number {
    let total = 0;
    for (let status = 0; status < DECODE_STATUS_COUNT; status++) if (isMalformed(status)) total += this.byDecodeStatus[status]!;
    return total;
  }

  /** Non-zero counts by snake_case status name, e.g. { truncated_ip: 2 }, for statuses matching `filter`. */
  statusCounts(filter: (status: number) => boolean): Record<string, number> {
    const out: Record<string, number> = {};
    for (let status = 0; status < DECODE_STATUS_COUNT; status++) {
      const count = this.byDecodeStatus[status]!;
      if (count > 0 && filter(status)) out[DECODE_STATUS_NAMES[status]!] = count;
    }
    return out;
  }
}
