import { readFileSync, writeFileSync } from 'node:fs';
import { CaptureErrorCode, CaptureFileError, readCaptureFile } from '../../../src/capture/capture-file-reader.js';
import type { CapturedPacket } from '../../../src/capture/captured-packet.js';
import { validateConfig } from '../../../src/config/load.js';
import { decodePacket } from '../../../src/decode/decode-packet.js';
import { DECODE_STATUS_COUNT, DecodeStatus } from '../../../src/decode/decode-status.js';
import { PacketView } from '../../../src/decode/packet-view.js';
import { createExportPipeline } from '../../../src/export/create-export-pipeline.js';
import type { FlowRecord, FlowRecordSink } from '../../../src/flow/flow-record.js';
import { AppHints, HintStatus } from '../../../src/hints/app-hints.js';
import { l4PayloadLength, l4PayloadOffset } from '../../../src/hints/hint-bounds.js';
import { parseAppHints } from '../../../src/hints/parse-app-hints.js';
import { FlowMeter, flowMeterOptionsFromConfig } from '../../../src/meter/flow-meter.js';
import { meteringStatisticsOf, snapshotMeter } from '../../../src/meter/meter-snapshot.js';
import { OutOfRangeProbe } from './out-of-range-probe.js';
import { FuzzHang, WorkWatchdog } from './work-watchdog.js';

/**
 * One fuzz case through the product's replay path: the bytes are written to a file and read by
 * readCaptureFile (with a small read buffer, so records straddle reads and the buffer grows) into
 * a FlowMeter (decode → fragments → flow table) whose records go to a real IPFIX file export, as
 * runReplay wires them. Each packet is also decoded here and its payload given to parseAppHints
 * (not wired into the meter yet). Then every rule below is checked; each broken one is a problem.
 *
 * - outcome: the file is read to its end, or refused with a CaptureFileError whose code is
 *   TAPFLOW_E_CAPTURE_* and whose offset is inside the file and named in the message; anything
 *   else escaping is a crash, and a reader that stops making progress is a hang (WorkWatchdog).
 * - accounting: packets delivered = the meter's packets = reader's count = metered + malformed
 *   (by reason) + ignored; every metered packet and octet leaves the table in a record.
 * - IPFIX: the file is a chain of version-10 messages whose lengths add up to its size.
 * - hints: the payload range lies inside the captured packet; statuses and lengths in range.
 * - no read outside the packet: decoder and hint parsers give the same results whatever bytes
 *   surround the packet (OutOfRangeProbe).
 */
export type FuzzOutcome = 'read' | 'rejected' | 'crash' | 'hang';

export interface FuzzCaseResult {
  outcome: FuzzOutcome;
  /** Broken rules (empty when the case passed); a crash or hang is one too. */
  problems: string[];
  packets: number;
  meteredPackets: number;
  /** Error code of a rejected file. */
  errorCode: string | null;
  /** Packets by DecodeStatus (index = status). */
  byDecodeStatus: number[];
  /** Hint parser statuses by HintStatus, over packets with a TCP/UDP payload. */
  byHintStatus: number[];
  ipfixMessages: number;
  elapsedMs: number;
}

export interface FuzzCaseOptions {
  /** Where the case's capture and IPFIX files are written (overwritten by the next case). */
  capturePath: string;
  ipfixPath: string;
  readBufferBytes: number;
  /** Pause after every Nth packet (0: never), as a backlogged exporter makes a replay do. */
  pauseEvery: number;
}

const MAX_PROBLEMS = 8;
/** Reused by every case of a worker: its buffers are the size of the largest packet. */
const probe = new OutOfRangeProbe();
const IPFIX_VERSION = 10;
const IPFIX_HEADER_BYTES = 16;

