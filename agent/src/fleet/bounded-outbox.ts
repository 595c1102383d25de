/**
 * Messages waiting for the broker, bounded by count and by payload bytes. When either bound
 * would be passed, the OLDEST messages are dropped and counted: after an outage a dashboard wants
 * the latest health most. mqtt.js would otherwise queue offline publishes in an unbounded array.
 *
 * A ring of references (the payloads are small, a few per minute), so nothing is copied or
 * reallocated however long the broker is away.
 */
export interface OutboxMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

export class BoundedOutbox {
  readonly maxMessages: number;
  readonly maxBytes: number;
  private readonly slots: (OutboxMessage | undefined)[];
  private head = 0;
  private count = 0;
  private bytes = 0;
  /** Messages dropped to make room, since start. */
  dropped = 0;
  /** Messages ever accepted, since start. */
  accepted = 0;

  constructor(maxMessages: number, maxBytes: number) {
    if (!(maxMessages >= 1 && maxBytes >= 1)) throw new RangeError(`an outbox holds at least 1 message and 1 byte, got ${maxMessages} and ${maxBytes}`);
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
    this.slots = new Array<OutboxMessage | undefined>(maxMessages).fill(undefined);
  }

  get depth(): number {
    return this.count;
  }

  get depthBytes(): number {
    return this.bytes;
  }

  /** Queues a message at the tail; a message larger than maxBytes on its own is dropped. */
  push(message: OutboxMessage): void {
    this.accepted++;
    if (message.payload.length > this.maxBytes) {
      this.dropped++;
      return;
    }
    while (this.count === this.maxMessages || this.bytes + message.payload.length > this.maxBytes) this.dropOldest();
    this.slots[(this.head + this.count) % this.maxMessages] = message;
    this.count++;
    this.bytes += message.payload.length;
  }

  /** The oldest message, left in place until shift() (so a failed send keeps it). */
  peek(): OutboxMessage | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  /** Removes the oldest message (after it was sent). */
  shift(): OutboxMessage | undefined {
    if (this.count === 0) return undefined;
    const message = this.slots[this.head]!;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.maxMessages;
    this.count--;
    this.bytes -= message.payload.length;
    return message;
  }

  private dropOldest(): void {
    this.shift();
    this.dropped++;
  }
}
