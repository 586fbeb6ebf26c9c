/**
 * The shared webhook pieces: which addresses are refused (IPv4, IPv6, IPv4-mapped), how secrets
 * are generated and sealed, and that a signature verifies with an independent implementation
 * (the `standardwebhooks` package, and node:crypto following the specification's text).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  assertAllowed,
  generateSecret,
  guardedLookup,
  openSecret,
  RefusedAddressError,
  refusedRange,
  resolveHost,
  sealSecret,
  secretKeyBytes,
  signatureHeaders,
} from '../src/index.ts';

describe('refusedRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
    ['2001:db8::1', 'reserved'],
  ])('%s is refused (%s)', (address, range) => {
    expect(refusedRange(address)).toBe(range);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public unicast: allowed',
    (address) => {
      expect(refusedRange(address)).toBeNull();
    },
  );

  it('anything that is not an address is refused', () => {
    expect(refusedRange('localhost')).toBe('not an IP address');
  });
});

describe('resolution', () => {
  it('a name is refused if any address it resolves to is refused (localhost)', async () => {
    const addresses = await resolveHost('localhost');
    expect(addresses.some((a) => a.address === '127.0.0.1' || a.address === '::1')).toBe(true);
    expect(() => assertAllowed('localhost', addresses)).toThrow(RefusedAddressError);
    expect(() => assertAllowed('localhost', addresses)).toThrow(/localhost resolves to .* loopback address/);
  });

  it('an IP literal resolves to itself', async () => {
    expect(await resolveHost('::ffff:127.0.0.1')).toEqual([{ address: '::ffff:127.0.0.1', family: 6 }]);
  });

  it('guardedLookup refuses a name that resolves to loopback, in both callback forms', async () => {
    for (const all of [true, false]) {
      const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
        guardedLookup('localhost', { all }, (e) => resolve(e)),
      );
      expect(err).toBeInstanceOf(RefusedAddressError);
      expect(err?.code).toBe('ERR_WEBHOOK_ADDRESS_REFUSED');
    }
  });
});

describe('secrets', () => {
  const key = randomBytes(32);
  const endpointId = '0b7c3f0e-7d7e-4b43-9d6c-6f7f1e1c2a10';

  it('whsec_ + base64 of 32 random bytes, different every time', () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secretKeyBytes(a)).toHaveLength(32);
    expect(generateSecret()).not.toBe(a);
  });

  it('sealed under the key: the stored text does not contain the secret and opens back', () => {
    const secret = generateSecret();
    const sealed = sealSecret(secret, key, endpointId);
    expect(sealed).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(sealed).not.toContain(secret.slice(6));
    expect(openSecret(sealed, key, endpointId)).toBe(secret);
  });

  it('does not open under another key, for another endpoint, without a key, or tampered with', () => {
    const secret = generateSecret();
    const sealed = sealSecret(secret, key, endpointId);
    expect(() => openSecret(sealed, randomBytes(32), endpointId)).toThrow(
      /sealed with key [0-9a-f]{8}, not with/,
    );
    expect(() => openSecret(sealed, key, 'another-endpoint')).toThrow();
    expect(() => openSecret(sealed, null, endpointId)).toThrow(/WEBHOOK_SECRET_KEY is not set/);
    const parts = sealed.split(':');
    const ciphertext = Buffer.from(parts[3]!, 'base64');
    ciphertext[0] = ciphertext[0]! ^ 1;
    parts[3] = ciphertext.toString('base64');
    expect(() => openSecret(parts.join(':'), key, endpointId)).toThrow();
  });

  it('without a key: stored as it is, marked plain', () => {
    const secret = generateSecret();
    expect(sealSecret(secret, null, endpointId)).toBe(`plain:${secret}`);
    expect(openSecret(`plain:${secret}`, null, endpointId)).toBe(secret);
  });
});

describe('signature', () => {
  const secret = generateSecret();
  const body = JSON.stringify({ type: 'job.succeeded', timestamp: new Date().toISOString(), data: { x: 1 } });
  const headers = signatureHeaders({
    id: 'b0f3c2a4-1d2e-4f5a-8b9c-0d1e2f3a4b5c',
    timestampSeconds: Math.floor(Date.now() / 1000),
    body,
    secret,
  });

  it('verifies with the standardwebhooks package', () => {
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('verifies with node:crypto as the specification describes it (HMAC-SHA256 of id.timestamp.body)', () => {
    const [version, signature] = headers['webhook-signature'].split(',');
    expect(version).toBe('v1');
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
      .update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`)
      .digest();
    expect(timingSafeEqual(Buffer.from(signature!, 'base64'), expected)).toBe(true);
  });

  it('a changed body, id or timestamp, or another secret, does not verify', () => {
    const wh = new Webhook(secret);
    expect(() => wh.verify(`${body} `, { ...headers })).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-id': 'other' })).toThrow();
    const earlier = String(Number(headers['webhook-timestamp']) - 1);
    expect(() => wh.verify(body, { ...headers, 'webhook-timestamp': earlier })).toThrow();
    expect(() => new Webhook(generateSecret()).verify(body, { ...headers })).toThrow();
  });
});
