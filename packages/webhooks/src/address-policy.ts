/**
 * Which addresses a webhook may call (SSRF, OWASP API7): public unicast only. Loopback, private
 * (RFC 1918), carrier-grade NAT, link-local (cloud metadata at 169.254.169.254), unique-local,
 * multicast, broadcast, unspecified, reserved and documentation ranges, and the IPv6 forms that
 * embed an IPv4 address (mapped, translated, NAT64, 6to4, Teredo) are refused, so a tenant cannot
 * make the service call into its own network. The check runs on the addresses a name resolves to,
 * at registration and again at delivery, where the connection uses exactly the checked addresses
 * (guardedLookup), so a name that resolves elsewhere later (DNS rebinding) gains nothing.
 */
import { type LookupAddress, lookup } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why an address may not be called (its range, e.g. `loopback`), or null for public unicast. */
export function refusedRange(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  // process(): an IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4 it carries.
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  return range === 'unicast' ? null : range;
}

/** A URL's host as an address or a name: `[::1]` → `::1`. */
export function hostOf(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export class RefusedAddressError extends Error {
  override readonly name = 'RefusedAddressError';
  readonly code = 'ERR_WEBHOOK_ADDRESS_REFUSED';
  constructor(host: string, address: string, range: string) {
    super(
      host === address
        ? `${address} is a ${range} address, which webhooks may not call`
        : `${host} resolves to ${address}, a ${range} address, which webhooks may not call`,
    );
  }
}

/** Every address a host resolves to (an IP literal is itself). Rejects if it does not resolve. */
export function resolveHost(host: string): Promise<LookupAddress[]> {
  if (isIP(host)) return Promise.resolve([{ address: host, family: isIP(host) }]);
  return new Promise((resolve, reject) =>
    lookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );
}

/** Throws RefusedAddressError if any address is refused: one private answer is enough to refuse. */
export function assertAllowed(host: string, addresses: readonly LookupAddress[]): void {
  for (const { address } of addresses) {
    const range = refusedRange(address);
    if (range !== null) throw new RefusedAddressError(host, address, range);
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.request / net.connect that resolves the name, refuses it if any address is
 * refused, and hands the socket exactly the addresses it checked. (An IP literal in the URL never
 * reaches a lookup: check it with assertAllowed first.)
 */
export function guardedLookup(
  hostname: string,
  options: { all?: boolean; family?: number | string },
  callback: LookupCallback,
): void {
  const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0);
  lookup(hostname, { all: true, verbatim: true, family }, (err, addresses) => {
    if (err) return callback(err, []);
    try {
      assertAllowed(hostname, addresses);
    } catch (refused) {
      return callback(refused as NodeJS.ErrnoException, []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first)
      return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}
