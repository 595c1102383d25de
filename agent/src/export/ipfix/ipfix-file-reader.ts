/**
 * Read an IPFIX File (RFC 5655) message by message without loading it whole: a 256 KiB window
 * (always larger than the biggest possible message, 65535 bytes) refilled with fs.readSync.
 * Damage throws IpfixParseError with the absolute file offset; messages before it were yielded.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { AgentError } from '../../core/errors.js';
import { IPFIX_MESSAGE_HEADER_BYTES, IpfixParser, type ParsedMessage } from './message-parser.js';

const WINDOW_BYTES = 256 * 1024;

export function* readIpfixFile(path: string, parser = new IpfixParser()): Generator<ParsedMessage> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new AgentError('TAPFLOW_E_IPFIX_FILE_OPEN', `cannot open IPFIX file ${path}: ${reason}`, { cause });
  }
  try {
    const window = new Uint8Array(WINDOW_BYTES);
    let windowStartInFile = 0;
    let filled = 0;
    let position = 0;
    let endOfFile = false;
    for (;;) {
      const available = filled - position;
      const needed = available >= 4 ? ((window[position + 2] ?? 0) << 8) | (window[position + 3] ?? 0) : IPFIX_MESSAGE_HEADER_BYTES;
      if (available < Math.max(needed, IPFIX_MESSAGE_HEADER_BYTES) && !endOfFile) {
        // Slide the unread tail to the front and refill.
        window.copyWithin(0, position, filled);
        windowStartInFile += position;
        filled = available;
        position = 0;
        while (filled < window.length) {
          const read = readSync(fd, window, filled, window.length - filled, windowStartInFile + filled);
          if (read === 0) {
            endOfFile = true;
            break;
          }
          filled += read;
        }
        continue;
      }
      if (available === 0) return;
      // The parser checks the header and length against what is there (truncated tail → error).
      const message = parser.parseMessage(window.subarray(0, filled), position, windowStartInFile);
      yield message;
      position += message.header.lengthBytes;
    }
  } finally {
    closeSync(fd);
  }
}
