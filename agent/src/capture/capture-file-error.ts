import { AgentError } from '../core/errors.js';

/**
 * Stable codes of capture-file failures (listed in docs/operations.md). Callers match on `code`.
 * Every one carries the byte offset where reading stopped; packets before it were delivered.
 */
export const CaptureErrorCode = {
  /** Empty file, or the first bytes are neither a pcap nor a pcapng magic. */
  NOT_A_CAPTURE: 'TAPFLOW_E_CAPTURE_NOT_A_CAPTURE',
  /** The file ends inside a header, record or block. */
  TRUNCATED: 'TAPFLOW_E_CAPTURE_TRUNCATED',
  /** A record/block header that cannot be right (length over a limit, inconsistent lengths). */
  CORRUPT_RECORD: 'TAPFLOW_E_CAPTURE_CORRUPT_RECORD',
  /** pcap major version other than 2, pcapng section major version other than 1. */
  BAD_VERSION: 'TAPFLOW_E_CAPTURE_BAD_VERSION',
  /** A well-formed file using something this reader refuses (e.g. reserved link-type bits). */
  UNSUPPORTED: 'TAPFLOW_E_CAPTURE_UNSUPPORTED',
  /** The operating system failed to open or read the file. */
  READ: 'TAPFLOW_E_CAPTURE_READ',
} as const;

export type CaptureErrorCode = (typeof CaptureErrorCode)[keyof typeof CaptureErrorCode];

/** How error messages name the input: '-' reads standard input. */
export function displayName(path: string): string {
  return path === '-' ? '<stdin>' : path;
}

/**
 * A capture file could not be read (further). The message reads
 * `<file>: <what> at byte <offset>: <detail>`.
 */
export class CaptureFileError extends AgentError {
  /** Byte offset in the file of the header/record/block at fault (0 for open failures). */
  readonly offset: number;
  /** Packets delivered to the handler before the failure. */
  packetsBefore: number;
  readonly path: string;

  constructor(code: CaptureErrorCode, path: string, offset: number, what: string, packetsBefore: number, options?: { cause?: unknown }) {
    super(code, `${displayName(path)}: ${what}`, options);
    this.name = 'CaptureFileError';
    this.offset = offset;
    this.packetsBefore = packetsBefore;
    this.path = path;
  }
}
