/**
 * The flows.query paging cursor: opaque to clients, it names a position in one ring's absolute
 * sequence numbers, so records exported between two pages neither shift nor repeat them.
 *   ringId        which ring issued it (another ring's cursor is refused, not misread)
 *   before        the next page holds records with a smaller sequence number (older ones)
 *   oldestAtIssue the ring's oldest sequence number when the page was served: what is older than
 *                 it by the next page was overwritten in between, and is reported as such
 * Text form: `<ringId>.<before base 36>.<oldestAtIssue base 36>`.
 */
export interface FlowQueryCursor {
  ringId: string;
  before: number;
  oldestAtIssue: number;
}

const CURSOR = /^([0-9a-f]{8})\.([0-9a-z]{1,11})\.([0-9a-z]{1,11})$/;

export function encodeCursor(cursor: FlowQueryCursor): string {
  return `${cursor.ringId}.${cursor.before.toString(36)}.${cursor.oldestAtIssue.toString(36)}`;
}

/** The cursor `text` encodes, or null when it is not one this module wrote. */
export function decodeCursor(text: string): FlowQueryCursor | null {
  const match = CURSOR.exec(text);
  if (match === null) return null;
  const before = parseInt(match[2]!, 36);
  const oldestAtIssue = parseInt(match[3]!, 36);
  if (!Number.isSafeInteger(before) || !Number.isSafeInteger(oldestAtIssue) || oldestAtIssue > before) return null;
  return { ringId: match[1]!, before, oldestAtIssue };
}
