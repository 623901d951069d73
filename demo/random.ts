// Seeded pseudo-random numbers for the demo workload: the same seed always yields the same workload.
// sfc32 is small, fast and passes PractRand far beyond the few million draws a workload needs.

/** Hashes a seed string into four 32-bit words (cyrb128), so any text can seed the generator. */
function seedWords(seed: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < seed.length; i++) {
    const k = seed.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string) {
    [this.a, this.b, this.c, this.d] = seedWords(seed);
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A child generator whose stream does not depend on how many draws the parent makes later. */
  fork(label: string): Rng {
    return new Rng(`${this.u32()}:${label}`);
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  range(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Index drawn with probability proportional to weights[i], given their running totals. */
  weightedIndex(cumulative: readonly number[]): number {
    const total = cumulative[cumulative.length - 1] ?? 0;
    const x = this.next() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Poisson draw: Knuth's method for small means, a rounded normal approximation for large ones. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 40) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  hex(bytes: number): string {
    let s = '';
    for (let i = 0; i < bytes; i += 4) {
      const x = this.u32();
      s += HEX[x & 255]! + HEX[(x >>> 8) & 255]! + HEX[(x >>> 16) & 255]! + HEX[x >>> 24]!;
    }
    return s.length > bytes * 2 ? s.slice(0, bytes * 2) : s;
  }

  /** A random (version 4 shaped) UUID, the way client SDKs make event ids. */
  uuid(): string {
    // hex(16)'s 16 bytes (four draws, each written low byte first) cut into 8-4-4-4-12 with the version
    // nibble and the variant bits set, put together from the draws instead of cutting the hex string.
    const a = this.u32();
    const b = this.u32();
    const c = this.u32();
    const d = this.u32();
    return (
      HEX[a & 255]! + HEX[(a >>> 8) & 255]! + HEX[(a >>> 16) & 255]! + HEX[a >>> 24]! + '-' +
      HEX[b & 255]! + HEX[(b >>> 8) & 255]! + '-4' + HEX[(b >>> 16) & 255]![1]! + HEX[b >>> 24]! + '-' +
      HEX[(c & 0x3f) | 0x80]! + HEX[(c >>> 8) & 255]! + '-' +
      HEX[(c >>> 16) & 255]! + HEX[c >>> 24]! + HEX[d & 255]! + HEX[(d >>> 8) & 255]! + HEX[(d >>> 16) & 255]! + HEX[d >>> 24]!
    );
  }
}

/** Running totals of weights, for Rng.weightedIndex. */
export function cumulative(weights: readonly number[]): number[] {
  let s = 0;
  return weights.map((w) => (s += w));
}
