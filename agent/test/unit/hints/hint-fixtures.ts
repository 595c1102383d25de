/**
 * Hand-made payloads (transport payload only, no lower layers), each field commented. Built from
 * RFC 1035 §4.1, RFC 9112 §3 and RFC 8446 §4.1.2 / RFC 6066 §3 / RFC 7301 §3.1.
 */

export function hex(text: string): Uint8Array {
  const clean = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

/** A query for www.example.com AAAA. */
export const DNS_QUERY = hex(`
  1234            # id
  0100            # flags: query, RD
  0001 0000 0000 0000   # QD=1 AN=0 NS=0 AR=0
  03 777777 07 6578616d706c65 03 636f6d 00   # www.example.com
  001c 0001       # QTYPE AAAA, QCLASS IN
`);

/** An NXDOMAIN response whose question name is a compression pointer to a name after it. */
export const DNS_RESPONSE_POINTER = hex(`
  abcd            # id
  8183            # flags: response, RD, RA, RCODE 3 (NXDOMAIN)
  0001 0000 0000 0000
  c012            # name: pointer to offset 18
  0010 0001       # QTYPE TXT, QCLASS IN
  04 74657374 00  # offset 18: "test"
`);

/** Two pointers pointing at each other: a loop the hop cap must stop. */
export const DNS_POINTER_LOOP = hex(`
  0000 0100 0001 0000 0000 0000
  c00e            # offset 12: pointer to 14
  c00c            # offset 14: pointer to 12
  0001 0001
`);

/** DNS_QUERY over TCP: 2-byte length prefix first (RFC 1035 §4.2.2). */
export const DNS_TCP_QUERY = Uint8Array.from([0x00, DNS_QUERY.length, ...DNS_QUERY]);

export const HTTP_REQUEST = ascii('PATCH /x HTTP/1.1\r\nUser-Agent: t\r\nhOsT: \t api.example.org \r\nAccept: */*\r\n\r\n');
export const HTTP_REQUEST_CUT = ascii('GET /index.html HTTP/1.1\r\nUser-Agent: t\r\nHo');
export const HTTP_RESPONSE = ascii('HTTP/1.0 503 Service Unavailable\r\n\r\n');
export const SMTP_COMMAND = ascii('MAIL FROM:<a@b>\r\n');

/** A ClientHello: SNI "example.net", ALPN h2 + http/1.1, supported_versions GREASE, 1.3, 1.2. */
export const TLS_CLIENT_HELLO = (() => {
  const sni = hex(`0000 0010  000e  00 000b 6578616d706c652e6e6574`); // type 0, len 16; list 14; host_name len 11
  const alpn = hex(`0010 000e  000c  02 6832  08 687474702f312e31`); // type 16; list 12; "h2", "http/1.1"
  const versions = hex(`002b 0007  06 3a3a 0304 0303`); // type 43; 3 versions (0x3a3a is GREASE)
  const extensions = Uint8Array.from([...sni, ...alpn, ...versions]);
  const body = Uint8Array.from([
    0x03, 0x03, // legacy_version TLS 1.2
    ...new Uint8Array(32).fill(7), // random
    0x00, // legacy_session_id: empty
    0x00, 0x02, 0x13, 0x01, // cipher_suites: TLS_AES_128_GCM_SHA256
    0x01, 0x00, // compression: null
    extensions.length >> 8, extensions.length & 0xff, ...extensions,
  ]);
  const handshake = Uint8Array.from([0x01, 0x00, body.length >> 8, body.length & 0xff, ...body]); // ClientHello
  return Uint8Array.from([0x16, 0x03, 0x01, handshake.length >> 8, handshake.length & 0xff, ...handshake]); // record
})();

/** A ServerHello selecting TLS 1.3 through supported_versions. */
export const TLS_SERVER_HELLO = hex(`
  16 0303 0032                # record: handshake, 0x0303, length 50
  02 00002e                   # ServerHello, length 46
  0303                        # legacy_version
  ${'11'.repeat(32)}          # random
  00                          # legacy_session_id_echo: empty
  1301 00                     # cipher_suite, compression
  0006 002b 0002 0304         # extensions: supported_versions = TLS 1.3
`);
