import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CaptureErrorCode, CaptureFileError, readCaptureFile, type CaptureReadResult } from '../../../src/capture/capture-file-reader.js';
import { SHARED_PCAPS_MISSING, sharedPcaps, sharedPcapsDir } from '../../helpers/shared-pcaps.js';
import { TSHARK_MISSING, tsharkReadMany, type TsharkPacket, type TsharkRead } from './tshark-reader.js';

/**
 * Every file of ../shared/pcaps read by readCaptureFile and by tshark (Wireshark 4.0 wiretap, an
 * independent reader): same packets, lengths, timestamps (within 1 us), interface ids, and a link
 * type per packet that maps one-to-one onto tshark's encapsulation. Files tshark stops on must
 * stop here too, after the same packets, with a CaptureFileError of the matching kind.
 */

interface OurPacket {
  capLen: number;
  wireLen: number;
  tsUs: number;
  interfaceId: number;
  linkType: number;
}

/**
 * Where tshark 4.0 prints something else on purpose-built broken files, and why ours is right.
 * Values come from the record headers (xxd), not from our reader.
 */
const TSHARK_QUIRKS: Record<string, { timestampsUs?: Record<number, number>; tsharkExtraPackets?: number }> = {
  // Record 3: ts_sec 0x54872e5a, usec 0x80000000. Wireshark multiplies usec by 1000 in 32 bits
  // (wraps to 0) and prints .000000000; the value is 1418145370 s + 2147483648 us.
  'tcpdump_timestamp_invalid_micro.pcap': { timestampsUs: { 2: 1418145370e6 + 2147483648 } },
  // Record 3: nsec 0x80000000, which Wireshark stores in a signed 32-bit field and prints negative.
  'tcpdump_timestamp_invalid_nano.pcap': { timestampsUs: { 2: 1418145370e6 + 2147483.648 } },
  // Record 2's header (byte 228) holds caplen 0x53fe6000 (1.4 GB): libpcap and we stop there after 1
  // packet. Wireshark instead retries the file as one of the patched-libpcap variants (longer record
  // headers), shows a garbage second packet (caplen 1, len 1048576) and fails on the third.
  'suricata_fuzz-huge-caplen.pcap': { tsharkExtraPackets: 1 },
};

/** A few LINKTYPE -> WTAP_ENCAP pairs from Wireshark's wtap.h, to pin the bijection check. */
const KNOWN_ENCAP: Record<number, number> = { 0: 15, 1: 1, 101: 7, 113: 25, 127: 23 };

const corpusSkip = sharedPcapsDir() === null ? SHARED_PCAPS_MISSING : (TSHARK_MISSING ?? false);
const files = corpusSkip === false ? (['realistic', 'encap', 'malformed', 'formats'] as const).flatMap((folder) => sharedPcaps(folder)) : [];

