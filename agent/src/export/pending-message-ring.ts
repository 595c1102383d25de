/**
 * A bounded FIFO of whole messages in one preallocated byte buffer, for the stream transport:
 * messages wait here until the socket has taken them, and are written straight from here (a
 * subarray, no copy), so a region is only reused once its message was removed with shift().
 *
 * Messages are contiguous and never split: when a message does not fit between the newest
 * message and the end of the buffer, the tail is skipped and it goes to offset 0 (if it fits
 * before the oldest message). The message count is bounded too (per-message offset, length and
 * record count live in preallocated Int32Arrays). push() returns false when there is no room;
 * the caller drops and counts; nothing ever grows. Idea: the "bip buffer" (Simon Cooke).
 *
 * Messages are addressed by a monotonically increasing index (first..end-1), so a caller can keep
 * a cursor such as "next message to write" that stays valid while older messages are removed.
 */

export class PendingMessageRing {
  /** The storage; read a message with view(index). */
  readonly bytes: Buffer;
  readonly capacityBytes: number;
  readonly maxMessages: number;
  private readonly offsets: Int32Array;
  private readonly lengths: Int32Array;
  private readonly records: Int32Array;
  private firstIndex = 0;
  private endIndex = 0;
  /** Bytes of the messages held (skipped tails not included). */
  private usedBytesNow = 0;
  private recordsHeld = 0;
  /** Where the byte after the newest message is; 0 when empty. */
  private writeOffset = 0;

  constructor(capacityBytes: number, maxMessages: number) {
    this.capacityBytes = capacityBytes;
    this.maxMessages = maxMessages;
    this.bytes = Buffer.alloc(capacityBytes);
    this.offsets = new Int32Array(maxMessages);
    this.lengths = new Int32Array(maxMessages);
    this.records = new Int32Array(maxMessages);
  }

  /** Index of the oldest message held (== end when empty). */
  get first(): number {
    return this.firstIndex;
  }

  /** One past the newest message's index. */
  get end(): number {
    return this.endIndex;
  }

  get count(): number {
    return this.endIndex - this.firstIndex;
  }

  get usedBytes(): number {
    return this.usedBytesNow;
  }

  /** Flow records inside the messages held. */
  get recordsPending(): number {
    return this.recordsHeld;
  }

  /** More than half the bytes or half the message slots are taken. */
  get moreThanHalfFull(): boolean {
    return this.usedBytesNow * 2 > this.capacityBytes || this.count * 2 > this.maxMessages;
  }

  /** Copy `message[0, length)` in as the newest message; false (nothing changed) when it does not fit. */
  push(message: Uint8Array, length: number, records: number): boolean {
    if (length <= 0 || length > this.capacityBytes || this.count === this.maxMessages) return false;
    const at = this.placeFor(length);
    if (at < 0) return false;
    this.bytes.set(length === message.length ? message : message.subarray(0, length), at);
    const slot = this.endIndex % this.maxMessages;
    this.offsets[slot] = at;
    this.lengths[slot] = length;
    this.records[slot] = records;
    this.endIndex++;
    this.usedBytesNow += length;
    this.recordsHeld += records;
    this.writeOffset = at + length;
    return true;
  }

  /** Remove the oldest message (its bytes may be overwritten from now on). */
  shift(): void {
    if (this.count === 0) return;
    const slot = this.firstIndex % this.maxMessages;
    this.usedBytesNow -= this.lengths[slot] ?? 0;
    this.recordsHeld -= this.records[slot] ?? 0;
    this.firstIndex++;
    if (this.count === 0) this.writeOffset = 0;
  }

  /** Remove everything. */
  clear(): void {
    this.firstIndex = this.endIndex;
    this.usedBytesNow = 0;
    this.recordsHeld = 0;
    this.writeOffset = 0;
  }

  offsetOf(index: number): number {
    return this.offsets[index % this.maxMessages] ?? 0;
  }

  lengthOf(index: number): number {
    return this.lengths[index % this.maxMessages] ?? 0;
  }

  recordsOf(index: number): number {
    return this.records[index % this.maxMessages] ?? 0;
  }

  /** The bytes of message `index` (first <= index < end), without copying. */
  view(index: number): Buffer {
    const offset = this.offsetOf(index);
    return this.bytes.subarray(offset, offset + this.lengthOf(index));
  }

  /** The offset where a message of `length` bytes fits, or -1. */
  private placeFor(length: number): number {
    if (this.count === 0) return 0;
    const head = this.offsetOf(this.firstIndex);
    const tail = this.writeOffset;
    if (tail > head) {
      // Not wrapped: free space is [tail, capacity) and then [0, head).
      if (tail + length <= this.capacityBytes) return tail;
      return length <= head ? 0 : -1;
    }
    // Wrapped (the newest message sits before the oldest): free space is [tail, head).
    return tail + length <= head ? tail : -1;
  }
}
