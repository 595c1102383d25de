import { createRequire } from 'node:module';

/**
 * The slice of npm `cap` 0.2.1 we use, typed, plus what its native code (src/binding.cc) really does,
 * since the README leaves it out:
 * - open(device, filter, bufSize, buffer) sets snaplen 65535, promiscuous mode ALWAYS on, immediate
 *   mode, non-blocking; then compiles the filter. It returns the link type as a string.
 * - Per packet it copies min(caplen, buffer.length) bytes into the ONE buffer and emits
 *   'packet'(copiedLength, truncated): no timestamp, no wire length, and no drop counters.
 *   `truncated` means the frame was longer than our buffer. It loops pcap_dispatch(…, 1, …) until the
 *   kernel buffer is empty: one JS call per packet, and a burst holds the event loop.
 * - Because the kernel snaplen is 65535, the kernel ring (bufSize) stores WHOLE frames; our small
 *   buffer only bounds the copy into JS. Size bufSize for full-size frames at the burst rate.
 * - pcap_lookupnet() failing (any interface without IPv4, e.g. a SPAN port) prints
 *   "Warning: … This may not actually work" to stderr from C; harmless (only `ip broadcast` filters
 *   need the netmask) and impossible to silence from JS.
 * - A failed open() leaves a half-made pcap handle; when V8 later collects that Cap object its
 *   destructor calls uv_poll_stop() on a never-initialised handle and node aborts (seen: assertion
 *   in uv_poll_stop). A closed Cap never has its poll handle uv_close()d either. So we keep every
 *   Cap we created alive for the life of the process (a few per start or reload; see retainForever).
 * - A Cap cannot be reopened after close() (its `closing` flag is never reset): use a new one.
 */
export interface CapHandle {
  open(device: string, filter: string, bufferBytes: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', listener: (copiedLength: number, truncated: boolean) => void): unknown;
  /** Emitted by tapflow's patch of cap (agent/scripts/patch-cap.mjs) when the capture socket fails, e.g. the interface went down. */
  on(event: 'pollerror', listener: (libuvStatus: number) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

interface CapModule {
  Cap: new () => CapHandle;
}

let capModule: CapModule | null = null;

/** Loads the native addon on first use, so a build without it can still replay files. */
export function createCapHandle(): CapHandle {
  if (capModule === null) {
    const require = createRequire(import.meta.url);
    capModule = require('cap') as CapModule;
  }
  const handle = new capModule.Cap();
  retainForever(handle);
  return handle;
}

// Bounded by the number of open() calls (start-up and reloads), not by traffic.
const retainedHandles: CapHandle[] = [];
function retainForever(handle: CapHandle): void {
  retainedHandles.push(handle);
}

/** LINKTYPE_* numbers (https://www.tcpdump.org/linktypes.html) for cap's link-type strings. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IEEE802_11_RADIOTAP = 127;

/**
 * Maps cap's open() result to a LINKTYPE number, or -1 when unknown. binding.cc returns DLT names,
 * except "LINKTYPE_LINUX_SLL" (sic) for cooked captures, and "Unknown linktype <n>" for the rest,
 * where <n> is a DLT value. DLT and LINKTYPE agree for every value outside 7..19, 50..51, 99..108
 * (the historical BSD clashes), so <n> is taken as is only outside those ranges.
 */
export function linkTypeFromCap(capLinkType: string): number {
  switch (capLinkType) {
    case 'NULL': return LINKTYPE_NULL;
    case 'ETHERNET': return LINKTYPE_ETHERNET;
    case 'RAW': return LINKTYPE_RAW;
    case 'LINUX_SLL':
    case 'LINKTYPE_LINUX_SLL': return LINKTYPE_LINUX_SLL;
    case 'IEEE802_11_RADIO': return LINKTYPE_IEEE802_11_RADIOTAP;
  }
  const match = /^Unknown linktype (\d+)$/.exec(capLinkType);
  if (match === null || match[1] === undefined) return -1;
  const dlt = Number(match[1]);
  const clashes = (dlt >= 7 && dlt <= 19) || dlt === 50 || dlt === 51 || (dlt >= 99 && dlt <= 108);
  return clashes ? -1 : dlt;
}
