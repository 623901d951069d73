// Tests of the IP helpers: parsing, the fraud-list matcher (checked against node:net BlockList
// on random addresses) and truncation for storage.
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import fc from 'fast-check';
import { IpMatcher, parseIpv4, parseIpv6, truncateIp } from '../../../pipeline/ingest/ip.js';

describe('parseIpv4', () => {
  it('parses dotted quads and refuses anything else', () => {
    assert.deepStrictEqual(
      ['0.0.0.0', '255.255.255.255', '203.0.113.7', '256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1..2.3', '', 'a.b.c.d', '1.2.3.4 '].map(parseIpv4),
      [0, 4294967295, 3405803783, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined],
    );
  });
});

describe('parseIpv6', () => {
  it('parses full, compressed and IPv4-tailed forms and refuses malformed ones', () => {
    assert.deepStrictEqual(parseIpv6('2001:db8:0:0:0:0:0:1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    assert.deepStrictEqual(parseIpv6('2001:DB8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    assert.deepStrictEqual(parseIpv6('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepStrictEqual(parseIpv6('::ffff:198.51.100.7'), [0, 0, 0, 0, 0, 0xffff, 0xc633, 0x6407]);
    assert.deepStrictEqual(parseIpv6('1:2:3:4:5:6:1.2.3.4'), [1, 2, 3, 4, 5, 6, 0x102, 0x304]);
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1.2.3.4', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7::8']) {
      assert.equal(parseIpv6(bad), undefined, bad);
    }
  });
});

describe('IpMatcher', () => {
  const matcher = new IpMatcher(['203.0.113.7', '198.51.100.0/24', '10.0.0.0/8', '2001:db8:bad::/48', '2001:db8::42', '::ffff:192.0.2.0/120']);

  it('matches exact addresses and addresses inside ranges, IPv4 and IPv6', () => {
    assert.deepStrictEqual(
      ['203.0.113.7', '203.0.113.8', '198.51.100.255', '198.51.101.0', '10.200.1.1', '11.0.0.1', '2001:db8:bad:1::9', '2001:db8:bae::1', '2001:db8::42', '2001:db8::43'].map((ip) =>
        matcher.has(ip),
      ),
      [true, false, true, false, true, false, true, false, true, false],
    );
  });

  it('matches IPv4-mapped IPv6 addresses against IPv4 entries and the other way round', () => {
    assert.deepStrictEqual(['::ffff:203.0.113.7', '::ffff:cb00:7107', '::ffff:203.0.113.9', '192.0.2.10'].map((ip) => matcher.has(ip)), [true, true, false, true]);
  });

  it('answers false for text that is not an address', () => {
    assert.equal(matcher.has('not an ip'), false);
  });

  it('refuses a list entry that is not an address or range', () => {
    assert.throws(() => new IpMatcher(['10.0.0.0/33']), new Error('fraud IP list entry "10.0.0.0/33" has a bad prefix length'));
    assert.throws(() => new IpMatcher(['example.com']), new Error('fraud IP list entry "example.com" is not an IP address or CIDR range'));
  });

  it('agrees with node:net BlockList on random IPv4 and IPv6 addresses and ranges', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.tuple(v4, fc.integer({ min: 0, max: 32 })), fc.tuple(v6, fc.integer({ min: 0, max: 128 }))), { minLength: 1, maxLength: 5 }),
        fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 10 }),
        (ranges, ips) => {
          const list = new BlockList();
          for (const [net, prefix] of ranges) list.addSubnet(net, prefix, net.includes(':') ? 'ipv6' : 'ipv4');
          const mine = new IpMatcher(ranges.map(([net, prefix]) => `${net}/${prefix}`));
          // Probe the range bases too, so matches are not left to chance.
          for (const ip of [...ips, ...ranges.map(([net]) => net)]) {
            assert.equal(mine.has(ip), list.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4'), `${ip} in ${JSON.stringify(ranges)}`);
          }
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });
});

describe('truncateIp', () => {
  it('keeps the /24 of an IPv4 address', () => {
    assert.equal(truncateIp('203.0.113.254'), '203.0.113.0');
  });

  it('keeps the /48 of an IPv6 address in RFC 5952 form', () => {
    assert.deepStrictEqual(
      ['2001:0DB8:85a3:1234:5678::1', '2001:db8::1', '::1', 'fe80:0:0:1::', '2001:db8:0:0:0:0:0:1', '0:db8:1::'].map(truncateIp),
      ['2001:db8:85a3::', '2001:db8::', '::', 'fe80::', '2001:db8::', '0:db8:1::'],
    );
  });

  it('truncates an IPv4-mapped IPv6 address as IPv4', () => {
    assert.deepStrictEqual(['::ffff:c633:6407', '::ffff:198.51.100.7'].map(truncateIp), ['198.51.100.0', '198.51.100.0']);
  });

  it('returns null for text that is not an address, so nothing unexpected is stored', () => {
    assert.equal(truncateIp('localhost'), null);
  });
});
