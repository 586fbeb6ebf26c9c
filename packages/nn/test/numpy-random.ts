/**
 * numpy's legacy `np.random.seed(s); np.random.randn(...)` re-implemented for the tests, so a test
 * can start from exactly the course's initial weights and compare with the course's published
 * numbers. Not part of the library: the library has its own portable Rng (src/rng.ts).
 *
 * MT19937 (Matsumoto and Nishimura) seeded like numpy's `mt19937_seed` (init_genrand);
 * `random_sample` takes 53 bits from two draws; `gauss` is numpy's legacy polar Box–Muller that
 * returns the second normal of each pair first and caches the other. The uniforms are bit-identical
 * to numpy's. numpy takes log from the C library (glibc's is correctly rounded), Math.log is
 * fdlibm's (under 1 ulp): about 3 % of the normals differ from numpy's in the last bit, so results
 * agree with numpy's to rounding, not bit for bit.
 */
const N = 624;
const M = 397;

export class NumpyRandomState {
  private readonly mt = new Uint32Array(N);
  private index = N;
  private cachedGauss: number | undefined;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  private nextUint32(): number {
    if (this.index >= N) {
      const mt = this.mt;
      for (let k = 0; k < N; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % N]! & 0x7fffffff);
        mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** np.random.random_sample(): uniform in [0, 1) with 53 bits. */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** One standard normal, as numpy's legacy_gauss. */
  gauss(): number {
    if (this.cachedGauss !== undefined) {
      const g = this.cachedGauss;
      this.cachedGauss = undefined;
      return g;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.cachedGauss = f * x1;
    return f * x2;
  }

  /** np.random.randn(rows, cols), row-major. */
  randn(rows: number, cols: number): Float64Array {
    const out = new Float64Array(rows * cols);
    for (let k = 0; k < out.length; k++) out[k] = this.gauss();
    return out;
  }
}
