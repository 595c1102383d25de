/**
 * IPFIX sets and NetFlow v9 FlowSets end on a 4-byte boundary (RFC 7011 §3.3.1, RFC 3954 §5.3):
 * the zero bytes a set of `lengthBytes` needs.
 */
export function paddingTo4(lengthBytes: number): number {
  return (4 - (lengthBytes & 3)) & 3;
}
