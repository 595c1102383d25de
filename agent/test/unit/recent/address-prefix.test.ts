import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAddressPrefix, prefixContains } from '../../../src/recent/address-prefix.js';

const words = (...values: number[]) => Uint32Array.from([...values, 0, 0, 0, 0].slice(0, 4));

test('parses IPv4 and IPv6 text into record words, clearing host bits', () => {
  const cases: [string, 4 | 6, Uint32Array, number][] = [
    ['192.0.2.7', 4, words(0xc0000207), 32],
    ['192.0.2.7/24', 4, words(0xc0000200), 24],
    ['0.0.0.0/0', 4, words(0), 0],
    ['10.255.255.255/9', 4, words(0x0a800000), 9],
    ['::', 6, words(0, 0, 0, 0), 128],
    ['::1', 6, words(0, 0, 0, 1), 128],
    ['2001:db8::/32', 6, words(0x20010db8, 0, 0, 0), 32],
    ['2001:DB8:0:0:1:0:0:1', 6, words(0x20010db8, 0, 0x00010000, 1), 128],
    ['2001:db8:a:b:c:d:e:f/60', 6, words(0x20010db8, 0x000a0000, 0, 0), 60],
    ['fe80::/10', 6, words(0xfe800000, 0, 0, 0), 10],
    ['::ffff:192.0.2.1', 6, words(0, 0, 0xffff, 0xc0000201), 128],
    ['64:ff9b::198.51.100.9/120', 6, words(0x0064ff9b, 0, 0, 0xc6336400), 120],
    ['1:2:3:4:5:6:7::', 6, words(0x00010002, 0x00030004, 0x00050006, 0x00070000), 128],
  ];
  for (const [text, ipVersion, expected, prefixLength] of cases) {
    assert.deepEqual(parseAddressPrefix(text), { ipVersion, words: expected, prefixLength }, text);
  }
  for (const bad of ['', '1.2.3', '1.2.3.4/', '1.2.3.4/33', '::/129', '1::2::3', 'fe80::1%eth0', '1.2.3.4/-1', 'host/24']) {
    assert.equal(parseAddressPrefix(bad), null, bad);
  }
});

test('prefixContains compares only the prefix bits and the IP version', () => {
  const v4 = parseAddressPrefix('198.51.100.0/22')!;
  assert.ok(prefixContains(v4, 4, words(0xc6336700), 0)); // 198.51.103.0
  assert.ok(!prefixContains(v4, 4, words(0xc6336800), 0)); // 198.51.104.0
  assert.ok(!prefixContains(v4, 6, words(0xc6336400), 0));
  const v6 = parseAddressPrefix('2001:db8:8000::/33')!;
  const record = new Uint32Array([9, 9, 9, 9, 0x20010db8, 0x80000000, 1, 2]);
  assert.ok(prefixContains(v6, 6, record, 4));
  record[5] = 0x7fffffff;
  assert.ok(!prefixContains(v6, 6, record, 4));
  assert.ok(prefixContains(parseAddressPrefix('::/0')!, 6, record, 4));
});
