// API keys: shown once, stored as hashes, revocable, scoped to a tenant.
import { describe, expect, it } from 'vitest';
import { authenticateApiKey, createApiKey, createTenant, listApiKeys, revokeApiKey } from '../src/index.ts';
import { useTestDatabase } from './helpers.ts';

const t = useTestDatabase();

describe('API keys', () => {
  it('authenticate as their tenant, are stored only as a hash, and stop working once revoked', async () => {
    const acme = await createTenant(t.db, { name: 'acme' });
    const { key, apiKey } = await createApiKey(t.db, { tenantId: acme.id, name: 'ci' });
    expect(key).toMatch(/^bp_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).not.toHaveProperty('hash');
    expect(key.startsWith(apiKey.prefix)).toBe(true);

    const stored = await t.db.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(stored.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(key.slice(apiKey.prefix.length));

    expect(await authenticateApiKey(t.db, key)).toEqual({ keyId: apiKey.id, tenantId: acme.id });
    expect((await t.db.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).lastUsedAt).not.toBeNull();
    expect(await authenticateApiKey(t.db, `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    expect(await authenticateApiKey(t.db, 'not-a-key')).toBeNull();

    expect(await revokeApiKey(t.db, apiKey.id)).toBe(true);
    expect(await revokeApiKey(t.db, apiKey.id)).toBe(false);
    expect(await authenticateApiKey(t.db, key)).toBeNull();
  });

  it('list per tenant, without hashes', async () => {
    const a = await createTenant(t.db, { name: 'list-a' });
    const b = await createTenant(t.db, { name: 'list-b' });
    await createApiKey(t.db, { tenantId: a.id, name: 'one' });
    await createApiKey(t.db, { tenantId: a.id, name: 'two' });
    await createApiKey(t.db, { tenantId: b.id, name: 'three' });
    const keys = await listApiKeys(t.db, a.id);
    expect(keys.map((k) => k.name)).toEqual(['one', 'two']);
    for (const k of keys) expect(k).not.toHaveProperty('hash');
  });
});
