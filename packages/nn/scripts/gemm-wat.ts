/**
 * The source of the WebAssembly SIMD kernels: this file writes the module's WebAssembly text (WAT)
 * and `build-wasm.ts` assembles it with wabt. The text is generated because its hot part, the
 * register-tiled micro-kernel, is the same few instructions repeated per accumulator, for two
 * element types; a generator keeps the tile shape one constant instead of a hundred hand-written
 * lines. Nothing here runs at run time: the package ships the assembled bytes
 * (src/kernels-wasm-binary.ts), and a unit test rebuilds them from this file and compares.
 *
 * The module (memory imported, so the caller sets and grows its bound) exports:
 *
 *   pack_rows(src, nx, kc, dst, w, es)    staged block "rows":   element (x, p) at src[p*nx + x]
 *   pack_strips(src, nx, kc, dst, w, es)  staged block "strips": element (x, p) at src[x*kc + p]
 *     → micro-panels of w lines interleaved by p: panel q holds (x, p) at dst[q*kc*w + p*w + x - q*w],
 *       lines past nx zero. Addresses are bytes, es is the element size (8 or 4).
 *   pack_strips_f64 / pack_strips_f32(src, panels, kc, dst)
 *     → the same for `panels` whole panels of 32-byte rows (4 f64 or 8 f32 lines), with SIMD.
 *   relu_f64 / relu_f32(src, dst, n), relu_back_f64 / relu_back_f32(da, z, dz, n)
 *     → the relu activation forward and backward over n elements (see relu() below).
 *   block_f64 / block_f32(mc, nc, kc, ap, bp, bld, bstep, cp, ldc, first)
 *     → C[i, j] (+)= Σ_p Ap[i, p]·B[p, j] over packed A panels of MR rows; B is read NR columns
 *       at a time, row p of the panel starting bld bytes after row p − 1, panel q + 1 bstep bytes
 *       after panel q: packed panels (bld = NR·es, bstep = kc·NR·es), or B rows straight from
 *       the staged block (bld = its row stride, bstep = NR·es; the lanes past nc of the last
 *       panel read neighbouring memory and their results are never copied out). C is row-major
 *       at cp with a row stride of ldc bytes, mc and nc rounded up to the tile (the caller's C
 *       block is padded, so every tile is whole). `first` starts from zero, otherwise the tile
 *       continues the sums already in C.
 *
 * Summation order: each element of C is one accumulator lane that adds its products in order of
 * p, `acc = acc + a·b` (a multiply then an add, each rounded, as in JavaScript), and a K block
 * after the first starts from the partial sums in C. So in float64 every element is summed exactly
 * as the plain-loop reference kernels sum it: the results are bit-identical. In float32 the sums
 * are rounded to float32 at every step (the reference sums in double).
 */

export interface Tile {
  /** rows of the micro-tile (A panel width) */
  readonly mr: number;
  /** 128-bit vectors per row of the micro-tile (NR = nv × lanes) */
  readonly nv: number;
}

export const TILES: { readonly f64: Tile; readonly f32: Tile } = {
  f64: { mr: 4, nv: 2 },
  f32: { mr: 4, nv: 2 },
};

const LANES = { f64: 2, f32: 4 } as const;
const ES = { f64: 8, f32: 4 } as const;

