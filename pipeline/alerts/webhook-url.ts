// Where a webhook may point. The URL is the merchant's, the request is ours: without a guard a
// merchant could make the service POST into its own network — the metadata server
// (169.254.169.254, metadata.google.internal, which hands out the service account's tokens), private
// ranges, loopback. So a webhook must resolve to public unicast addresses only, checked when it is set
// and again when each alert is sent, against the very addresses the connection then uses (a name that
// resolved to a public address when it was set may resolve to a private one later: DNS rebinding).
// Redirects are never followed (delivery.ts), so a public receiver cannot bounce the request inward.
// On gcp webhooks are https only. Locally — one machine, the merchant's own — a receiver on the
// loopback interface is allowed too, over http or https (the local end-to-end test and a developer's
// receiver run there); every other address rule holds.
//   OWASP: https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html
//   Metadata server: https://cloud.google.com/compute/docs/metadata/querying-metadata
//   Special-purpose addresses (IANA): https://www.iana.org/assignments/iana-ipv4-special-registry/,
//   https://www.iana.org/assignments/iana-ipv6-special-registry/ — ipaddr.js classifies them.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Resolves a host name to every address it has (what the connection may use). */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export interface WebhookPolicy {
  /** Local runtime only: receivers on the loopback interface, over http or https. */
  allowLoopback: boolean;
  /** Name resolution; the system resolver (getaddrinfo, as connections use) by default. */
  resolve?: Resolve;
}

export const GCP_WEBHOOKS: WebhookPolicy = { allowLoopback: false };
export const LOCAL_WEBHOOKS: WebhookPolicy = { allowLoopback: true };

export function webhookPolicyOf(runtime: 'gcp' | 'local'): WebhookPolicy {
  return runtime === 'gcp' ? GCP_WEBHOOKS : LOCAL_WEBHOOKS;
}

export class WebhookUrlError extends Error {
  override name = 'WebhookUrlError';
}

/** Names of the metadata server, refused whatever they resolve to. */
const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog']);
/** Global unicast IPv6 is allocated from 2000::/3; the rest (IPv4-compatible ::a.b.c.d included) is not a receiver. */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** `why` completes "<address> is …": what kind of address it is. */
type Verdict = { ok: true; loopback: boolean } | { ok: false; why: string };

/** Whether one address may receive a webhook: public unicast, or loopback where the policy allows it. */
export function addressVerdict(address: string, policy: WebhookPolicy): Verdict {
  if (!ipaddr.isValid(address)) return { ok: false, why: 'not an IP address' };
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it reaches.
  const ip = ipaddr.process(address);
  const range = ip.range();
  if (range === 'loopback') return policy.allowLoopback ? { ok: true, loopback: true } : { ok: false, why: 'a loopback address' };
  if (range !== 'unicast') return { ok: false, why: `a ${range} address` };
  if (ip.kind() === 'ipv6' && !(ip as ipaddr.IPv6).match(GLOBAL_UNICAST_V6)) return { ok: false, why: 'not a global unicast address' };
  return { ok: true, loopback: false };
}

/** The URL's scheme and host name, before any resolution: what can be refused without DNS. */
function parse(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError(`${raw} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookUrlError(`${url.protocol} is not allowed: webhooks are https`);
  const host = hostOf(url);
  if (METADATA_NAMES.has(host.replace(/\.$/, ''))) throw new WebhookUrlError(`${host} is the metadata server`);
  return url;
}

/** The host to resolve: the URL's host name without IPv6 brackets, lower case. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Every address must pass; plain http only to a loopback receiver where the policy allows one. */
function judge(url: URL, addresses: string[], policy: WebhookPolicy): void {
  if (addresses.length === 0) throw new WebhookUrlError(`${hostOf(url)} has no address`);
  for (const a of addresses) {
    const v = addressVerdict(a, policy);
    if (!v.ok) {
      const what = isIP(hostOf(url)) ? `${a} is ${v.why}` : `${hostOf(url)} resolves to ${a}, ${v.why}`;
      throw new WebhookUrlError(`${what}; webhooks go to public addresses`);
    }
    if (url.protocol === 'http:' && !v.loopback) throw new WebhookUrlError(`http is not allowed: webhooks are https${policy.allowLoopback ? ' (http only to a receiver on this machine)' : ''}`);
  }
}

async function resolveAll(host: string, policy: WebhookPolicy): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    return (await (policy.resolve ?? systemResolve)(host)).map((a) => a.address);
  } catch (err) {
    throw new WebhookUrlError(`${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

/** Checks a webhook URL as it is set: scheme, host and every address the host resolves to now. */
export async function checkWebhookUrl(raw: string, policy: WebhookPolicy): Promise<URL> {
  const url = parse(raw);
  judge(url, await resolveAll(hostOf(url), policy), policy);
  return url;
}

/**
 * The `lookup` of the delivery's connection: resolves the host, refuses the connection unless every
 * address passes, and hands the connection only the addresses it checked — so the address connected
 * to is one that was checked, whatever the name resolves to a moment later.
 */
export function guardedLookup(url: URL, policy: WebhookPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolveAll(hostname, policy).then(
      (addresses) => {
        try {
          judge(url, addresses, policy);
        } catch (err) {
          callback(err as NodeJS.ErrnoException, '', 0);
          return;
        }
        const found = addresses.map((address) => ({ address, family: isIP(address) }));
        const wanted = options.family === 4 || options.family === 6 ? found.filter((a) => a.family === options.family) : found;
        if (wanted.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no IPv${String(options.family)} address`), { code: 'ENOTFOUND' }), '', 0);
          return;
        }
        if (options.all) (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, wanted);
        else callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}

/** Checks what can be checked before connecting (scheme, metadata names, a literal IP host). */
export function checkBeforeConnect(raw: string, policy: WebhookPolicy): URL {
  const url = parse(raw);
  const host = hostOf(url);
  if (isIP(host)) judge(url, [host], policy);
  return url;
}
