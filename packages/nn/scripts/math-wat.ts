/**
 * The source of the second WebAssembly module: element-wise math that JavaScript runs one
 * `Math.*` call per element (tanh costs ~13 ns an element there, the planar network's largest
 * cost; the binary cross-entropy's exp and log1p ~25 ns). A module of its own because the
 * products' module (gemm-wat.ts) must stay under the 4 KiB a browser main thread compiles
 * synchronously (so must this one: a test checks both); both import the same linear memory.
 * `build-wasm.ts` assembles it with wabt; a unit test rebuilds it and compares the bytes.
 *
 * Exports, float64 only (addresses in bytes, n elements; whole vectors are processed, so the
 * element past an odd n is read and, for the element-wise ones, written: the caller's buffers are
 * padded; float32 arrays are widened on the copy in and rounded once on the copy out, as
 * JavaScript's loops over a Float32Array compute in double and round on the store):
 *
 *   tanh_f64(src, dst, n)             A = tanh(Z)
 *   tanh_back_f64(da, a, dz, n)       dZ = dA ⊙ (1 − A²), the loop's order: the loop's bits
 *   sigmoid_f64(src, dst, n)          A = σ(Z)
 *   bce_sum_f64(z, y, n) → f64        Σ max(z, 0) − y·z + log1p(e^(−|z|)) (costs.ts's sum)
 *
 * tanh is Cephes' (also Go's math.Tanh), per lane:
 *   |x| < 0.625:  tanh x = x + x·s·P(s)/Q(s), s = x²   (a rational fit, ~1 ulp)
 *   |x| ≥ 0.625:  tanh x = 1 − 2/(e^(2|x|) + 1)       (the result is ≥ 0.55: no cancellation)
 * with the sign of x put back by its bit (so tanh(−0) = −0), 2|x| capped at 88 (tanh is 1 in
 * double long before). NaN stays NaN, ±Infinity gives ±1. σ(z) is 1/(1 + e) for z ≥ 0 and
 * e/(1 + e) below, e = e^(−|z|), and log1p is fdlibm's. e^y (−708 ≤ y ≤ 709) is y = k·ln 2 + r,
 * |r| ≤ ln 2 / 2, a degree-13 Taylor polynomial of e^r (Horner's scheme: Estrin's was no faster
 * here and 1 ulp worse) and 2^k built in the exponent bits; e^y below e^−708 is taken as 0.
 * test/kernels-wasm.test.ts holds tanh and σ to 3 ulp of the loops' `Math.*` results (measured:
 * 2), and the cost sum to n·2⁻⁵² relative (another summation order).
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
  const pS = add(mul(add(mul(splat(P[0]!), get('s')), splat(P[1]!)), get('s')), splat(P[2]!));
  const qS = add(mul(add(mul(add(get('s'), splat(Q[0]!)), get('s')), splat(Q[1]!)), get('s')), splat(Q[2]!));
  return `
      (local.set $z (f64x2.abs ${get('x')}))
      (local.set $s ${mul(get('z'), get('z'))})
      ;; e = e^y, y = min(2|x|, 88)
      (local.set $e (f64x2.min ${add(get('z'), get('z'))} ${splat('88')}))
      ${expInto('e', get('e'))}
      (local.set $t (v128.or
        (v128.bitselect
          ${sub(splat('1'), `(f64x2.div ${splat('2')} ${add(get('e'), splat('1'))})`)}
          ${add(get('z'), `(f64x2.div ${mul(mul(get('z'), get('s')), pS)} ${qS})`)}
          (f64x2.ge ${get('z')} ${splat('0.625')}))
        (v128.and ${get('x')} (v128.const i64x2 0x8000000000000000 0x8000000000000000))))`;
}

/**
 * Statements that set $<out> to e^y on two f64 lanes for −708 ≤ y ≤ 709 (2^k is then a normal
 * double): y = k·ln2 + r, |r| ≤ ln2/2, with ln 2 in two parts (the high part has 32 bits, so
 * k·hi is exact), e^r by the degree-13 Taylor polynomial (Horner), 2^k as exponent bits. Scratch
 * locals $k $r.
 */
function expInto(out: string, y: string): string {
  const c = taylor();
  let poly = splat(c[0]!);
  for (let i = 1; i < c.length; i++) poly = add(mul(poly, get('r')), splat(c[i]!));
  return `
      (local.set $k (f64x2.nearest ${mul(y, splat('1.4426950408889634'))}))
      (local.set $r ${sub(sub(y, mul(get('k'), splat('6.93147180369123816490e-01'))), mul(get('k'), splat('1.90821492927058770002e-10')))})
      (local.set $${out} ${mul(poly, `(i64x2.shl (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero ${get('k')})) (v128.const i64x2 1023 1023)) (i32.const 52))`)})`;
}

/** fdlibm's log1p polynomial coefficients (Lp1 ... Lp7). */
const LG = [
  '6.666666666666735130e-01',
  '3.999999999940941908e-01',
  '2.857142874366239149e-01',
  '2.222219843214978396e-01',
  '1.818357216161805012e-01',
  '1.531383769920937332e-01',
  '1.479819860511658591e-01',
];

/**
 * Statements that set $l to log1p($e) on two f64 lanes for 0 ≤ e ≤ 1, fdlibm's log1p: u = 1 + e
 * (halved with k = 1 when u ≥ √2), f = u − 1, the rounding of 1 + e carried as c/u, then
 * log(1 + f) = f − (f²/2 − s·(f²/2 + R(s²))), s = f/(2 + f). Scratch: $u $f $c $s $w $h $q.
 */
