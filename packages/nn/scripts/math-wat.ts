/**
 * The source of the second WebAssembly module: element-wise math that JavaScript runs one
 * `Math.*` call per element (tanh costs ~13 ns an element there, the planar network's largest
 * cost). A module of its own because the products' module (gemm-wat.ts) must stay under the
 * 4 KiB a browser main thread compiles synchronously; both import the same linear memory.
 * `build-wasm.ts` assembles it with wabt; a unit test rebuilds it and compares the bytes.
 *
 * Exports (addresses in bytes, n elements; each works in place when src = dst; whole vectors are
 * processed, so up to 3 elements past n are read and written: the caller's buffers are padded):
 *
 *   tanh_f64 / tanh_f32(src, dst, n)            A = tanh(Z)
 *   tanh_back_f64 / tanh_back_f32(da, a, dz, n) dZ = dA ⊙ (1 − A²)
 *
 * tanh is Cephes' (also Go's math.Tanh), per lane:
 *   |x| < 0.625:  tanh x = x + x·s·P(s)/Q(s), s = x²   (a rational fit, ~1 ulp)
 *   |x| ≥ 0.625:  tanh x = 1 − 2/(e^(2|x|) + 1)       (the result is ≥ 0.55: no cancellation)
 * with the sign of x put back by its bit (so tanh(−0) = −0), e^y from y = k·ln 2 + r, |r| ≤ ln 2 / 2,
 * a degree-13 Taylor polynomial of e^r (Horner's scheme: Estrin's was no faster here and 1 ulp worse) and 2^k built in the exponent bits, 2|x| capped at 88
 * (tanh is 1 in double long before). NaN stays NaN, ±Infinity gives ±1. test/kernels-wasm.test.ts
 * holds the results to 3 ulp of `Math.tanh` (measured: 2 ulp over 12 M random arguments). float32 lanes are widened to
 * double, computed as above and rounded once, as JavaScript's loop over a Float32Array does.
 *
 * tanh's derivative is plain arithmetic, `da·(1 − a·a)` in the loop's order, in double: the
 * loops' bits exactly (float32 widened, computed in double, rounded once on the store).
 */

/** Cephes' tanh coefficients (Go's tanhP, tanhQ). */
const P = ['-9.64399179425052238628e-1', '-9.92877231001918586564e1', '-1.61468768441708447952e3'];
const Q = ['1.12811678491632931402e2', '2.23548839060100448583e3', '4.84406305325125486048e3'];

/** 1/i! for i = 13 down to 0: the Taylor coefficients of e^r, highest first (Horner). */
function taylor(): string[] {
  const out: string[] = [];
  for (let i = 13; i >= 0; i--) {
    let f = 1;
    for (let j = 2; j <= i; j++) f *= j;
    out.push((1 / f).toPrecision(17));
  }
  return out;
}

const splat = (c: string) => `(v128.const f64x2 ${c} ${c})`;
const mul = (a: string, b: string) => `(f64x2.mul ${a} ${b})`;
const add = (a: string, b: string) => `(f64x2.add ${a} ${b})`;
const sub = (a: string, b: string) => `(f64x2.sub ${a} ${b})`;
const get = (name: string) => `(local.get $${name})`;

/**
 * Statements that set $t to tanh of $x on two f64 lanes (inlined in each loop: a call per vector
 * costs more than the arithmetic). Scratch locals: $z $s $e $k $r, all v128.
 */
