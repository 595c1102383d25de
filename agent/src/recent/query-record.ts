/**
 * One ring slot as a flows.query result record: plain data (numbers, strings, null) under the
 * names RECENT_FLOW_COLUMNS gives, after the two addresses as text, then the hint's serverName
 * (DNS query name, HTTP Host or TLS server name; null when none). Runs per returned record
 * at query time, never on the export path; it allocates the object and its strings.
 */
import { FLOW_END_REASON_NAMES } from '../export/ipfix/information-elements.js';
import { formatAddressWords } from '../summary/format-address.js';
import { RECENT_FLOW_COLUMNS, type ColumnFormat } from './recent-flow-columns.js';
import { RECENT_SERVER_NAME_BYTES, type RecentFlowRing } from './recent-flow-ring.js';

export type QueryRecord = Record<string, number | string | null>;

export function queryRecordAt(ring: RecentFlowRing, slot: number): QueryRecord {
  const ipVersion = ring.column('ipVersion')[slot]!;
  const record: QueryRecord = {
    sourceAddress: formatAddressWords(ipVersion, ring.srcAddr, slot * 4),
    destinationAddress: formatAddressWords(ipVersion, ring.dstAddr, slot * 4),
  };
  for (const column of RECENT_FLOW_COLUMNS) {
    const format: ColumnFormat = 'format' in column ? column.format : 'number';
    record[column.name] = formatValue(ring.column(column.field)[slot]!, format);
  }
  const nameLength = ring.serverNameLength[slot]!;
  const nameAt = slot * RECENT_SERVER_NAME_BYTES;
  record.serverName = nameLength === 0 ? null : latin1.decode(ring.serverName.subarray(nameAt, nameAt + nameLength));
  return record;
}

function formatValue(value: number, format: ColumnFormat): number | string | null {
  switch (format) {
    case 'number':
      return value;
    case 'endReason':
      return FLOW_END_REASON_NAMES[value] ?? `unknown-${value}`;
    case 'mac':
      return value === 0 ? null : formatMac(value);
    case 'outcome':
      return CONNECTION_OUTCOME_NAMES[value] ?? `unknown-${value}`;
    case 'appHint':
      return value === 0 ? null : (APP_HINT_NAMES[value] ?? `unknown-${value}`);
  }
}

/** ConnectionOutcome values as names (flow-record.ts). */
const CONNECTION_OUTCOME_NAMES = ['notTcp', 'completed', 'resetByClient', 'resetByServer', 'rejected', 'synUnanswered', 'openAtActiveTimeout', 'idle', 'midStream'];

/** AppHintKind values as names (hints/app-hints.ts); none is null. */
const APP_HINT_NAMES = ['', 'dns', 'http', 'tls'];

const latin1 = new TextDecoder('latin1');

/** A 48-bit MAC address kept as an integer → `aa:bb:cc:dd:ee:ff`. */
function formatMac(value: number): string {
  const hex = value.toString(16).padStart(12, '0');
  return hex.match(/../g)!.join(':');
}