export async function runFuzzCase(bytes: Uint8Array, options: FuzzCaseOptions): Promise<FuzzCaseResult> {
  const started = performance.now();
  writeFileSync(options.capturePath, bytes);
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  const config = validateConfig({ flowTable: { maxFlows: 64 }, decoder: { fragmentMapEntries: 64 }, export: { file: options.ipfixPath } }, 'fuzz');
  const pipeline = createExportPipeline(config, { exportTime: 'packet' });
  const exported = { packets: 0, octets: 0 };
  const countingSink: FlowRecordSink = {
    add(rec: FlowRecord) {
      exported.packets += rec.packets + rec.reversePackets;
      exported.octets += rec.octets + rec.reverseOctets;
      pipeline.sink.add(rec);
    },
    flush: (nowMs: number) => pipeline.sink.flush(nowMs),
  };
  const meter = new FlowMeter(flowMeterOptionsFromConfig(config), countingSink);
  pipeline.useMeteringStatistics(meteringStatisticsOf(meter));
  const watchdog = new WorkWatchdog(bytes.length);
  const hints = new AppHints();
  const view = new PacketView();
  const byHintStatus = [0, 0, 0, 0];
  let delivered = 0;
  let decodedOk = 0;

  const onPacket = (packet: CapturedPacket) => {
    delivered++;
    watchdog.packet();
    meter.handlePacket(packet);
    const probed = probe.check(packet);
    if (probed.difference !== null) problem(`packet ${delivered} decoded/parsed differently depending on the bytes around it: ${probed.difference}`);
    const status = decodePacket(packet.data, packet.offset, packet.capLen, packet.wireLen, packet.linkType, view);
    if (status !== DecodeStatus.OK) return;
    decodedOk++;
    const capEnd = packet.offset + packet.capLen;
    const offset = l4PayloadOffset(packet.data, capEnd, view);
    const length = l4PayloadLength(packet.data, capEnd, view, offset);
    if (offset < 0 || length === 0) return;
    if (offset < packet.offset || offset + length > capEnd) problem(`payload [${offset}, ${offset + length}) outside the packet [${packet.offset}, ${capEnd})`);
    const hintStatus = parseAppHints(packet.data, offset, length, view.protocol, view.srcPort, view.dstPort, hints);
    if (!(hintStatus >= HintStatus.OK && hintStatus <= HintStatus.MALFORMED)) problem(`hint status ${hintStatus}`);
    else byHintStatus[hintStatus]!++;
    if (!(hints.dnsNameLength <= hints.dnsName.length && hints.httpHostLength <= hints.httpHost.length && hints.tlsSniLength <= hints.tlsSni.length && hints.tlsAlpnLength <= hints.tlsAlpn.length)) {
      problem('a hint length exceeds its buffer');
    }
  };

  let outcome: FuzzOutcome = 'read';
  let errorCode: string | null = null;
  let readerPackets = -1;
  try {
    let paused = 0;
    const result = await readCaptureFile(options.capturePath, onPacket, {
      readBufferBytes: options.readBufferBytes,
      afterChunk: () => {
        watchdog.chunk();
        return pipeline.drain();
      },
      shouldPause: options.pauseEvery > 0 ? () => ++paused % options.pauseEvery === 0 : pipeline.backlogged,
    });
    readerPackets = result.packets;
    if (result.bytesRead !== bytes.length) problem(`read ${result.bytesRead} of ${bytes.length} bytes without an error`);
  } catch (error) {
    if (error instanceof CaptureFileError) {
      outcome = 'rejected';
      errorCode = error.code;
      readerPackets = error.packetsBefore;
      checkFileError(error, bytes.length, problem);
    } else if (error instanceof FuzzHang) {
      outcome = 'hang';
      problem(`hang: ${error.message}`);
    } else {
      outcome = 'crash';
      problem(`crash: ${(error as Error)?.stack ?? String(error)}`);
    }
  }

  if (outcome !== 'crash' && outcome !== 'hang') {
    try {
      while (!meter.flushSome()) await pipeline.drain();
      await pipeline.close();
    } catch (error) {
      outcome = 'crash';
      problem(`crash while exporting: ${(error as Error)?.stack ?? String(error)}`);
    }
  } else {
    await pipeline.close().catch(() => undefined);
  }

  const snapshot = snapshotMeter(meter);
  const byDecodeStatus = Array.from(meter.counters.byDecodeStatus);
  if (outcome === 'read' || outcome === 'rejected') {
    if (readerPackets !== delivered) problem(`reader counted ${readerPackets} packets, delivered ${delivered}`);
    if (snapshot.packets !== delivered) problem(`meter counted ${snapshot.packets} packets, delivered ${delivered}`);
    const malformed = sum(Object.values(snapshot.malformed));
    const ignored = sum(Object.values(snapshot.ignored));
    if (snapshot.meteredPackets + malformed + ignored + snapshot.sampling.skipped !== snapshot.packets) {
      problem(`metered ${snapshot.meteredPackets} + malformed ${malformed} + ignored ${ignored} != packets ${snapshot.packets}`);
    }
    if (malformed !== snapshot.malformedTotal) problem(`malformed by reason ${malformed} != malformedTotal ${snapshot.malformedTotal}`);
    if (sum(byDecodeStatus) !== snapshot.packets || byDecodeStatus.length !== DECODE_STATUS_COUNT) problem(`decode statuses add up to ${sum(byDecodeStatus)}, not ${snapshot.packets}`);
    if (decodedOk !== snapshot.meteredPackets) problem(`a second decode found ${decodedOk} OK packets, the meter ${snapshot.meteredPackets}`);
    if (exported.packets !== snapshot.meteredPackets) problem(`exported ${exported.packets} packets, metered ${snapshot.meteredPackets}`);
    if (exported.octets !== snapshot.meteredOctets) problem(`exported ${exported.octets} octets, metered ${snapshot.meteredOctets}`);
  }
  const ipfixMessages = outcome === 'crash' || outcome === 'hang' ? 0 : checkIpfixFile(options.ipfixPath, pipeline.stats().destinations[0]?.sent ?? -1, problem);
  return {
    outcome,
    problems,
    packets: delivered,
    meteredPackets: snapshot.meteredPackets,
    errorCode,
    byDecodeStatus,
    byHintStatus,
    ipfixMessages,
    elapsedMs: performance.now() - started,
  };
}

