import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureFilter, collectorDestinations } from '../../../src/capture/self-exclusion-filter.js';

describe('self-exclusion capture filter', () => {
  it('excludes each collector and keeps the user filter', () => {
    const own = [
      { address: '192.0.2.5', port: 4739, protocol: 'udp' as const },
      { address: '2001:db8::5', port: 2055, protocol: 'udp' as const },
    ];
    assert.equal(captureFilter('', []), '');
    assert.equal(captureFilter(' tcp ', []), 'tcp');
    assert.equal(captureFilter('', own), 'not ((udp and dst host 192.0.2.5 and dst port 4739) or (udp and dst host 2001:db8::5 and dst port 2055))');
    assert.equal(captureFilter('tcp or udp', own.slice(0, 1)), '(tcp or udp) and not ((udp and dst host 192.0.2.5 and dst port 4739))');
  });

  it('resolves collector names to every address, and keeps IP literals as they are', async () => {
    const own = await collectorDestinations(['127.0.0.1:4739', '[::1]:2055', 'localhost:9995']);
    assert.deepEqual(own.slice(0, 2), [
      { address: '127.0.0.1', port: 4739, protocol: 'udp' },
      { address: '::1', port: 2055, protocol: 'udp' },
    ]);
    assert.ok(own.slice(2).some((d) => d.address === '127.0.0.1' && d.port === 9995), JSON.stringify(own));
  });
});
