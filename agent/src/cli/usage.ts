/** Help texts, one per command; kept beside the parsers so options and help change together. */
export const MAIN_USAGE = `tapflow — lightweight network flow probe (pcap/pcapng → flows → IPFIX)

Usage:
  tapflow run --interface IF [options] capture live traffic into IPFIX (until SIGTERM/SIGINT)
  tapflow replay FILE... [options]     replay capture files (pcap, pcapng, '-' for stdin) into IPFIX
  tapflow inspect FILE.ipfix [--json]  print the flow records of an IPFIX file
  tapflow check-config FILE            validate a configuration file (exit 0 valid, 1 invalid)
  tapflow watch --mqtt URL [--probe ID] live view of a fleet of probes from their MQTT broker
  tapflow --help | --version

Run 'tapflow COMMAND --help' for a command's options.
Exit codes: 0 success, 1 usage or configuration error, 2 input file unreadable, corrupt or
truncated (replay: flows read before the damage are still exported), 3 replay: export failed or
lost messages (a collector unreachable or unresolvable, the IPFIX file not writable), run: the
meter failed (a service's lost messages are counted in its summary and health, not its exit
code); for watch, the broker unreachable or the subscription refused.`;

/** The export and fleet flags `run` and `replay` share (export-flags.ts, fleet-flags.ts). */
const SHARED_OPTIONS = `  --collector SPEC        send flows to a collector (repeatable): [FORMAT+]TRANSPORT://HOST:PORT
                          with ipfix+udp, ipfix+tcp, ipfix+tls, nfv9+udp or nfv5+udp; a bare
                          HOST:PORT is IPFIX over UDP; IPv6 literals in brackets
  --failover              send to the first healthy collector only (default: mirror to all)
  --biflow                IPFIX as RFC 5103 bidirectional records (one per flow)
  --sampling N[:random]   meter 1 packet in N (every Nth, or at random); announced to collectors
  --out FILE.ipfix        write an IPFIX file (RFC 5655)
  --mqtt URL              publish presence, health and summaries to this MQTT broker and take
                          commands (mqtt://, mqtts://, ws://, wss://; see README "Fleet channel")
  --probe-id ID           this probe's name in the fleet (default: the host name)
  --health-cron EXPR      health schedule, cron with seconds (default '*/30 * * * * *')
  --summary-cron EXPR     traffic summary schedule (default '0 * * * * *')
  --config FILE           configuration file (JSON, see probe-config/); flags override it`;

export const REPLAY_USAGE = `Usage: tapflow replay FILE... [options]

Reads pcap/pcapng files (or '-' for stdin) in order as one input, meters flows with the packet
timestamps as the clock, and exports every flow as IPFIX. With no --collector and no --out, the
records go to flows.ipfix in the current directory.

Options:
${SHARED_OPTIONS}
  --export-time WHEN      IPFIX export time: 'now' (default), 'packet' (the replay clock), or a
                          fixed UNIX time in seconds (byte-identical replays)
  --summary-json          print the final summary as one JSON object instead of text
  --quiet                 no progress lines
  -h, --help              this help`;

export const INSPECT_USAGE = `Usage: tapflow inspect FILE.ipfix [--json]

Prints the data records of an IPFIX file (RFC 5655) as a table, or with --json one JSON object
per record per line, keyed by IANA information element names.`;

export const CHECK_CONFIG_USAGE = `Usage: tapflow check-config FILE

Validates a tapflow configuration file against probe-config/tapflow.schema.json's rules and prints
every problem with its JSON path. Exit 0 when valid, 1 when not.`;

export const RUN_USAGE = `Usage: tapflow run --interface IF [options]

Captures live traffic (needs root or CAP_NET_RAW) on one or more interfaces into one flow table and
exports every flow as IPFIX, until SIGTERM or SIGINT, when every active flow is exported. With no
--collector and no --out, the records go to flows.ipfix in the current directory.

Options:
  -i, --interface IF      capture on IF (repeatable: a TAP's A and B ports)
  --filter BPF            capture filter (pcap-filter syntax); tapflow's own export is excluded
${SHARED_OPTIONS}
  --status-interval S     a status line on stderr every S seconds (default 10, 0 for none)
  --summary-json          print the final summary as one JSON object
  -q, --quiet             no status lines
  -h, --help              this help`;
