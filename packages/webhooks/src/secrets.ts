/**
 * Signing secrets: generated as the Standard Webhooks specification writes them (`whsec_` +
 * base64 of random bytes), shown to the tenant once, and stored sealed with AES-256-GCM under
 * the operator's WEBHOOK_SECRET_KEY, the endpoint id bound in as associated data (a sealed secret
 * copied onto another endpoint's row does not open). A database leak alone then reveals no
 * secret. Without a key they are stored as they are (`plain:`), and the services say so at boot.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
/** 32 random bytes (256 bits): the specification asks for 24 to 64. */
const SECRET_BYTES = 32;

export function generateSecret(): string {
  return PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** The HMAC key: the secret's base64 part, decoded (what verifiers of the specification use). */
export function secretKeyBytes(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('a webhook secret starts with whsec_');
  return Buffer.from(secret.slice(PREFIX.length), 'base64');
}

/** WEBHOOK_SECRET_KEY: base64 of exactly 32 bytes, or null when unset. */
export function parseSecretKey(text: string | undefined): Buffer | null {
  if (text === undefined || text.trim() === '') return null;
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) {
    throw new Error(
      `WEBHOOK_SECRET_KEY must be base64 of 32 bytes (e.g. \`openssl rand -base64 32\`), got ${key.length} bytes`,
    );
  }
  return key;
}

/** Names a key without revealing it, so a secret sealed under another key is told apart. */
function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** `v1:<key id>:<iv>:<ciphertext>:<tag>` under the key, or `plain:<secret>` without one. */
export function sealSecret(secret: string, key: Buffer | null, endpointId: string): string {
  if (key === null) return `plain:${secret}`;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(endpointId));
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [
    'v1',
    keyId(key),
    iv.toString('base64'),
    sealed.toString('base64'),
    cipher.getAuthTag().toString('base64'),
  ].join(':');
}

/** The secret back; throws with the reason if the key is missing, another one, or it was tampered with. */
export function openSecret(stored: string, key: Buffer | null, endpointId: string): string {
  if (stored.startsWith('plain:')) return stored.slice('plain:'.length);
  const [version, id, iv, sealed, tag] = stored.split(':');
  if (version !== 'v1' || !id || !iv || !sealed || !tag)
    throw new Error('the stored webhook secret is malformed');
  if (key === null)
    throw new Error(`the webhook secret is sealed (key ${id}) but WEBHOOK_SECRET_KEY is not set`);
  if (keyId(key) !== id) {
    throw new Error(
      `the webhook secret is sealed with key ${id}, not with WEBHOOK_SECRET_KEY (${keyId(key)})`,
    );
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  decipher.setAAD(Buffer.from(endpointId));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64')), decipher.final()]).toString('utf8');
}
