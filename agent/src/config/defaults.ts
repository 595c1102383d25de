/**
 * Named defaults with their units, in one place. The schema (schema.ts) applies them; README and
 * probe-config/README.md document them (generated from the schema's descriptions).
 */

/** Flow-table capacity: ~190 bytes a flow preallocated, so 65,536 flows ≈ 12 MiB. */
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

/** Non-first IP fragments are attributed to their flow through a bounded map of first fragments. */
export const FRAGMENT_MAP_ENTRIES = 4_096;
export const FRAGMENT_TIMEOUT_MS = 30_000;

export const IPFIX_MTU_BYTES = 1_400;
export const IPFIX_OBSERVATION_DOMAIN_ID = 1;
/** Over UDP, templates are resent every N messages and every T ms, whichever comes first. */
export const TEMPLATE_REFRESH_MESSAGES = 20;
export const TEMPLATE_REFRESH_MS = 60_000;