function tanh2(): string {
  const c = taylor();
  let poly = splat(c[0]!);
  for (let i = 1; i < c.length; i++) poly = add(mul(poly, get('r')), splat(c[i]!));
  const pS = add(mul(add(mul(splat(P[0]!), get('s')), splat(P[1]!)), get('s')), splat(P[2]!));
  const qS = add(mul(add(mul(add(get('s'), splat(Q[0]!)), get('s')), splat(Q[1]!)), get('s')), splat(Q[2]!));
  return `
      (local.set $z (f64x2.abs ${get('x')}))
      (local.set $s ${mul(get('z'), get('z'))})
      ;; e = e^y, y = min(2|x|, 88) = k·ln2 + r: ln 2 in two parts (the high part has 32 bits, so
      ;; k·hi is exact), e^r by Taylor's polynomial, 2^k as exponent bits
      (local.set $e (f64x2.min ${add(get('z'), get('z'))} ${splat('88')}))
      (local.set $k (f64x2.nearest ${mul(get('e'), splat('1.4426950408889634'))}))
      (local.set $r ${sub(sub(get('e'), mul(get('k'), splat('6.93147180369123816490e-01'))), mul(get('k'), splat('1.90821492927058770002e-10')))})
      (local.set $e ${mul(poly, `(i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero ${get('k')})) (v128.const i64x2 1023 1023)) (i32.const 52))`)})
      (local.set $t (v128.or
        (v128.bitselect
          ${sub(splat('1'), `(f64x2.div ${splat('2')} ${add(get('e'), splat('1'))})`)}
          ${add(get('z'), `(f64x2.div ${mul(mul(get('z'), get('s')), pS)} ${qS})`)}
          (f64x2.ge ${get('z')} ${splat('0.625')}))
        (v128.and ${get('x')} (v128.const i64x2 0x8000000000000000 0x8000000000000000))))`;
}

const SCRATCH =
  '(local $x v128) (local $t v128) (local $z v128) (local $s v128) (local $e v128) (local $k v128) (local $r v128)';

/** dz = da·(1 − a·a) on two f64 lanes. */
const tanhBack2 = (da: string, a: string) => mul(da, sub(splat('1'), mul(a, a)));

/**
 * A loop over whole vectors of `step` bytes from offset 0 up to n elements, `$o` the byte offset.
 * `body` stores the results.
 */
function loop(es: number, step: number, body: string): string {
  return `
    (local.set $end (i32.mul (local.get $n) (i32.const ${es})))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      ${body}
      (local.set $o (i32.add (local.get $o) (i32.const ${step})))
      (br $next)))`;
}

const at = (base: string) => `(i32.add (local.get $${base}) (local.get $o))`;
/** The low and high pairs of an f32x4 widened to f64x2. */
const low = (v: string) => `(f64x2.promote_low_f32x4 ${v})`;
const high = (v: string) =>
  `(f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v}))`;
/** Two f64x2 rounded to float32 and joined into one f32x4. */
const join = (lo: string, hi: string) =>
  `(i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero ${lo}) (f32x4.demote_f64x2_zero ${hi}))`;

const EXPORTS = `
  (func (export "tanh_f64") (param $src i32) (param $dst i32) (param $n i32) (local $o i32) (local $end i32)
    ${SCRATCH}
    ${loop(
      8,
      16,
      `(local.set $x (v128.load ${at('src')})) ${tanh2()}
      (v128.store ${at('dst')} (local.get $t))`,
    )}
  )
  (func (export "tanh_f32") (param $src i32) (param $dst i32) (param $n i32) (local $o i32) (local $end i32)
    (local $v v128) (local $lo v128) ${SCRATCH}
    ${loop(
      4,
      16,
      `(local.set $v (v128.load ${at('src')}))
      (local.set $x ${low('(local.get $v)')}) ${tanh2()}
      (local.set $lo (local.get $t))
      (local.set $x ${high('(local.get $v)')}) ${tanh2()}
      (v128.store ${at('dst')} ${join('(local.get $lo)', '(local.get $t)')})`,
    )}
  )
  (func (export "tanh_back_f64") (param $da i32) (param $a i32) (param $dz i32) (param $n i32)
    (local $o i32) (local $end i32)
    ${loop(8, 16, `(v128.store ${at('dz')} ${tanhBack2(`(v128.load ${at('da')})`, `(v128.load ${at('a')})`)})`)}
  )
  (func (export "tanh_back_f32") (param $da i32) (param $a i32) (param $dz i32) (param $n i32)
    (local $o i32) (local $end i32) (local $d v128) (local $t v128)
    ${loop(
      4,
      16,
      `(local.set $d (v128.load ${at('da')}))
      (local.set $t (v128.load ${at('a')}))
      (v128.store ${at('dz')} ${join(tanhBack2(low('(local.get $d)'), low('(local.get $t)')), tanhBack2(high('(local.get $d)'), high('(local.get $t)')))})`,
    )}
  )`;

/** The whole module's text. */
export function mathWat(): string {
  return `;; Generated by packages/nn/scripts/math-wat.ts: edit that file, then \`npm run build:wasm -w @backprop/nn\`.
(module
  (import "env" "memory" (memory 1))
${EXPORTS}
)
`;
}
