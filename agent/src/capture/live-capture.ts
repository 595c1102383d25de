import { existsSync } from 'node:fs';
import { ANCHORED_CLOCK, type MicrosecondClock } from './capture-clock.js';
import { createCapHandle, linkTypeFromCap, type CapHandle } from './cap-binding.js';
import { CapturedPacket, type PacketHandler } from './captured-packet.js';
import { readInterfaceIndex, SYS_CLASS_NET } from './interface-counters.js';
import {
  filterError,
  linkTypeError,
  looksLikeMissingDevice,
  looksLikePermissionProblem,
  noInterfaceError,
  openError,
  optionError,
  permissionError,
} from './live-capture-errors.js';

/** Enough for Ethernet + 2 VLAN tags + IPv6 + extension headers + TCP with options + a little payload. */
export const DEFAULT_SNAPLEN_BYTES = 256;
/** Below this even Ethernet + IPv4 + TCP headers may not fit. */
export const MIN_SNAPLEN_BYTES = 64;
export const MAX_SNAPLEN_BYTES = 65535;
/** Kernel ring size; absorbs bursts while the event loop is busy elsewhere (e.g. exporting). */
export const DEFAULT_CAPTURE_BUFFER_BYTES = 8 * 1024 * 1024;
export const MIN_CAPTURE_BUFFER_BYTES = 64 * 1024;
export const MAX_CAPTURE_BUFFER_BYTES = 2 ** 31 - 1;

export interface LiveCaptureOptions {
  /** BPF filter (man 7 pcap-filter); '' captures everything. */
  filter?: string;
  /**
   * Kernel capture buffer; the kernel may silently cap it. It holds whole frames (cap's kernel
   * snaplen is 65535, whatever snapLenBytes says), so 8 MiB is ~5,600 full-size Ethernet frames.
   */
  bufferBytes?: number;
  /** Bytes copied per packet; longer frames are truncated (expected, counted). */
  snapLenBytes?: number;
  /** npm `cap` always enables promiscuous mode, so only true (the default) is accepted. */
  promiscuous?: boolean;
  /**
   * Called (once) when capture stops by itself: the capture socket failed, typically because the
   * interface went down. The capture is closed by then; open a new LiveCapture to resume.
   */
  onFailure?: (libuvStatus: number) => void;
}

/** What open() settled on. */
export interface LiveCaptureInfo {
  interfaceName: string;
  /** LINKTYPE_* of the delivered frames. */
  linkType: number;
  /** OS ifindex (0 for the "any" pseudo-interface). */
  interfaceId: number;
  snapLenBytes: number;
  bufferBytes: number;
  filter: string;
}

export type LiveCaptureState = 'idle' | 'capturing' | 'closed';

/**
 * Live capture from one interface through npm `cap` (see cap-binding.ts for what it does and does
 * not give). Each packet is copied into one reused buffer of snapLenBytes and delivered through ONE
 * reused CapturedPacket, synchronously, stamped with the anchored µs clock at delivery.
 *
 * wireLen: cap passes only the copied length. The kernel snaplen is 65535, so an untruncated copy IS
 * the whole frame; a truncated one is delivered with wireLen = UNKNOWN_WIRE_BYTES (65535, the most
 * it can be: a lower bound like capLen would make the decoder reject every IP length longer than
 * the snap length as malformed) and the decoder
 * takes the real length from the IP header (total length / payload length).
 *
 * The handler must not throw: an exception unwinds through the native callback and ends the process.
 * One instance captures once: open() → packets → close(); make a new one to capture again.
 */
/** wireLen of a truncated frame: unknown to cap's callback, at most the kernel snap length. */
export const UNKNOWN_WIRE_BYTES = 65_535;

export class LiveCapture {
  private readonly packet = new CapturedPacket();
  private handle: CapHandle | null = null;
  private currentState: LiveCaptureState = 'idle';
  private packetsSeen = 0;
  private bytesCopied = 0;
  private packetsTruncated = 0;

  constructor(
    private readonly handler: PacketHandler,
    private readonly clock: MicrosecondClock = ANCHORED_CLOCK,
  ) {}

  get state(): LiveCaptureState {
    return this.currentState;
  }
  /** packets_seen_total: frames delivered to the handler. */
  get packetsSeenTotal(): number {
    return this.packetsSeen;
  }
  /** bytes_copied_total: sum of capLen. */
  get bytesCopiedTotal(): number {
    return this.bytesCopied;
  }
  /** packets_truncated_total: frames longer than snapLenBytes. */
  get packetsTruncatedTotal(): number {
    return this.packetsTruncated;
  }

