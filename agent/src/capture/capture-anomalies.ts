/**
 * Things a capture file got wrong that did not stop reading. Counted in a Float64Array indexed by
 * these values (no string keys on the packet path); `toRecord()` names them for reports.
 */
export const CaptureAnomaly = {
  /** pcap usec >= 1e6 or nsec >= 1e9; the value is used as-is (it carries into the seconds). */
  INVALID_FRACTION: 0,
  /** Record longer than the file/interface snaplen (but within the 262144-byte limit); delivered whole. */
  CAPLEN_OVER_SNAPLEN: 1,
  /** Captured length above the original length; wireLen is raised to capLen (CapturedPacket contract). */
  CAPLEN_OVER_WIRELEN: 2,
  /** pcap link-type field announced an FCS; its bytes were removed from capLen/wireLen. */
  FCS_STRIPPED: 3,
  /** Packet timestamp earlier than the previous packet's (file order). */
  TIMESTAMP_BACKWARDS: 4,
  /** pcapng block of a type this reader does not know; skipped. */
  UNKNOWN_BLOCK: 5,
  /** pcapng packet naming an interface with no IDB in its section; skipped, not delivered. */
  PACKET_ON_UNKNOWN_INTERFACE: 6,
  /** pcapng section with more IDBs than the per-section table holds; the extra ones are ignored. */
  INTERFACE_LIMIT_EXCEEDED: 7,
  /** IDBs beyond the reported list's bound (still used for reading, just not listed). */
  INTERFACES_NOT_LISTED: 8,
  /** Simple Packet Block: no timestamp of its own, so it got the previous packet's. */
  SPB_TIMESTAMP_INHERITED: 9,
} as const;

export type CaptureAnomaly = (typeof CaptureAnomaly)[keyof typeof CaptureAnomaly];

const ANOMALY_NAMES: readonly string[] = [
  'invalid_fraction',
  'caplen_over_snaplen',
  'caplen_over_wirelen',
  'fcs_stripped',
  'timestamp_backwards',
  'unknown_block',
  'packet_on_unknown_interface',
  'interface_limit_exceeded',
  'interfaces_not_listed',
  'spb_timestamp_inherited',
];

export class CaptureAnomalyCounters {
  private readonly counts = new Float64Array(ANOMALY_NAMES.length);

  add(anomaly: CaptureAnomaly): void {
    this.counts[anomaly]! += 1;
  }

  /** Non-zero counts by snake_case name, e.g. { invalid_fraction: 2 }. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < ANOMALY_NAMES.length; i++) {
      const count = this.counts[i]!;
      if (count > 0) out[ANOMALY_NAMES[i]!] = count;
    }
    return out;
  }
}
