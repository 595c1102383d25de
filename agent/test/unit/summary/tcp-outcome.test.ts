/**
 * The TCP outcome and server-side rules, case by case, on hand-built records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowRecord } from '../../../src/flow/flow-record.js';
import { classifyTcpOutcome, serverSide, ServerSide, TcpOutcome } from '../../../src/summary/tcp-outcome.js';

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

const cases: { name: string; rec: FlowRecord; outcome: TcpOutcome; server: ServerSide }[] = [
  { name: 'SYN only, nothing back', rec: tcp(SYN, 0, 0), outcome: TcpOutcome.UNANSWERED, server: ServerSide.DESTINATION },
  { name: 'SYN retries with ECN bits, nothing back', rec: tcp(SYN | 0xc0, 0, 0), outcome: TcpOutcome.UNANSWERED, server: ServerSide.DESTINATION },
  { name: 'SYN answered by RST|ACK (refused)', rec: tcp(SYN, RST | ACK, 1), outcome: TcpOutcome.RESET, server: ServerSide.DESTINATION },
  { name: 'SYN, RST from the client itself, nothing back', rec: tcp(SYN | RST, 0, 0), outcome: TcpOutcome.RESET, server: ServerSide.DESTINATION },
  { name: 'FIN both ways after a handshake', rec: tcp(SYN | ACK | PSH | FIN, SYN | ACK | PSH | FIN, 5), outcome: TcpOutcome.COMPLETED, server: ServerSide.DESTINATION },
  { name: 'RST forward after a handshake', rec: tcp(SYN | ACK | RST, SYN | ACK, 2), outcome: TcpOutcome.RESET, server: ServerSide.DESTINATION },
  { name: 'half-closed (FIN forward only)', rec: tcp(SYN | ACK | FIN, SYN | ACK, 2), outcome: TcpOutcome.OTHER, server: ServerSide.DESTINATION },
  { name: 'handshake, no close (idle)', rec: tcp(SYN | ACK, SYN | ACK, 2), outcome: TcpOutcome.OTHER, server: ServerSide.DESTINATION },
  { name: 'mid-stream, forward from the client port', rec: tcp(ACK | PSH, ACK, 4), outcome: TcpOutcome.OTHER, server: ServerSide.DESTINATION },
  { name: 'mid-stream, forward from the server port', rec: tcp(ACK | PSH, ACK, 4, 443, 51_000), outcome: TcpOutcome.OTHER, server: ServerSide.SOURCE },
  { name: 'mid-stream, one direction only', rec: tcp(ACK | PSH, 0, 0, 22, 40_000), outcome: TcpOutcome.OTHER, server: ServerSide.SOURCE },
  { name: 'last part of a long connection, FIN both ways', rec: tcp(ACK | FIN, ACK | FIN, 2, 8080, 60_000), outcome: TcpOutcome.COMPLETED, server: ServerSide.SOURCE },
  { name: 'last part, RST reverse', rec: tcp(ACK, ACK | RST, 1), outcome: TcpOutcome.RESET, server: ServerSide.DESTINATION },
  { name: 'reverse pure SYN (the destination opened), low source port', rec: tcp(ACK, SYN, 1, 51_000, 80), outcome: TcpOutcome.OTHER, server: ServerSide.SOURCE },
  { name: 'forward SYN beats the port rule', rec: tcp(SYN | ACK, SYN | ACK, 3, 80, 51_000), outcome: TcpOutcome.OTHER, server: ServerSide.DESTINATION },
  { name: 'equal ports, no SYN: destination', rec: tcp(ACK, ACK, 1, 179, 179), outcome: TcpOutcome.OTHER, server: ServerSide.DESTINATION },
];

for (const { name, rec, outcome, server } of cases) {
  test(`TCP: ${name}`, () => {
    assert.equal(classifyTcpOutcome(rec), outcome);
    assert.equal(serverSide(rec), server);
  });
}

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
