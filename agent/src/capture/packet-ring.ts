/**
 * Bounded single-producer / single-consumer packet ring in a SharedArrayBuffer: the live capture
 * (main thread) pushes, the flow meter (worker thread) drains. When the ring is full the packet is
 * dropped and counted; nothing ever queues without bound, and neither side allocates per packet.
 *
 * Memory ordering (the classic Lamport SPSC queue; see also the Linux kernel's
 * Documentation/core-api/circular-buffers.rst for the same idea):
 * - push writes the slot with plain stores, then publishes it with Atomics.store(HEAD). Atomics
 *   are sequentially consistent, so a consumer whose Atomics.load(HEAD) sees the new value also
 *   sees every slot write made before it.
 * - drain reads HEAD with Atomics.load, reads the slot, then releases it with Atomics.store(TAIL),
 *   so the producer cannot overwrite the slot until the consumer is done with it.
 * HEAD and TAIL are free-running 32-bit counters (Int32 cells, wrapping); `(head - tail) | 0` is the
 * number of queued packets and `index & mask` the slot, which stays right across the wrap because
 * slotCount is a power of two far below 2^31.
 *
 * Counters in the buffer are 32-bit and wrap (at 1 Mpps, every ~71 minutes); stats() widens them to
 * float64 totals by accumulating the difference since its previous call, so it must be called at
 * least once per 2^32 events (the health tick does, every few seconds).
 */
import { CapturedPacket, type PacketHandler } from './captured-packet.js';
import {
  attachedGeometry,
  RING_HEADER_BYTES,
  RING_MAGIC,
  RingCell,
  ringGeometry,
  SLOT_FIELD_CAP_LEN,
  SLOT_FIELD_INTERFACE_ID,
  SLOT_FIELD_STRIDE,
  SLOT_FIELD_WIRE_LEN,
  type RingGeometry,
} from './packet-ring-layout.js';

export interface PacketRingOptions {
  /** Power of two, 2..2^20. */
  slotCount: number;
  /** Bytes kept per packet; longer packets are truncated (capLen becomes slotBytes, wireLen stays). */
  slotBytes: number;
  /** LINKTYPE_* of every packet in the ring (one ring per capture handle); default 1 (Ethernet). */
  linkType?: number;
}

/** Widened totals (snake_case counter names are in the comments, for health documents). */
export interface PacketRingStats {
  /** packets_ring_pushed_total: accepted into the ring. Attempts = pushed + droppedFull. */
  pushedTotal: number;
  /** packets_ring_dropped_full_total: refused because the ring was full. */
  droppedFullTotal: number;
  /** packets_ring_popped_total: delivered to the consumer's handler. */
  poppedTotal: number;
  /** Packets in the ring right now. */
  queued: number;
}

export type RingWaitOutcome = 'ok' | 'not-equal' | 'timed-out';