/** The documented corrupt-file error: a TAPFLOW_E_CAPTURE_* code and an offset inside the file, named in the message. */
function checkFileError(error: CaptureFileError, fileBytes: number, problem: (text: string) => void): void {
  if (!/^TAPFLOW_E_CAPTURE_/.test(error.code) || error.code === CaptureErrorCode.READ) problem(`unexpected error code ${error.code}: ${error.message}`);
  if (!Number.isInteger(error.offset) || error.offset < 0 || error.offset > fileBytes) problem(`error offset ${error.offset} outside the ${fileBytes}-byte file: ${error.message}`);
  // The start-of-file refusals (empty, too short, no magic) are about byte 0 without saying "byte 0".
  const startOfFile = error.code === CaptureErrorCode.NOT_A_CAPTURE && error.offset === 0;
  if (!startOfFile && !error.message.includes(`byte ${error.offset}`)) problem(`error message does not name its offset ${error.offset}: ${error.message}`);
}

/** Walks the IPFIX file's message headers; returns the message count. */
function checkIpfixFile(path: string, sent: number, problem: (text: string) => void): number {
  const bytes = readFileSync(path);
  let messages = 0;
  for (let pos = 0; pos < bytes.length; messages++) {
    if (bytes.length - pos < IPFIX_HEADER_BYTES) {
      problem(`IPFIX file ends inside a message header at byte ${pos}`);
      break;
    }
    const version = bytes.readUInt16BE(pos);
    const length = bytes.readUInt16BE(pos + 2);
    if (version !== IPFIX_VERSION || length < IPFIX_HEADER_BYTES || pos + length > bytes.length) {
      problem(`IPFIX message at byte ${pos}: version ${version}, length ${length}, file ${bytes.length} bytes`);
      break;
    }
    pos += length;
  }
  if (messages !== sent) problem(`IPFIX file holds ${messages} messages, the export says ${sent} were written`);
  return messages;
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