function block(t: 'f64' | 'f32', tile: Tile): string {
  const { mr, nv } = tile;
  const es = ES[t];
  const nr = nv * LANES[t];
  const splat = t === 'f64' ? 'v128.load64_splat' : 'v128.load32_splat';
  const acc = (a: number, v: number) => `$c${a}_${v}`;
  const locals: string[] = [];
  for (let a = 0; a < mr; a++) for (let v = 0; v < nv; v++) locals.push(`(local ${acc(a, v)} v128)`);
  for (let v = 0; v < nv; v++) locals.push(`(local $b${v} v128)`);
  const zero: string[] = [];
  const load: string[] = [];
  const store: string[] = [];
  for (let a = 0; a < mr; a++) {
    for (let v = 0; v < nv; v++) {
      zero.push(`(local.set ${acc(a, v)} (v128.const i64x2 0 0))`);
      load.push(`(local.set ${acc(a, v)} (v128.load offset=${v * 16} (local.get $row)))`);
      store.push(`(v128.store offset=${v * 16} (local.get $row) (local.get ${acc(a, v)}))`);
    }
    const next = '(local.set $row (i32.add (local.get $row) (local.get $ldc)))';
    if (a < mr - 1) {
      load.push(next);
      store.push(next);
    }
  }
  const step: string[] = [];
  for (let v = 0; v < nv; v++) step.push(`(local.set $b${v} (v128.load offset=${v * 16} (local.get $b)))`);
  for (let a = 0; a < mr; a++) {
    step.push(`(local.set $s (${splat} offset=${a * es} (local.get $a)))`);
    for (let v = 0; v < nv; v++) {
      step.push(
        `(local.set ${acc(a, v)} (${t}x${LANES[t]}.add (local.get ${acc(a, v)}) (${t}x${LANES[t]}.mul (local.get $s) (local.get $b${v}))))`,
      );
    }
  }
  return `
  (func (export "block_${t}") (param $mc i32) (param $nc i32) (param $kc i32) (param $ap i32)
      (param $bp i32) (param $bld i32) (param $bstep i32) (param $cp i32) (param $ldc i32) (param $first i32)
    (local $i i32) (local $j i32) (local $p i32) (local $a i32) (local $b i32) (local $row i32)
    (local $apanel i32) (local $bpanel i32) (local $astep i32) (local $s v128)
    ${locals.join(' ')}
    (local.set $astep (i32.mul (local.get $kc) (i32.const ${mr * es})))
    (local.set $bpanel (local.get $bp))
    (block $jdone (loop $jloop
      (br_if $jdone (i32.ge_u (local.get $j) (local.get $nc)))
      (local.set $i (i32.const 0))
      (local.set $apanel (local.get $ap))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $mc)))
        (local.set $row (i32.add (local.get $cp)
          (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.mul (local.get $j) (i32.const ${es})))))
        (if (local.get $first)
          (then ${zero.join('\n            ')})
          (else ${load.join('\n            ')}))
        (local.set $a (local.get $apanel))
        (local.set $b (local.get $bpanel))
        (local.set $p (local.get $kc))
        (loop $k
          ${step.join('\n          ')}
          (local.set $a (i32.add (local.get $a) (i32.const ${mr * es})))
          (local.set $b (i32.add (local.get $b) (local.get $bld)))
          (br_if $k (local.tee $p (i32.sub (local.get $p) (i32.const 1)))))
        (local.set $row (i32.add (local.get $cp)
          (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.mul (local.get $j) (i32.const ${es})))))
        ${store.join('\n        ')}
        (local.set $i (i32.add (local.get $i) (i32.const ${mr})))
        (local.set $apanel (i32.add (local.get $apanel) (local.get $astep)))
        (br $iloop)))
      (local.set $j (i32.add (local.get $j) (i32.const ${nr})))
      (local.set $bpanel (i32.add (local.get $bpanel) (local.get $bstep)))
      (br $jloop)))
  )`;
}

/**
 * Packing. Rows: each line p holds nx elements; a whole panel's w elements are contiguous, so
 * they move as w·es/8 i64 words (w·es is a multiple of 8 for every tile used), and the last,
 * partial panel is zero-filled then copied. Strips: each line x holds kc elements; they are
 * scattered with a stride of w elements, one element at a time (i64 or i32 moves by es), and the
 * lines of a partial panel past nx are zeroed.
 */