function expectedErrorCodes(tsharkError: string): string[] {
  if (/cut short/.test(tsharkError)) return [CaptureErrorCode.TRUNCATED];
  if (/damaged or corrupt/.test(tsharkError)) return [CaptureErrorCode.CORRUPT_RECORD];
  if (/doesn't support/.test(tsharkError)) return [CaptureErrorCode.BAD_VERSION, CaptureErrorCode.UNSUPPORTED];
  return [];
}

function comparePackets(name: string, ours: readonly OurPacket[], theirs: readonly TsharkPacket[]): void {
  assert.equal(ours.length, theirs.length, `${name}: packet count`);
  const quirks = TSHARK_QUIRKS[name]?.timestampsUs ?? {};
  const encapOf = new Map<number, number>();
  const linkTypeOf = new Map<number, number>();
  for (let i = 0; i < ours.length; i++) {
    const our = ours[i]!;
    const their = theirs[i]!;
    const where = `${name} packet ${i + 1}`;
    assert.equal(our.capLen, their.capLen, `${where}: capLen`);
    assert.equal(our.wireLen, their.wireLen, `${where}: wireLen`);
    if (their.interfaceId !== null) assert.equal(our.interfaceId, their.interfaceId, `${where}: interface id`);
    else assert.equal(our.interfaceId, 0, `${where}: interface id of a classic pcap`);
    const quirkUs = quirks[i];
    if (quirkUs !== undefined) {
      assert.ok(Math.abs(our.tsUs - quirkUs) <= 1, `${where}: ts ${our.tsUs} vs ${quirkUs} (from the record header)`);
    } else if (their.tsUs === null) {
      // Simple Packet Block: tshark has no time; we repeat the previous packet's (0 before any).
      assert.equal(our.tsUs, i === 0 ? 0 : ours[i - 1]!.tsUs, `${where}: SPB inherits the previous timestamp`);
    } else {
      assert.ok(Math.abs(our.tsUs - their.tsUs) <= 1, `${where}: ts ${our.tsUs} vs tshark ${their.tsUs}`);
    }
    // Link type per packet: the mapping LINKTYPE <-> tshark encapsulation must be one-to-one.
    assert.equal(encapOf.get(our.linkType) ?? their.encap, their.encap, `${where}: link type ${our.linkType} seen with two encapsulations`);
    assert.equal(linkTypeOf.get(their.encap) ?? our.linkType, our.linkType, `${where}: encapsulation ${their.encap} seen with two link types`);
    encapOf.set(our.linkType, their.encap);
    linkTypeOf.set(their.encap, our.linkType);
    const known = KNOWN_ENCAP[our.linkType];
    if (known !== undefined) assert.equal(their.encap, known, `${where}: link type ${our.linkType}`);
  }
}

describe('readCaptureFile over every shared pcap, against tshark', { skip: corpusSkip }, () => {
  let truth = new Map<string, TsharkRead>();
  const scratch = mkdtempSync(join(tmpdir(), 'tapflow-capture-corpus-'));
  before(async () => {
    truth = await tsharkReadMany(files, scratch);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  for (const file of files) {
    const name = basename(file);
    it(`${basename(dirname(file))}/${name}`, async () => {
      const theirs = truth.get(file);
      assert.ok(theirs, 'tshark result missing');
      const ours: OurPacket[] = [];
      let result: CaptureReadResult | null = null;
      let failure: unknown = null;
      try {
        result = await readCaptureFile(file, (p) => {
          ours.push({ capLen: p.capLen, wireLen: p.wireLen, tsUs: p.tsUs, interfaceId: p.interfaceId, linkType: p.linkType });
          assert.ok(p.offset + p.capLen <= p.data.length, 'packet inside the buffer');
        });
      } catch (error) {
        failure = error;
      }
      if (failure !== null && !(failure instanceof CaptureFileError)) throw failure;
      const fileBytes = statSync(file).size;

      if (theirs.error === null) {
        assert.equal(failure, null, `tshark reads the whole file but we failed: ${(failure as Error | null)?.message}`);
        assert.ok(result);
        assert.equal(result.packets, ours.length);
        assert.equal(result.bytesRead, fileBytes);
        comparePackets(name, ours, theirs.packets);
        return;
      }

      assert.ok(failure instanceof CaptureFileError, `tshark stops (${theirs.error}) but we read the whole file`);
      assert.ok(expectedErrorCodes(theirs.error).includes(failure.code), `${failure.code} for tshark's "${theirs.error}"`);
      assert.ok(failure.offset >= 0 && failure.offset <= fileBytes, `offset ${failure.offset} within the file`);
      assert.match(failure.message, new RegExp(`byte ${failure.offset}\\b`));
      assert.ok(failure.message.includes(file), 'message names the file');
      assert.equal(failure.packetsBefore, ours.length, 'packetsBefore counts the delivered packets');
      const expected = theirs.packets.slice(0, theirs.packets.length - (TSHARK_QUIRKS[name]?.tsharkExtraPackets ?? 0));
      comparePackets(name, ours, expected);
      if (result === null && name.endsWith('.pcap') && ours.length > 0) {
        // Classic pcap: the failing record starts right after the packets delivered (24-byte file
        // header, 16-byte record headers; lengths from tshark).
        const end = expected.reduce((offset, packet) => offset + 16 + packet.capLen, 24);
        assert.equal(failure.offset, end, 'error offset is the first record not delivered');
      }
    });
  }
});
