/**
 * Each flow is in exactly one timeout class; within a class every flow has the same idle timeout,
 * so a class list ordered by last activity is also ordered by deadline.
 */
export const TimeoutClass = {
  TCP: 0,
  TCP_FIN: 1,
  TCP_RST: 2,
  UDP: 3,
  ICMP: 4,
  OTHER: 5,
} as const;

export const TIMEOUT_CLASS_COUNT = 6;

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

/** The class of a new flow by protocol (TCP may move to TCP_FIN / TCP_RST later). */
export function timeoutClassOf(protocol: number): number {
  switch (protocol) {
    case PROTO_TCP:
      return TimeoutClass.TCP;
    case PROTO_UDP:
      return TimeoutClass.UDP;
    case PROTO_ICMP:
    case PROTO_ICMPV6:
      return TimeoutClass.ICMP;
    default:
      return TimeoutClass.OTHER;
  }
}
