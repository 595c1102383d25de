/**
 * pcapng options (draft-ietf-opsawg-pcapng §3.5): a list of {code u16, length u16, value padded to
 * 4 bytes}, ended by opt_endofopt or by the end of the block body.
 */
export const OPT_ENDOFOPT = 0;
export const IF_NAME = 2;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;

const OPTION_HEADER_BYTES = 4;

/** Reads one option at a time; called once per option, never per packet. */
export type OptionVisitor = (code: number, valueOffset: number, valueBytes: number) => void;

/**
 * Walks the options in view[from, end). Returns -1 when every option fits, else the offset of the
 * first option whose value runs past `end` (the block is corrupt).
 */
export function walkOptions(view: DataView, from: number, end: number, littleEndian: boolean, visit?: OptionVisitor): number {
  let pos = from;
  while (end - pos >= OPTION_HEADER_BYTES) {
    const code = view.getUint16(pos, littleEndian);
    const valueBytes = view.getUint16(pos + 2, littleEndian);
    if (code === OPT_ENDOFOPT) return -1;
    if (pos + OPTION_HEADER_BYTES + valueBytes > end) return pos;
    visit?.(code, pos + OPTION_HEADER_BYTES, valueBytes);
    pos += OPTION_HEADER_BYTES + ((valueBytes + 3) & ~3);
  }
  return -1;
}
