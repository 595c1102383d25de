/**
 * The outcome mapping (the flow table's ConnectionOutcome → summary counters) and the server-side
 * rules, case by case, on hand-built records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionOutcome, FlowRecord } from '../../../src/flow/flow-record.js';
import { serverSide, ServerSide, TCP_OUTCOME_NAMES, tcpOutcomeOf } from '../../../src/summary/tcp-outcome.js';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

function tcp(forwardFlags: number, reverseFlags: number, reversePackets: number, srcPort = 51_000, dstPort = 443): FlowRecord {
  const rec = new FlowRecord();
  rec.protocol = 6;
  rec.srcPort = srcPort;
  rec.dstPort = dstPort;
  rec.packets = 3;
  rec.tcpFlags = forwardFlags;
  rec.reverseTcpFlags = reverseFlags;
  rec.reversePackets = reversePackets;
  return rec;
}

/** Records without connectionOutcome (0): the flag and port heuristics. */
const cases: { name: string; rec: FlowRecord; server: ServerSide }[] = [
  { name: 'SYN only, nothing back', rec: tcp(SYN, 0, 0), server: ServerSide.DESTINATION },
  { name: 'SYN retries with ECN bits, nothing back', rec: tcp(SYN | 0xc0, 0, 0), server: ServerSide.DESTINATION },
  { name: 'SYN answered by RST|ACK (refused)', rec: tcp(SYN, RST | ACK, 1), server: ServerSide.DESTINATION },
  { name: 'SYN, RST from the client itself, nothing back', rec: tcp(SYN | RST, 0, 0), server: ServerSide.DESTINATION },
  { name: 'FIN both ways after a handshake', rec: tcp(SYN | ACK | PSH | FIN, SYN | ACK | PSH | FIN, 5), server: ServerSide.DESTINATION },
  { name: 'RST forward after a handshake', rec: tcp(SYN | ACK | RST, SYN | ACK, 2), server: ServerSide.DESTINATION },
  { name: 'half-closed (FIN forward only)', rec: tcp(SYN | ACK | FIN, SYN | ACK, 2), server: ServerSide.DESTINATION },
  { name: 'handshake, no close (idle)', rec: tcp(SYN | ACK, SYN | ACK, 2), server: ServerSide.DESTINATION },
  { name: 'mid-stream, forward from the client port', rec: tcp(ACK | PSH, ACK, 4), server: ServerSide.DESTINATION },
  { name: 'mid-stream, forward from the server port', rec: tcp(ACK | PSH, ACK, 4, 443, 51_000), server: ServerSide.SOURCE },
  { name: 'mid-stream, one direction only', rec: tcp(ACK | PSH, 0, 0, 22, 40_000), server: ServerSide.SOURCE },
  { name: 'last part of a long connection, FIN both ways', rec: tcp(ACK | FIN, ACK | FIN, 2, 8080, 60_000), server: ServerSide.SOURCE },
  { name: 'last part, RST reverse', rec: tcp(ACK, ACK | RST, 1), server: ServerSide.DESTINATION },
  { name: 'reverse pure SYN (the destination opened), low source port', rec: tcp(ACK, SYN, 1, 51_000, 80), server: ServerSide.SOURCE },
  { name: 'forward SYN beats the port rule', rec: tcp(SYN | ACK, SYN | ACK, 3, 80, 51_000), server: ServerSide.DESTINATION },
  { name: 'equal ports, no SYN: destination', rec: tcp(ACK, ACK, 1, 179, 179), server: ServerSide.DESTINATION },
];

for (const { name, rec, server } of cases) {
  test(`TCP without connection state: ${name}`, () => {
    assert.equal(serverSide(rec), server);
  });
}

test('TCP with connection state: the forward side sent the SYN, so the destination is the server, whatever flags and ports say', () => {
  for (const outcome of [ConnectionOutcome.COMPLETED, ConnectionOutcome.SYN_UNANSWERED, ConnectionOutcome.IDLE, ConnectionOutcome.OPEN_AT_ACTIVE_TIMEOUT]) {
    const closing = tcp(0, 0, 0, 443, 51_000); // a closing record: no packets, no flags; the lower port is the source
    closing.packets = 0;
    closing.connectionOutcome = outcome;
    assert.equal(serverSide(closing), ServerSide.DESTINATION);
  }
  const midStream = tcp(ACK | PSH, ACK, 4, 443, 51_000);
  midStream.connectionOutcome = ConnectionOutcome.MID_STREAM; // no SYN seen: the heuristics decide
  assert.equal(serverSide(midStream), ServerSide.SOURCE);
});

test('tcpOutcomeOf: every ConnectionOutcome but NOT_TCP maps to its counter; open at the end of a final record is openAtEnd', () => {
  const expected: [number, string | null][] = [
    [ConnectionOutcome.NOT_TCP, null],
    [ConnectionOutcome.COMPLETED, 'completed'],
    [ConnectionOutcome.RESET_BY_CLIENT, 'resetByClient'],
    [ConnectionOutcome.RESET_BY_SERVER, 'resetByServer'],
    [ConnectionOutcome.REJECTED, 'rejected'],
    [ConnectionOutcome.SYN_UNANSWERED, 'synUnanswered'],
    [ConnectionOutcome.OPEN_AT_ACTIVE_TIMEOUT, 'openAtEnd'],
    [ConnectionOutcome.IDLE, 'idle'],
    [ConnectionOutcome.MID_STREAM, 'midStream'],
    [99, null],
  ];
  const rec = tcp(0, 0, 0);
  for (const [outcome, name] of expected) {
    rec.connectionOutcome = outcome;
    const index = tcpOutcomeOf(rec);
    assert.equal(index < 0 ? null : TCP_OUTCOME_NAMES[index], name, `ConnectionOutcome ${outcome}`);
  }
});

test('UDP: the lower port is the server; ties go to the destination; SYN-like bits are ignored', () => {
  const rec = new FlowRecord();
  rec.protocol = 17;
  rec.srcPort = 53;
  rec.dstPort = 33_000;
  rec.tcpFlags = SYN; // never set for UDP; proves the TCP rules are not consulted
  assert.equal(serverSide(rec), ServerSide.SOURCE);
  rec.srcPort = 33_000;
  rec.dstPort = 53;
  assert.equal(serverSide(rec), ServerSide.DESTINATION);
  rec.srcPort = 4500;
  rec.dstPort = 4500;
  assert.equal(serverSide(rec), ServerSide.DESTINATION);
});
