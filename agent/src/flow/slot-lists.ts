/**
 * Intrusive doubly linked lists of flow slots in preallocated Int32Arrays: each slot is in at most
 * one of `listCount` lists, and push/remove/move are O(1) with no allocation.
 *
 * The flow table keeps one list per timeout class ordered by last activity (so each list's head is
 * its next idle expiry) and one ordered by record start (so its head is the next active timeout):
 * expiry touches only flows that are due, with no timer per flow and no scan of the table.
 */
export class SlotLists {
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Which list a slot is on, -1 for none. */
  readonly listOf: Int8Array;
  private readonly heads: Int32Array;
  private readonly tails: Int32Array;

  constructor(capacity: number, listCount: number) {
    this.prev = new Int32Array(capacity).fill(-1);
    this.next = new Int32Array(capacity).fill(-1);
    this.listOf = new Int8Array(capacity).fill(-1);
    this.heads = new Int32Array(listCount).fill(-1);
    this.tails = new Int32Array(listCount).fill(-1);
  }

  /** The oldest slot of a list, or -1. */
  head(list: number): number {
    return this.heads[list]!;
  }

  pushTail(list: number, slot: number): void {
    const tail = this.tails[list]!;
    this.prev[slot] = tail;
    this.next[slot] = -1;
    if (tail === -1) this.heads[list] = slot;
    else this.next[tail] = slot;
    this.tails[list] = slot;
    this.listOf[slot] = list;
  }

  remove(slot: number): void {
    const list = this.listOf[slot]!;
    if (list < 0) return;
    const before = this.prev[slot]!;
    const after = this.next[slot]!;
    if (before === -1) this.heads[list] = after;
    else this.next[before] = after;
    if (after === -1) this.tails[list] = before;
    else this.prev[after] = before;
    this.prev[slot] = -1;
    this.next[slot] = -1;
    this.listOf[slot] = -1;
  }

  /** Moves a slot to the tail of `list` (the same or another list). */
  moveToTail(list: number, slot: number): void {
    if (this.listOf[slot] === list && this.tails[list] === slot) return;
    this.remove(slot);
    this.pushTail(list, slot);
  }
}