/** Atomics.waitAsync is in Node 20 but not in the ES2022 lib this project compiles against. */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
) => { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
const KEEP_ALIVE_MARGIN_MS = 50;
function ignore(): void {}
/** Settled promises for the answers known at once (the busy case: no allocation but V8's result object). */
const ALREADY_READY: Promise<RingWaitOutcome> = Promise.resolve('not-equal');
const TIMED_OUT_AT_ONCE: Promise<RingWaitOutcome> = Promise.resolve('timed-out');

const STAT_PUSHED = 0;
const STAT_DROPPED = 1;
const STAT_POPPED = 2;

export class PacketRing {
  /** Post this to the other thread, which calls PacketRing.attach(buffer). */
  readonly buffer: SharedArrayBuffer;
  readonly slotCount: number;
  readonly slotBytes: number;
  readonly linkType: number;
  private readonly mask: number;
  private readonly slotStrideBytes: number;
  private readonly header: Int32Array;
  private readonly timestampsUs: Float64Array;
  private readonly slotFields: Int32Array;
  private readonly data: Uint8Array;
  /** Producer side: its own HEAD (only it writes it) and the last TAIL it read (reloaded only when the ring looks full). */
  private producerHead: number;
  private producerTailSeen: number;
  private producerDropped: number;
  /** Consumer side: its own TAIL. */
  private consumerTail: number;
  /** The one record every drain() fills; see CapturedPacket's borrowing rule. */
  private readonly packet = new CapturedPacket();
  /** stats() widening state: last raw 32-bit values and float64 totals. */
  private readonly statsRaw = new Uint32Array(3);
  private readonly statsTotal = new Float64Array(3);

  private constructor(buffer: SharedArrayBuffer, geometry: RingGeometry) {
    this.buffer = buffer;
    this.slotCount = geometry.slotCount;
    this.slotBytes = geometry.slotBytes;
    this.mask = geometry.slotCount - 1;
    this.slotStrideBytes = geometry.slotStrideBytes;
    this.header = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
    this.timestampsUs = new Float64Array(buffer, geometry.timestampsOffset, geometry.slotCount);
    this.slotFields = new Int32Array(buffer, geometry.slotFieldsOffset, geometry.slotCount * SLOT_FIELD_STRIDE);
    this.data = new Uint8Array(buffer, geometry.dataOffset, geometry.slotCount * geometry.slotStrideBytes);
    this.linkType = Atomics.load(this.header, RingCell.LINK_TYPE);
    this.producerHead = Atomics.load(this.header, RingCell.HEAD);
    this.producerTailSeen = Atomics.load(this.header, RingCell.TAIL);
    this.producerDropped = Atomics.load(this.header, RingCell.DROPPED_FULL);
    this.consumerTail = this.producerTailSeen;
    this.packet.data = this.data;
    this.packet.linkType = this.linkType;
    // Start widening from the buffer's current values, so an attaching thread's totals are right.
    this.statsRaw[STAT_PUSHED] = this.producerHead;
    this.statsRaw[STAT_DROPPED] = this.producerDropped;
    this.statsRaw[STAT_POPPED] = this.consumerTail;
    this.statsTotal.set(this.statsRaw);
  }

  /** A new, empty ring (allocates the SharedArrayBuffer). Throws AgentError on a bad geometry. */
  static create(options: PacketRingOptions): PacketRing {
    const geometry = ringGeometry(options.slotCount, options.slotBytes);
    const linkType = options.linkType ?? 1;
    const buffer = new SharedArrayBuffer(geometry.totalBytes);
    const header = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
    header[RingCell.SLOT_COUNT] = geometry.slotCount;
    header[RingCell.SLOT_BYTES] = geometry.slotBytes;
    header[RingCell.LINK_TYPE] = linkType & 0xffff;
    Atomics.store(header, RingCell.MAGIC, RING_MAGIC); // last: the geometry above is visible to whoever sees the magic
    return new PacketRing(buffer, geometry);
  }

  /** The same ring, seen from another thread. Throws AgentError if `buffer` is not a ring. */
  static attach(buffer: SharedArrayBuffer): PacketRing {
    return new PacketRing(buffer, attachedGeometry(buffer));
  }

  /**
   * Producer only. Copies data[offset, offset + min(capLen, slotBytes)) into the next slot.
   * Returns false (and counts it) when the ring is full. Kept small so V8 inlines it: a float64
   * argument (tsUs) passed to a call that is NOT inlined is boxed by the caller, 16 bytes per packet.
   */
  push(data: Uint8Array, offset: number, capLen: number, wireLen: number, tsUs: number, interfaceId: number): boolean {
    const head = this.producerHead;
    if (((head - this.producerTailSeen) | 0) >= this.slotCount) {
      this.producerTailSeen = Atomics.load(this.header, RingCell.TAIL);
      if (((head - this.producerTailSeen) | 0) >= this.slotCount) {
        this.producerDropped = (this.producerDropped + 1) | 0;
        Atomics.store(this.header, RingCell.DROPPED_FULL, this.producerDropped);
        return false;
      }
    }
    const slot = head & this.mask;
    const keptBytes = capLen < this.slotBytes ? capLen : this.slotBytes;
    copyBytes(data, offset, this.data, slot * this.slotStrideBytes, keptBytes);
    const fields = slot * SLOT_FIELD_STRIDE;
    this.slotFields[fields + SLOT_FIELD_CAP_LEN] = keptBytes;
    this.slotFields[fields + SLOT_FIELD_WIRE_LEN] = wireLen;
    this.slotFields[fields + SLOT_FIELD_INTERFACE_ID] = interfaceId;
    this.timestampsUs[slot] = tsUs;
    this.producerHead = (head + 1) | 0;
    Atomics.store(this.header, RingCell.HEAD, this.producerHead); // publish: slot writes above happen-before
    // Wake the consumer only if it said it sleeps: one load per packet, no notify in the busy case.
    if (Atomics.load(this.header, RingCell.CONSUMER_WAITING) !== 0) Atomics.notify(this.header, RingCell.HEAD, 1);
    return true;
  }

  /**
   * Consumer only. Calls handler once per queued packet (at most maxPackets), always with the same
   * CapturedPacket whose `data` is the ring's memory: the slot is released when the handler returns,
   * so the handler must not keep the packet or its bytes. Returns the number delivered. If the
   * handler throws, the packets before it stay consumed and the throwing one is delivered again.
   */
  drain(handler: PacketHandler, maxPackets: number): number {
    const head = Atomics.load(this.header, RingCell.HEAD); // acquire: slots up to head are complete
    let tail = this.consumerTail;
    let queued = (head - tail) | 0;
    if (queued > maxPackets) queued = maxPackets;
    const packet = this.packet;
    for (let delivered = 0; delivered < queued; delivered++) {
      const slot = tail & this.mask;
      const fields = slot * SLOT_FIELD_STRIDE;
      packet.offset = slot * this.slotStrideBytes;
      packet.capLen = this.slotFields[fields + SLOT_FIELD_CAP_LEN]!;
      packet.wireLen = this.slotFields[fields + SLOT_FIELD_WIRE_LEN]!;
      packet.interfaceId = this.slotFields[fields + SLOT_FIELD_INTERFACE_ID]!;
      packet.tsUs = this.timestampsUs[slot]!;
      handler(packet);
      tail = (tail + 1) | 0;
      this.consumerTail = tail;
      Atomics.store(this.header, RingCell.TAIL, tail); // release the slot only after the handler is done
    }
    return queued < 0 ? 0 : queued;
  }

  /** Packets queued now (either side may ask). */
  queued(): number {
    return (Atomics.load(this.header, RingCell.HEAD) - Atomics.load(this.header, RingCell.TAIL)) | 0;
  }

  /**
   * Consumer only: resolves when a packet may be available, or after timeoutMs. Returns at once
   * when packets are already queued. One promise per call (per idle period), never per packet.
   *
   * The consumer sets CONSUMER_WAITING and then re-reads HEAD; the producer stores HEAD and then
   * reads CONSUMER_WAITING. With sequentially consistent atomics at least one of them sees the
   * other's write, so a packet is never left unnoticed; and waitAsync itself returns 'not-equal'
   * if HEAD moved after the re-read. Only the consumer writes CONSUMER_WAITING (it clears it once
   * awake): if the producer cleared it, a late clear meant for an earlier wait could erase the
   * announcement of the next one and leave the consumer asleep next to a full ring (seen in the
   * cross-thread test). The cost is a few spare notifies while the consumer is waking up.
   * The promise holds the event loop open until it settles.
   */
  waitForPackets(timeoutMs: number): Promise<RingWaitOutcome> {
    Atomics.store(this.header, RingCell.CONSUMER_WAITING, 1);
    const head = Atomics.load(this.header, RingCell.HEAD);
    if (head !== this.consumerTail) {
      Atomics.store(this.header, RingCell.CONSUMER_WAITING, 0);
      return ALREADY_READY;
    }
    const result = waitAsync(this.header, RingCell.HEAD, head, timeoutMs);
    if (!result.async) {
      Atomics.store(this.header, RingCell.CONSUMER_WAITING, 0);
      return result.value === 'not-equal' ? ALREADY_READY : TIMED_OUT_AT_ONCE;
    }
    // A pending waitAsync does not keep Node's event loop alive: without this timer a consumer with
    // nothing else pending would exit (or a test would be cancelled) instead of waking up.
    const keepAlive = setTimeout(ignore, timeoutMs + KEEP_ALIVE_MARGIN_MS);
    return result.value.then((outcome) => {
      Atomics.store(this.header, RingCell.CONSUMER_WAITING, 0);
      clearTimeout(keepAlive);
      return outcome;
    });
  }

  /** Widened counter totals; call at least once per 2^32 events (see the file comment). */
  stats(): PacketRingStats {
    const head = Atomics.load(this.header, RingCell.HEAD);
    const tail = Atomics.load(this.header, RingCell.TAIL);
    this.widen(STAT_PUSHED, head);
    this.widen(STAT_DROPPED, Atomics.load(this.header, RingCell.DROPPED_FULL));
    this.widen(STAT_POPPED, tail);
    return {
      pushedTotal: this.statsTotal[STAT_PUSHED]!,
      droppedFullTotal: this.statsTotal[STAT_DROPPED]!,
      poppedTotal: this.statsTotal[STAT_POPPED]!,
      queued: (head - tail) | 0,
    };
  }

  private widen(stat: number, raw: number): void {
    const rawUnsigned = raw >>> 0;
    this.statsTotal[stat]! += (rawUnsigned - this.statsRaw[stat]! + 0x1_0000_0000) % 0x1_0000_0000;
    this.statsRaw[stat] = rawUnsigned;
  }

}

/** Plain byte loop: TypedArray.set would need a subarray (an allocation) per packet. */
function copyBytes(source: Uint8Array, sourceOffset: number, target: Uint8Array, targetOffset: number, length: number): void {
  let i = 0;
  for (const unrolledEnd = length - 3; i < unrolledEnd; i += 4) {
    target[targetOffset + i] = source[sourceOffset + i]!;
    target[targetOffset + i + 1] = source[sourceOffset + i + 1]!;
    target[targetOffset + i + 2] = source[sourceOffset + i + 2]!;
    target[targetOffset + i + 3] = source[sourceOffset + i + 3]!;
  }
  for (; i < length; i++) target[targetOffset + i] = source[sourceOffset + i]!;
}