const PACK = `
  (func (export "pack_rows") (param $src i32) (param $nx i32) (param $kc i32) (param $dst i32)
      (param $w i32) (param $es i32)
    (local $p i32) (local $x i32) (local $s i32) (local $d i32) (local $q i32) (local $panel i32)
    (local $width i32) (local $n i32)
    (local.set $width (i32.mul (local.get $w) (local.get $es)))
    (local.set $panel (i32.mul (local.get $kc) (local.get $width)))
    (local.set $p (i32.const 0))
    (block $pdone (loop $ploop
      (br_if $pdone (i32.ge_u (local.get $p) (local.get $kc)))
      (local.set $s (i32.add (local.get $src) (i32.mul (i32.mul (local.get $p) (local.get $nx)) (local.get $es))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $p) (local.get $width))))
      (local.set $x (i32.const 0))
      (block $xdone (loop $xloop
        (br_if $xdone (i32.gt_u (i32.add (local.get $x) (local.get $w)) (local.get $nx)))
        (local.set $q (i32.const 0))
        (loop $words
          (i64.store (i32.add (local.get $d) (local.get $q)) (i64.load (i32.add (local.get $s) (local.get $q))))
          (br_if $words (i32.lt_u (local.tee $q (i32.add (local.get $q) (i32.const 8))) (local.get $width))))
        (local.set $s (i32.add (local.get $s) (local.get $width)))
        (local.set $d (i32.add (local.get $d) (local.get $panel)))
        (local.set $x (i32.add (local.get $x) (local.get $w)))
        (br $xloop)))
      (if (i32.lt_u (local.get $x) (local.get $nx))
        (then
          (memory.fill (local.get $d) (i32.const 0) (local.get $width))
          (memory.copy (local.get $d) (local.get $s)
            (i32.mul (i32.sub (local.get $nx) (local.get $x)) (local.get $es)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $ploop)))
  )

  (func (export "pack_strips") (param $src i32) (param $nx i32) (param $kc i32) (param $dst i32)
      (param $w i32) (param $es i32)
    (local $x i32) (local $xs i32) (local $s i32) (local $d i32) (local $end i32) (local $width i32)
    (local.set $width (i32.mul (local.get $w) (local.get $es)))
    ;; x runs over whole panels, so the lines past nx of the last one are zeroed
    (local.set $xs (i32.mul
      (i32.div_u (i32.sub (i32.add (local.get $nx) (local.get $w)) (i32.const 1)) (local.get $w))
      (local.get $w)))
    (local.set $x (i32.const 0))
    (block $xdone (loop $xloop
      (br_if $xdone (i32.ge_u (local.get $x) (local.get $xs)))
      ;; line x goes to panel x / w, lane x % w
      (local.set $d (i32.add (local.get $dst)
        (i32.add
          (i32.mul (i32.div_u (local.get $x) (local.get $w)) (i32.mul (local.get $kc) (local.get $width)))
          (i32.mul (i32.rem_u (local.get $x) (local.get $w)) (local.get $es)))))
      (local.set $end (i32.add (local.get $d) (i32.mul (local.get $kc) (local.get $width))))
      (if (i32.ge_u (local.get $x) (local.get $nx))
        (then
          (loop $zero
            (if (i32.eq (local.get $es) (i32.const 8))
              (then (i64.store (local.get $d) (i64.const 0)))
              (else (i32.store (local.get $d) (i32.const 0))))
            (br_if $zero (i32.lt_u (local.tee $d (i32.add (local.get $d) (local.get $width))) (local.get $end)))))
        (else
          (local.set $s (i32.add (local.get $src)
            (i32.mul (i32.mul (local.get $x) (local.get $kc)) (local.get $es))))
          (if (i32.eq (local.get $es) (i32.const 8))
            (then
              (loop $c64
                (i64.store (local.get $d) (i64.load (local.get $s)))
                (local.set $s (i32.add (local.get $s) (i32.const 8)))
                (br_if $c64 (i32.lt_u (local.tee $d (i32.add (local.get $d) (local.get $width))) (local.get $end)))))
            (else
              (loop $c32
                (i32.store (local.get $d) (i32.load (local.get $s)))
                (local.set $s (i32.add (local.get $s) (i32.const 4)))
                (br_if $c32 (i32.lt_u (local.tee $d (i32.add (local.get $d) (local.get $width))) (local.get $end))))))))
      (local.set $x (i32.add (local.get $x) (i32.const 1)))
      (br $xloop)))
  )`;

/**
 * Strips into 32-byte panels with SIMD: f64 panels of 4 lines (2 elements per vector), f32 panels
 * of 8 lines (4 per vector). For each run of a vector's worth of p, the w lines' vectors are
 * transposed with shuffles and stored as whole panel rows; a tail of p shorter than a vector is
 * moved element by element. Only whole panels: the caller packs the lines past the last whole
 * panel with pack_strips. A scattering scalar loop moves one element per load and store; this
 * moves a vector per load and store.
 */
