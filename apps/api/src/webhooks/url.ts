/**
 * The checks of an endpoint URL at registration: length (WEBHOOK_URL_MAX_LENGTH), http or https,
 * no credentials, and a host that resolves to public addresses only (unless
 * WEBHOOK_ALLOW_PRIVATE_ADDRESSES). The worker checks the addresses again at each delivery, where
 * they count (DNS can change in between).
 */
import { ApiError, limitExceeded } from '@backprop/contracts';
import { assertAllowed, hostOf, RefusedAddressError, resolveHost } from '@backprop/webhooks';

const SCHEMES = ['http', 'https'];

function badUrl(reason: string, accepted?: string[]): ApiError {
  return new ApiError('BP_ERR_VALIDATION', `url: ${reason}`, {
    field: 'url',
    ...(accepted ? { accepted } : {}),
  });
}

/** The URL as it will be called (normalised), or an ApiError naming `url` and the reason. */
export async function checkEndpointUrl(
  text: string,
  limits: { maxLength: number; allowPrivate: boolean },
): Promise<URL> {
  if (text.length > limits.maxLength) {
    throw limitExceeded('WEBHOOK_URL_MAX_LENGTH', text.length, limits.maxLength, 'the length of url');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badUrl('is not an absolute URL');
  }
  if (!SCHEMES.includes(url.protocol.slice(0, -1))) {
    throw badUrl(`the scheme must be http or https, not ${url.protocol.slice(0, -1)}`, SCHEMES);
  }
  if (url.username || url.password) {
    throw badUrl('must not contain credentials (user:password@): they would be stored and shown in clear');
  }
  if (limits.allowPrivate) return url;
  const host = hostOf(url);
  let addresses: Awaited<ReturnType<typeof resolveHost>>;
  try {
    addresses = await resolveHost(host);
  } catch (err) {
    const code =
      err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : 'lookup failed';
    throw badUrl(`its host ${host} does not resolve (${code})`);
  }
  try {
    assertAllowed(host, addresses);
  } catch (err) {
    if (err instanceof RefusedAddressError) {
      throw badUrl(
        `${err.message} (loopback, private, link-local, unique-local, multicast and reserved addresses are refused)`,
      );
    }
    throw err;
  }
  return url;
}