function log1pInto(): string {
  const big = '(f64x2.ge (local.get $u) (v128.const f64x2 1.4142135623730951 1.4142135623730951))';
  const t1 = mul(
    get('w'),
    add(splat(LG[1]!), mul(get('w'), add(splat(LG[3]!), mul(get('w'), splat(LG[5]!))))),
  );
  const t2 = mul(
    get('q'),
    add(
      splat(LG[0]!),
      mul(get('w'), add(splat(LG[2]!), mul(get('w'), add(splat(LG[4]!), mul(get('w'), splat(LG[6]!)))))),
    ),
  );
  return `
      (local.set $u ${add(splat('1'), get('e'))})
      (local.set $c (f64x2.div
        (v128.bitselect ${sub(splat('1'), sub(get('u'), get('e')))} ${sub(get('e'), sub(get('u'), splat('1')))} ${big})
        (local.get $u)))
      (local.set $k (v128.and ${big} ${splat('1')}))
      (local.set $f ${sub(`(v128.bitselect ${mul(get('u'), splat('0.5'))} ${get('u')} ${big})`, splat('1'))})
      (local.set $h ${mul(mul(splat('0.5'), get('f')), get('f'))})
      (local.set $s (f64x2.div ${get('f')} ${add(splat('2'), get('f'))}))
      (local.set $q ${mul(get('s'), get('s'))})
      (local.set $w ${mul(get('q'), get('q'))})
      (local.set $l ${sub(
        mul(get('k'), splat('6.93147180369123816490e-01')),
        sub(
          sub(
            get('h'),
            add(
              mul(get('s'), add(get('h'), add(t2, t1))),
              add(mul(get('k'), splat('1.90821492927058770002e-10')), get('c')),
            ),
          ),
          get('f'),
        ),
      )})`;
}

/**
 * Statements that set $e to e^(−|$x|), and to 0 where −|x| < −708 (there e^(−|x|) < 3.3e-308:
 * the subnormal results are flushed to 0, an absolute difference below 3.3e-308).
 */
const expMinusAbs = `
      (local.set $z (f64x2.abs ${get('x')}))
      (local.set $y (f64x2.max (f64x2.neg ${get('z')}) ${splat('-708')}))
      ${expInto('e', get('y'))}
      (local.set $e (v128.andnot ${get('e')} (f64x2.gt ${get('z')} ${splat('708')})))`;

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
const BCE_LOCALS =
  '(local $x v128) (local $yv v128) (local $z v128) (local $y v128) (local $e v128) (local $k v128) (local $r v128) (local $u v128) (local $f v128) (local $c v128) (local $s v128) (local $w v128) (local $h v128) (local $q v128) (local $l v128) (local $acc v128) (local $term v128)';

/** term = max(z, 0) − y·z + log1p(e^(−|z|)) of $x (z) and $yv (y), as costs.ts's loop writes it. */
const bceTerm = `${expMinusAbs}
      ${log1pInto()}
      (local.set $term ${add(sub(`(f64x2.max ${get('x')} ${splat('0')})`, mul(get('yv'), get('x'))), get('l'))})`;

const EXPORTS = `
  ;; Σ over n elements of max(z, 0) − y·z + log1p(e^(−|z|)): the stable binary cross-entropy's
  ;; sum (each lane sums every other element; the lanes are added at the end). An odd n's last
  ;; vector keeps its first lane only.
  (func (export "bce_sum_f64") (param $zp i32) (param $yp i32) (param $n i32) (result f64)
    (local $o i32) (local $end i32) ${BCE_LOCALS}
    (local.set $end (i32.mul (local.get $n) (i32.const 8)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $x (v128.load ${at('zp')}))
      (local.set $yv (v128.load ${at('yp')}))
      ${bceTerm}
      ;; the second lane of an odd n's last vector is past the end: masked out
      (local.set $acc ${add(
        get('acc'),
        `(v128.and (local.get $term) (select (result v128) (v128.const i64x2 -1 -1) (v128.const i64x2 -1 0)
          (i32.le_u (i32.add (local.get $o) (i32.const 16)) (local.get $end))))`,
      )})
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $next)))
    (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc)))
  )
  ;; σ(z) from e = e^(−|z|): 1/(1 + e) for z ≥ 0, e/(1 + e) below (no overflow on either side)
  (func (export "sigmoid_f64") (param $src i32) (param $dst i32) (param $n i32) (local $o i32) (local $end i32)
    (local $x v128) (local $z v128) (local $y v128) (local $e v128) (local $k v128) (local $r v128) (local $d v128)
    ${loop(
      8,
      16,
      `(local.set $x (v128.load ${at('src')})) ${expMinusAbs}
      (local.set $d ${add(splat('1'), get('e'))})
      (v128.store ${at('dst')} (v128.bitselect
        (f64x2.div ${splat('1')} (local.get $d))
        (f64x2.div (local.get $e) (local.get $d))
        (f64x2.ge ${get('x')} ${splat('0')})))`,
    )}
  )
  (func (export "tanh_f64") (param $src i32) (param $dst i32) (param $n i32) (local $o i32) (local $end i32)
    ${SCRATCH}
    ${loop(
      8,
      16,
      `(local.set $x (v128.load ${at('src')})) ${tanh2()}
      (v128.store ${at('dst')} (local.get $t))`,
    )}
  )
  (func (export "tanh_back_f64") (param $da i32) (param $a i32) (param $dz i32) (param $n i32)
    (local $o i32) (local $end i32)
    ${loop(8, 16, `(v128.store ${at('dz')} ${tanhBack2(`(v128.load ${at('da')})`, `(v128.load ${at('a')})`)})`)}
  )
`;

/** The whole module's text. */
export function mathWat(): string {
  return `;; Generated by packages/nn/scripts/math-wat.ts: edit that file, then \`npm run build:wasm -w @backprop/nn\`.
(module
  (import "env" "memory" (memory 1))
${EXPORTS}
)
`;
}