function stripsSimd(t: 'f64' | 'f32'): string {
  const es = ES[t];
  const lanes = LANES[t];
  const w = 32 / es; // lines per panel: 4 (f64) or 8 (f32)
  const line = (q: number) => `(i32.add (local.get $s) (i32.mul (local.get $ld) (i32.const ${q})))`;
  const loads: string[] = [];
  for (let q = 0; q < w; q++) loads.push(`(local.set $v${q} (v128.load ${line(q)}))`);
  const stores: string[] = [];
  if (t === 'f64') {
    // v_q = [L_q p, L_q p+1]; row p = [L0 L1 | L2 L3], row p+1 the high halves
    const lo = '0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23';
    const hi = '8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31';
    stores.push(`(v128.store offset=0 (local.get $d) (i8x16.shuffle ${lo} (local.get $v0) (local.get $v1)))`);
    stores.push(
      `(v128.store offset=16 (local.get $d) (i8x16.shuffle ${lo} (local.get $v2) (local.get $v3)))`,
    );
    stores.push(
      `(v128.store offset=32 (local.get $d) (i8x16.shuffle ${hi} (local.get $v0) (local.get $v1)))`,
    );
    stores.push(
      `(v128.store offset=48 (local.get $d) (i8x16.shuffle ${hi} (local.get $v2) (local.get $v3)))`,
    );
  } else {
    // 4×4 transposes of lines 0–3 and 4–7: row p + i = [t_i of lines 0–3 | t_i of lines 4–7]
    const s0 = '0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23'; // a0 b0 a1 b1
    const s2 = '8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31'; // a2 b2 a3 b3
    const t02 = '0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23'; // low halves
    const t13 = '8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31'; // high halves
    for (const [half, base] of [
      [0, 0],
      [16, 4],
    ] as const) {
      const v = (q: number) => `(local.get $v${base + q})`;
      const sa = `(i8x16.shuffle ${s0} ${v(0)} ${v(1)})`;
      const sb = `(i8x16.shuffle ${s0} ${v(2)} ${v(3)})`;
      const sc = `(i8x16.shuffle ${s2} ${v(0)} ${v(1)})`;
      const sd = `(i8x16.shuffle ${s2} ${v(2)} ${v(3)})`;
      stores.push(`(v128.store offset=${half} (local.get $d) (i8x16.shuffle ${t02} ${sa} ${sb}))`);
      stores.push(`(v128.store offset=${32 + half} (local.get $d) (i8x16.shuffle ${t13} ${sa} ${sb}))`);
      stores.push(`(v128.store offset=${64 + half} (local.get $d) (i8x16.shuffle ${t02} ${sc} ${sd}))`);
      stores.push(`(v128.store offset=${96 + half} (local.get $d) (i8x16.shuffle ${t13} ${sc} ${sd}))`);
    }
  }
  const move = t === 'f64' ? ['i64.store', 'i64.load'] : ['i32.store', 'i32.load'];
  const tail: string[] = [];
  for (let q = 0; q < w; q++)
    tail.push(`(${move[0]} offset=${q * es} (local.get $d) (${move[1]} ${line(q)}))`);
  const locals = Array.from({ length: w }, (_, q) => `(local $v${q} v128)`).join(' ');
  return `
  (func (export "pack_strips_${t}") (param $src i32) (param $panels i32) (param $kc i32) (param $dst i32)
    (local $s i32) (local $d i32) (local $ld i32) (local $p i32) (local $vecEnd i32) (local $q i32) ${locals}
    (local.set $ld (i32.mul (local.get $kc) (i32.const ${es})))
    (local.set $vecEnd (i32.sub (local.get $kc) (i32.rem_u (local.get $kc) (i32.const ${lanes}))))
    (local.set $q (i32.const 0))
    (block $qdone (loop $qloop
      (br_if $qdone (i32.ge_u (local.get $q) (local.get $panels)))
      ;; panel q: lines q*w ... q*w + w - 1 of the staged strips, into kc rows of w elements
      (local.set $s (i32.add (local.get $src) (i32.mul (local.get $q) (i32.mul (local.get $ld) (i32.const ${w})))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $q) (i32.mul (local.get $kc) (i32.const 32)))))
      (local.set $p (i32.const 0))
      (block $vdone (loop $vloop
        (br_if $vdone (i32.ge_u (local.get $p) (local.get $vecEnd)))
        ${loads.join('\n        ')}
        ${stores.join('\n        ')}
        (local.set $s (i32.add (local.get $s) (i32.const 16)))
        (local.set $d (i32.add (local.get $d) (i32.const ${lanes * 32})))
        (local.set $p (i32.add (local.get $p) (i32.const ${lanes})))
        (br $vloop)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $p) (local.get $kc)))
        ${tail.join('\n        ')}
        (local.set $s (i32.add (local.get $s) (i32.const ${es})))
        (local.set $d (i32.add (local.get $d) (i32.const 32)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $tloop)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br $qloop)))
  )`;
}

