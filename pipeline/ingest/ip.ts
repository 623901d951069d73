// IPv4/IPv6 helpers of ingest: the fraud-list matcher (exact addresses and CIDR ranges) and the
// truncation that keeps client IPs out of storage (/24 for IPv4, /48 for IPv6). Hand-written
// because node:net BlockList allocates a SocketAddress per lookup, which is most of the cost of
// checking every event.

/** An IPv4 address as an unsigned 32-bit integer, or undefined when `text` is not dotted-quad IPv4. */
export function parseIpv4(text: string): number | undefined {
  let value = 0;
  let octet = -1;
  let parts = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (octet < 0 || octet > 255) return undefined;
      value = value * 256 + octet;
      parts++;
      octet = -1;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      // A leading zero would make `010` ambiguous (octal in some parsers): not an address.
      if (digits === 1 && octet === 0) return undefined;
      octet = (octet < 0 ? 0 : octet * 10) + (c - 0x30);
      digits++;
    } else return undefined;
  }
  return parts === 4 ? value : undefined;
}

/** An IPv6 address as eight 16-bit groups (a dotted IPv4 tail allowed), or undefined. */
export function parseIpv6(text: string): number[] | undefined {
  if (text.indexOf(':') === -1) return undefined;
  let body = text;
  let tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  const last = body.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIpv4(last);
    if (v4 === undefined) return undefined;
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    body = body.slice(0, lastColon + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1); // drop the separator before the IPv4 tail
  }
  const double = body.indexOf('::');
  if (double !== -1 && body.indexOf('::', double + 1) !== -1) return undefined;
  let groups: number[];
  if (double === -1) {
    const all = parseGroups(body);
    if (!all) return undefined;
    groups = [...all, ...tail];
    if (groups.length !== 8) return undefined;
  } else {
    const head = parseGroups(body.slice(0, double));
    const rest = parseGroups(body.slice(double + 2));
    if (!head || !rest) return undefined;
    const known = head.length + rest.length + tail.length;
    if (known > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
  }
  return groups;
}

/** Colon-separated hex groups (`2001:db8`), or undefined when any group is not 1-4 hex digits. */
function parseGroups(text: string): number[] | undefined {
  const out: number[] = [];
  if (text === '') return out;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x3a;
    if (c === 0x3a) {
      if (digits === 0) return undefined;
      out.push(value);
      value = 0;
      digits = 0;
      continue;
    }
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return undefined;
    if (++digits > 4) return undefined;
    value = value * 16 + d;
  }
  return out;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), if it is one. */
function mappedIpv4(groups: number[]): number | undefined {
  for (let i = 0; i < 5; i++) if (groups[i] !== 0) return undefined;
  return groups[5] === 0xffff ? groups[6]! * 65536 + groups[7]! : undefined;
}

const v4Mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

function v6Key(groups: number[], prefix: number): string {
  let key = '';
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    const g = bits === 0 ? 0 : groups[i]! & ((0xffff << (16 - bits)) & 0xffff);
    key += g.toString(16) + ':';
  }
  return key;
}

/**
 * Matches client IPs against a list of addresses and CIDR ranges (`203.0.113.7`,
 * `198.51.100.0/24`, `2001:db8::/32`). IPv4 addresses and their IPv4-mapped IPv6 forms are the
 * same address to it (as to node:net BlockList). Cost per
 * lookup: one set lookup per distinct prefix length in the list.
 */
export class IpMatcher {
  private readonly v4 = new Map<number, Set<number>>();
  private readonly v6 = new Map<number, Set<string>>();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const slash = entry.indexOf('/');
      const address = slash === -1 ? entry : entry.slice(0, slash);
      const prefixText = slash === -1 ? undefined : entry.slice(slash + 1);
      const v4 = parseIpv4(address);
      if (v4 !== undefined) {
        const prefix = prefixText === undefined ? 32 : parsePrefix(prefixText, 32, entry);
        this.add(this.v4, prefix, (v4 & v4Mask(prefix)) >>> 0);
        continue;
      }
      const v6 = parseIpv6(address);
      if (!v6) throw new Error(`fraud IP list entry ${JSON.stringify(entry)} is not an IP address or CIDR range`);
      const prefix = prefixText === undefined ? 128 : parsePrefix(prefixText, 128, entry);
      const mapped = mappedIpv4(v6);
      if (mapped !== undefined && prefix >= 96) this.add(this.v4, prefix - 96, (mapped & v4Mask(prefix - 96)) >>> 0);
      else this.add(this.v6, prefix, v6Key(v6, prefix));
    }
    this.size = entries.length;
  }

  private add<T>(map: Map<number, Set<T>>, prefix: number, key: T): void {
    let set = map.get(prefix);
    if (!set) map.set(prefix, (set = new Set()));
    set.add(key);
  }

  /** True when `ip` lies in any entry; false for text that is not an IP address. */
  has(ip: string): boolean {
    let v4 = parseIpv4(ip);
    if (v4 === undefined) {
      const v6 = parseIpv6(ip);
      if (!v6) return false;
      v4 = mappedIpv4(v6);
      if (v4 === undefined) {
        for (const [prefix, set] of this.v6) if (set.has(v6Key(v6, prefix))) return true;
        return false;
      }
    }
    for (const [prefix, set] of this.v4) if (set.has((v4 & v4Mask(prefix)) >>> 0)) return true;
    // An IPv4 address is also ::ffff:a.b.c.d, which wide IPv6 ranges such as ::/0 contain.
    if (this.v6.size > 0) {
      const mapped = [0, 0, 0, 0, 0, 0xffff, Math.floor(v4 / 65536), v4 % 65536];
      for (const [prefix, set] of this.v6) if (set.has(v6Key(mapped, prefix))) return true;
    }
    return false;
  }
}

function parsePrefix(text: string, max: number, entry: string): number {
  if (!/^\d{1,3}$/.test(text) || Number(text) > max) throw new Error(`fraud IP list entry ${JSON.stringify(entry)} has a bad prefix length`);
  return Number(text);
}

/**
 * Truncates a client IP for storage: IPv4 to its /24 (`203.0.113.0`), IPv6 to its /48 in RFC 5952
 * form (`2001:db8:85a3::`); an IPv4-mapped IPv6 address is truncated as IPv4. Text that is not an
 * IP address (validation never lets one through) becomes null rather than being stored.
 */
export function truncateIp(ip: string): string | null {
  const v4 = parseIpv4(ip);
  if (v4 !== undefined) return `${v4 >>> 24}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.0`;
  const groups = parseIpv6(ip);
  if (!groups) return null;
  const mapped = mappedIpv4(groups);
  if (mapped !== undefined) return `${mapped >>> 24}.${(mapped >>> 16) & 0xff}.${(mapped >>> 8) & 0xff}.0`;
  return formatIpv6([groups[0]!, groups[1]!, groups[2]!, 0, 0, 0, 0, 0]);
}

/** RFC 5952: lower-case hex, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
export function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