  /** Starts capturing; packets arrive from the event loop after this returns. Throws AgentError. */
  open(interfaceName: string, options: LiveCaptureOptions = {}): LiveCaptureInfo {
    if (this.currentState !== 'idle') throw optionError(`this LiveCapture is ${this.currentState}; create a new one`);
    const filter = options.filter ?? '';
    const snapLenBytes = checkedInteger('snapLenBytes', options.snapLenBytes ?? DEFAULT_SNAPLEN_BYTES, MIN_SNAPLEN_BYTES, MAX_SNAPLEN_BYTES);
    const bufferBytes = checkedInteger('bufferBytes', options.bufferBytes ?? DEFAULT_CAPTURE_BUFFER_BYTES, MIN_CAPTURE_BUFFER_BYTES, MAX_CAPTURE_BUFFER_BYTES);
    if (options.promiscuous === false) {
      throw optionError('promiscuous: false is not supported: npm cap 0.2.1 always opens the interface in promiscuous mode');
    }
    const isAnyDevice = interfaceName === 'any';
    // libpcap's own "no such device" arrives only after a warning on stderr; sysfs answers cleanly.
    if (!isAnyDevice && existsSync(SYS_CLASS_NET) && readInterfaceIndex(interfaceName) < 0) {
      throw noInterfaceError(interfaceName);
    }

    const buffer = Buffer.alloc(snapLenBytes);
    const handle = createCapHandle();
    let capLinkType: string;
    try {
      capLinkType = handle.open(interfaceName, filter, bufferBytes, buffer);
    } catch (cause) {
      throw classifyOpenFailure(interfaceName, filter, bufferBytes, cause);
    }
    const linkType = linkTypeFromCap(capLinkType);
    if (linkType < 0) {
      handle.close();
      throw linkTypeError(interfaceName, capLinkType);
    }
    const interfaceId = isAnyDevice ? 0 : Math.max(0, readInterfaceIndex(interfaceName));

    const packet = this.packet;
    packet.data = buffer;
    packet.offset = 0;
    packet.linkType = linkType;
    packet.interfaceId = interfaceId;
    handle.on('packet', this.onPacket);
    const onFailure = options.onFailure;
    handle.on('pollerror', (libuvStatus: number) => {
      this.close();
      onFailure?.(libuvStatus);
    });
    this.handle = handle;
    this.currentState = 'capturing';
    return { interfaceName, linkType, interfaceId, snapLenBytes, bufferBytes, filter };
  }

  /** Stops capturing; safe to call in any state and from inside the handler. */
  close(): void {
    const handle = this.handle;
    this.currentState = 'closed';
    if (handle === null) return;
    this.handle = null;
    handle.close();
    handle.removeAllListeners('packet');
    handle.removeAllListeners('pollerror');
  }

  // Bound once; cap calls it once per packet with (copied length, truncated).
  private readonly onPacket = (copiedLength: number, truncated: boolean): void => {
    const packet = this.packet;
    packet.capLen = copiedLength;
    packet.wireLen = truncated ? UNKNOWN_WIRE_BYTES : copiedLength;
    packet.tsUs = this.clock.nowUs();
    this.packetsSeen += 1;
    this.bytesCopied += copiedLength;
    if (truncated) this.packetsTruncated += 1;
    this.handler(packet);
  };
}

/**
 * libpcap's messages do not say which step failed, so a filter is blamed only when the same open
 * without it succeeds (that probe capture is closed at once).
 */
function classifyOpenFailure(interfaceName: string, filter: string, bufferBytes: number, cause: unknown): Error {
  if (looksLikePermissionProblem(cause)) return permissionError(interfaceName, cause);
  if (looksLikeMissingDevice(cause)) return noInterfaceError(interfaceName, cause);
  if (filter === '') return openError(interfaceName, cause);
  const probe = createCapHandle();
  try {
    probe.open(interfaceName, '', bufferBytes, Buffer.alloc(MIN_SNAPLEN_BYTES));
  } catch {
    return openError(interfaceName, cause);
  }
  probe.close();
  return filterError(filter, cause);
}

function checkedInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw optionError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}
