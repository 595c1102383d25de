/**
 * Where finished IPFIX messages go: a UDP collector, an IPFIX file. One message builder may feed
 * several transports; each gets the same bytes.
 */

/** Counters of one transport (snake_case `_total`, as in docs/operations.md). */
export interface TransportStats {
  /** Messages accepted for sending (UDP) or written to the buffer (file). */
  messages_total: number;
  octets_total: number;
  /** Messages dropped because no send buffer was free (UDP backpressure limit). */
  dropped_total: number;
  /** Send or write errors (UDP: ECONNREFUSED and friends; the message is lost). */
  errors_total: number;
  /** Flow records inside the dropped messages (what a collector never sees). */
  dropped_records_total: number;
}

export interface MessageTransport {
  /**
   * Hand over one message: `message[0, length)`. The bytes are borrowed for the duration of the
   * call; a transport that keeps them copies them. Never throws for network or disk errors: they
   * are counted (errors_total, dropped_*) and named in `problem`.
   * `records`: how many flow records (data records, options data included) the message carries,
   * so a transport that drops it can say how many records were lost.
   */
  send(message: Uint8Array, length: number, records: number): void;
  /** Why messages were lost, the latest reason (e.g. "cannot resolve collector …", "connect ECONNREFUSED"); null if none. */
  readonly problem: string | null;
  /**
   * Whether the collector looks reachable, for failover: UDP has no recent send error (ICMP
   * unreachable) and resolved; TCP/TLS is connected; a file always is.
   */
  readonly healthy: boolean;
  /** True when sending should pause for a drain (more than half the send buffers in flight). */
  readonly backlogged: boolean;
  /**
   * Resolves once the first attempt to reach the collector has succeeded or failed (never
   * rejects), so failover can choose a healthy collector before the first record.
   */
  whenSettled(): Promise<void>;
  /** Resolves when nothing accepted so far is still in flight (replay backpressure). */
  drain(): Promise<void>;
  /** Drain, then release the socket or file. */
  close(): Promise<void>;
  readonly stats: Readonly<TransportStats>;
}

export function emptyTransportStats(): TransportStats {
  return { messages_total: 0, octets_total: 0, dropped_total: 0, errors_total: 0, dropped_records_total: 0 };
}
