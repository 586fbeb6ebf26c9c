// API keys: random, shown once, stored only as SHA-256. A key is looked up by its hash (a unique
// index), and the stored hash is compared again in constant time, so neither the database's
// comparison nor ours tells an attacker how much of a guess was right.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from './generated/prisma/client.ts';
import { type DbOrTx, isUuid } from './internal.ts';

const KEY_PREFIX = 'bp_';
/** What lists show of a key: enough to tell keys apart, far too little to guess one. */
const SHOWN_CHARACTERS = 10;

export type ApiKeySummary = Omit<ApiKey, 'hash'>;

function hashOf(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new key for the tenant. The returned `key` is the only time the plaintext exists. */
export async function createApiKey(
  db: DbOrTx,
  input: { tenantId: string; name: string },
): Promise<{ key: string; apiKey: ApiKeySummary }> {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const apiKey = await db.apiKey.create({
    data: {
      tenantId: input.tenantId,
      name: input.name,
      prefix: key.slice(0, SHOWN_CHARACTERS),
      hash: hashOf(key),
    },
    omit: { hash: true },
  });
  return { key, apiKey };
}

/** The live (not revoked) key matching `presented`, or null. Also records when it was last used. */
export async function authenticateApiKey(
  db: DbOrTx,
  presented: string,
): Promise<{ keyId: string; tenantId: string } | null> {
  if (!presented.startsWith(KEY_PREFIX) || presented.length > 200) return null;
  const hash = hashOf(presented);
  const row = await db.apiKey.findUnique({ where: { hash } });
  if (!row || row.revokedAt !== null) return null;
  if (!timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  // Best effort and coarse (once a minute): it must not turn every request into a write.
  await db.$executeRaw`
    UPDATE "ApiKey" SET "lastUsedAt" = now()
    WHERE "id" = ${row.id}::uuid AND ("lastUsedAt" IS NULL OR "lastUsedAt" < now() - interval '1 minute')`;
  return { keyId: row.id, tenantId: row.tenantId };
}

export async function listApiKeys(db: DbOrTx, tenantId?: string): Promise<ApiKeySummary[]> {
  return db.apiKey.findMany({
    where: tenantId === undefined ? {} : { tenantId },
    orderBy: { createdAt: 'asc' },
    omit: { hash: true },
  });
}

/** Revokes a key; the next request with it is refused. False if there is no such live key. */
export async function revokeApiKey(db: DbOrTx, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const { count } = await db.apiKey.updateMany({
    where: { id, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return count === 1;
}
