/**
 * Named defaults with their units, in one place. The schema (schema.ts) applies them; README and
 * probe-config/README.md document them (generated from the schema's descriptions).
 */

/** Flow-table capacity: ~430 bytes a flow preallocated (connection metrics and hint buffers included), so 65,536 flows ≈ 27 MiB. */
export const MAX_FLOWS = 65_536;

/** A flow that lives longer than this is exported in parts (flowEndReason 2, activeTimeout). */
export const ACTIVE_TIMEOUT_MS = 60_000;

/** Idle timeouts per protocol (flowEndReason 1, idleTimeout). */
export const IDLE_TIMEOUT_TCP_MS = 60_000;
export const IDLE_TIMEOUT_UDP_MS = 30_000;
export const IDLE_TIMEOUT_ICMP_MS = 15_000;
export const IDLE_TIMEOUT_OTHER_MS = 30_000;
/** After FIN in both directions, wait for the last ACK and retransmitted FINs (flowEndReason 3). */
export const TCP_FIN_TIMEOUT_MS = 5_000;
/** After an RST (flowEndReason 3). */
export const TCP_RST_TIMEOUT_MS = 2_000;

/** How often expiry runs, on the packet clock in replay and the wall clock live. */
export const EXPIRY_TICK_MS = 1_000;

/**
 * Application hints (DNS, HTTP, TLS) are read from the first payload packets of each flow: this
 * many per direction, each cut at HINT_SNAP_BYTES payload bytes (a ClientHello fits).
 */
export const HINT_PACKETS_PER_DIRECTION = 4;
export const HINT_SNAP_BYTES = 1_024;
/** Per flow slot, preallocated: the name (DNS query name / HTTP Host / TLS SNI) and the first ALPN protocol. */
export const HINT_NAME_BYTES = 64;
export const HINT_ALPN_BYTES = 16;
/** Parser walk caps: HTTP request bytes scanned for Host, DNS compression pointers and labels per name, TLS extensions. */
export const HINT_HTTP_MAX_SCAN_BYTES = 2_048;
export const HINT_DNS_MAX_POINTER_HOPS = 8;
export const HINT_DNS_MAX_LABELS = 128;
export const HINT_TLS_MAX_EXTENSIONS = 64;

/** Non-first IP fragments are attributed to their flow through a bounded map of first fragments. */
export const FRAGMENT_MAP_ENTRIES = 4_096;
export const FRAGMENT_TIMEOUT_MS = 30_000;

export const IPFIX_MTU_BYTES = 1_400;
export const IPFIX_OBSERVATION_DOMAIN_ID = 1;
/** tapflow's own IPFIX elements live under this PEN: RFC 5612's documentation PEN until an operator sets theirs. */
export const IPFIX_ENTERPRISE_NUMBER = 32_473;
/** Over UDP, templates are resent every N messages and every T ms, whichever comes first. */
export const TEMPLATE_REFRESH_MESSAGES = 20;
export const TEMPLATE_REFRESH_MS = 60_000;
/** Exporting-process statistics (IPFIX options data) are sent this often. */
export const STATISTICS_INTERVAL_MS = 60_000;

/** Per TCP/TLS collector, messages waiting for the connection: ~3,000 full messages. */
export const STREAM_PENDING_BYTES = 4 * 1024 * 1024;
/** Reconnection to a TCP/TLS collector: 1 s doubling to 30 s, jittered. */
export const RECONNECT_MIN_MS = 1_000;
export const RECONNECT_MAX_MS = 30_000;
export const CONNECT_TIMEOUT_MS = 5_000;

/** Bytes of each packet copied from the capture: headers plus room for application hints. */
export const SNAPLEN_BYTES = 256;
/**
 * Kernel capture buffer per interface (libpcap buffer size). npm cap fixes the kernel snaplen at
 * 65535, so the buffer holds whole frames: 64 MiB is ~45,000 full-size frames (measured: 8 MiB lost
 * 60 % of a 230k pps HTTP replay on a veth, 64 MiB 13 %).
 */
export const CAPTURE_BUFFER_BYTES = 64 * 1024 * 1024;
/** Slots of the ring between capture (main thread) and meter (worker); a power of two. */
export const RING_SLOTS = 32_768;
/** First and longest wait between attempts to open an interface that is absent or down. */
export const INTERFACE_RETRY_MIN_MS = 1_000;
export const INTERFACE_RETRY_MAX_MS = 30_000;

/** MQTT fleet channel: health every 30 s and a traffic summary every minute (cron, seconds field first). */
export const HEALTH_CRON = '*/30 * * * * *';
export const SUMMARY_CRON = '0 * * * * *';
/** Scheduled publications start up to this much later, at random, so a fleet does not publish in lockstep. */
export const SCHEDULE_JITTER_MS = 3_000;
/** systeminformation readings that take longer are reported as timed out (null). */
export const HEALTH_SAMPLE_TIMEOUT_MS = 5_000;
/** Entries in each top-N list, and the entries each Space-Saving sketch tracks (its accuracy). */
export const SUMMARY_TOP_N = 10;
export const SUMMARY_SKETCH_CAPACITY = 256;
/** Messages kept for the broker while it is unreachable (oldest dropped first): ~8 h of health at 30 s. */
export const MQTT_OUTBOX_MESSAGES = 1_000;
export const MQTT_OUTBOX_BYTES = 4 * 1024 * 1024;
export const MQTT_KEEPALIVE_S = 30;
export const MQTT_CONNECT_TIMEOUT_MS = 10_000;
/** Exported flow records kept on the probe for the flows.query command (~200 B each: 2 MB). */
export const RECENT_FLOWS = 10_000;
