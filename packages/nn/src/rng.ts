/**
 * A small seeded random number generator that gives the same numbers on every machine and every
 * JavaScript engine: initial weights and mini-batch shuffles depend only on the seed.
 *
 * - Uniform integers: xoshiro128** (Blackman and Vigna), 128 bits of state as four uint32 words,
 *   seeded through splitmix32. Only 32-bit integer operations (Math.imul, shifts), so exact.
 * - Uniform doubles in [0, 1): 53 random bits, exact.
 * - Standard normals: the polar form of the Box–Muller transform (Marsaglia), which needs sqrt
 *   (correctly rounded by IEEE 754, so the same everywhere) and log. Math.log is NOT required to be
 *   correctly rounded and engines differ in the last bit, so log here is fdlibm's algorithm written
 *   out with + − × ÷ only, which every engine computes identically.
 *
 * The state is exportable (`state()`) and restorable (`Rng.fromState`), so a checkpoint can resume
 * the shuffle sequence exactly where it stopped.
 */
import { NnInputError } from './errors.ts';

/** The generator's state: four uint32 words (not all zero). */
export type RngState = readonly [number, number, number, number];

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator seeded with an integer in [0, 2³²). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new NnInputError(`Rng: seed must be an integer in [0, 4294967295], got ${seed}`);
    }
    // splitmix32: spreads a small seed over all 128 bits of state.
    let x = seed | 0;
    const words = [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      words[i] = (z ^ (z >>> 15)) >>> 0;
    }
    this.s0 = words[0]!;
    this.s1 = words[1]!;
    this.s2 = words[2]!;
    this.s3 = words[3]!;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator that continues from a saved state. */
  static fromState(state: RngState): Rng {
    const ok =
      Array.isArray(state) &&
      state.length === 4 &&
      state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
      state.some((w) => w !== 0);
    if (!ok) {
      throw new NnInputError('Rng.fromState: the state must be four uint32 words, not all zero');
    }
    const rng = new Rng(0);
    rng.s0 = state[0];
    rng.s1 = state[1];
    rng.s2 = state[2];
    rng.s3 = state[3];
    return rng;
  }

  /** A copy of the current state. */
  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** The next uniform uint32 (xoshiro128**). */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * A standard normal N(0, 1) by the polar Box–Muller method: draw (u, v) uniform in the unit
   * disc, s = u² + v², return u·sqrt(−2·log(s)/s). The second normal of the pair is dropped so the
   * state stays four words.
   */
  normal(): number {
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) return u * Math.sqrt((-2 * log(s)) / s);
    }
  }

  /** An integer uniform in [0, n). */
  below(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Shuffle in place (Fisher–Yates). */
  shuffle(a: Int32Array): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---- log(x): fdlibm e_log.c (Sun Microsystems, 1993), same steps; constants written as the
// shortest decimals that give the same doubles ----

const view = new DataView(new ArrayBuffer(8));
const ln2Hi = 0.6931471803691238;
const ln2Lo = 1.9082149292705877e-10;
const two54 = 18014398509481984;
const Lg1 = 0.6666666666666735;
const Lg2 = 0.3999999999940942;
const Lg3 = 0.2857142874366239;
const Lg4 = 0.22222198432149784;
const Lg5 = 0.1818357216161805;
const Lg6 = 0.15313837699209373;
const Lg7 = 0.14798198605116586;

/**
 * Natural logarithm computed with + − × ÷ only (fdlibm's algorithm), so the result is the same
 * bits on every engine. Error below 1 ulp. Exported for the determinism tests.
 */
export function log(x: number): number {
  view.setFloat64(0, x); // big-endian: word 0 is the high word, on every platform
  let hx = view.getInt32(0);
  const lx = view.getUint32(4);
  let k = 0;
  if (hx < 0x00100000) {
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity; // log(±0)
    if (hx < 0) return Number.NaN; // log(negative)
    k -= 54; // subnormal: scale up
    x *= two54;
    view.setFloat64(0, x);
    hx = view.getInt32(0);
  }
  if (hx >= 0x7ff00000) return x + x; // Infinity or NaN
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  let i = (hx + 0x95f64) & 0x100000;
  view.setFloat64(0, x);
  view.setInt32(0, hx | (i ^ 0x3ff00000)); // normalise x or x/2 into [sqrt(2)/2, sqrt(2))
  x = view.getFloat64(0);
  k += i >> 20;
  const f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) {
    // |f| < 2^-20
    if (f === 0) return k === 0 ? 0 : k * ln2Hi + k * ln2Lo;
    const R = f * f * (0.5 - 0.3333333333333333 * f);
    return k === 0 ? f - R : k * ln2Hi - (R - k * ln2Lo - f);
  }
  const s = f / (2.0 + f);
  const dk = k;
  const z = s * s;
  i = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  i |= j;
  const R = t2 + t1;
  if (i > 0) {
    const hfsq = 0.5 * f * f;
    return k === 0 ? f - (hfsq - s * (hfsq + R)) : dk * ln2Hi - (hfsq - (s * (hfsq + R) + dk * ln2Lo) - f);
  }
  return k === 0 ? f - s * (f - R) : dk * ln2Hi - (s * (f - R) - dk * ln2Lo - f);
}