/**
 * relu and its derivative over n elements, in place where the caller wants: relu(src → dst) is
 * max(x, 0) (wasm's max gives NaN for NaN and +0 for −0, as `Math.max(x, 0)` does; only the NaN's
 * sign bit, which JavaScript cannot observe as a value, may differ); relu_back(da, z → dz) keeps
 * da where z > 0 and writes +0 elsewhere (NaN z included), as the ternary `z > 0 ? da : 0` does.
 */
function relu(t: 'f64' | 'f32'): string {
  const v = `${t}x${LANES[t]}`;
  const forward = elementwise(
    t,
    'relu',
    ['src', 'dst'],
    `(v128.store (i32.add (local.get $dst) (local.get $o))
        (${v}.max (v128.load (i32.add (local.get $src) (local.get $o))) (v128.const i64x2 0 0)))`,
    `(${t}.store (i32.add (local.get $dst) (local.get $o))
        (${t}.max (${t}.load (i32.add (local.get $src) (local.get $o))) (${t}.const 0)))`,
  );
  const backward = elementwise(
    t,
    'relu_back',
    ['da', 'z', 'dz'],
    `(v128.store (i32.add (local.get $dz) (local.get $o))
        (v128.and (v128.load (i32.add (local.get $da) (local.get $o)))
          (${v}.gt (v128.load (i32.add (local.get $z) (local.get $o))) (v128.const i64x2 0 0))))`,
    `(${t}.store (i32.add (local.get $dz) (local.get $o))
        (select (${t}.load (i32.add (local.get $da) (local.get $o))) (${t}.const 0)
          (${t}.gt (${t}.load (i32.add (local.get $z) (local.get $o))) (${t}.const 0))))`,
  );
  return `${forward}\n${backward}`;
}

/**
 * An exported function `${name}_${t}` over the n elements of its arrays at byte offset $o: whole
 * 16-byte vectors with `vector`, then the tail element by element with `scalar`.
 */
function elementwise(
  t: 'f64' | 'f32',
  name: string,
  arrays: string[],
  vector: string,
  scalar: string,
): string {
  const es = ES[t];
  const params = arrays.map((a) => `(param $${a} i32) `).join('');
  return `
  (func (export "${name}_${t}") ${params}(param $n i32)
    (local $o i32) (local $vecEnd i32) (local $end i32)
    (local.set $end (i32.mul (local.get $n) (i32.const ${es})))
    (local.set $vecEnd (i32.mul (i32.sub (local.get $n) (i32.rem_u (local.get $n) (i32.const ${LANES[t]}))) (i32.const ${es})))
    (block $vdone (loop $vloop
      (br_if $vdone (i32.ge_u (local.get $o) (local.get $vecEnd)))
      ${vector}
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $vloop)))
    (block $tdone (loop $tloop
      (br_if $tdone (i32.ge_u (local.get $o) (local.get $end)))
      ${scalar}
      (local.set $o (i32.add (local.get $o) (i32.const ${es})))
      (br $tloop)))
  )`;
}

/** The whole module's text. */
export function gemmWat(): string {
  return `;; Generated by packages/nn/scripts/gemm-wat.ts: edit that file, then \`npm run build:wasm -w @backprop/nn\`.
(module
  (import "env" "memory" (memory 1))
${PACK}
${stripsSimd('f64')}
${stripsSimd('f32')}
${block('f64', TILES.f64)}
${block('f32', TILES.f32)}
${relu('f64')}
${relu('f32')}
)
`;
}
