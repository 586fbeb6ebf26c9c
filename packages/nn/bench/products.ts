/**
 * `npm run bench:products -w @backprop/nn`: the matrix products of the bench workloads one at a
 * time, for the roofline. For each product and dtype: the WebAssembly SIMD kernels' time and
 * GFLOP/s, their fraction of this machine's WebAssembly SIMD peak (--peak-f64 / --peak-f32,
 * default 27.5 / 55 GFLOP/s: 12 independent mul+add chains on v128 registers, one thread), the
 * share of that time spent copying operands into linear memory, packing them and copying the
 * result out (the same calls with the arithmetic skipped), and the blocked TypeScript kernels'
 * time beside them. Each figure is the minimum and the median over --repeats calls after a
 * warm-up, alternating the implementations so load on a shared machine hits them alike.
 *
 * Options: --workloads W1,W4   --repeats 15   --peak-f64 27.5   --peak-f32 55   --markdown
 */
import { parseArgs } from 'node:util';
import { blockedKernels, type Kernels } from '../src/kernels.ts';
import { createWasmKernels } from '../src/kernels-wasm.ts';
import { type DType, type Matrix, zeros } from '../src/matrix.ts';

type Variant = 'matmul' | 'matmulTransB' | 'matmulTransA';

interface Product {
  workload: string;
  what: string;
  variant: Variant;
  r: number;
  c: number;
  k: number;
}

/** The products of one iteration of each workload whose products are not tiny (W3's are ~µs). */
function products(): Product[] {
  const nets: Record<string, { sizes: number[]; m: number }> = {
    W1: { sizes: [12288, 20, 7, 5, 1], m: 209 },
    W2: { sizes: [12288, 7, 1], m: 209 },
    W4: { sizes: [784, 256, 128, 10], m: 10000 },
  };
  const out: Product[] = [];
  for (const [workload, { sizes, m }] of Object.entries(nets)) {
    for (let l = 1; l < sizes.length; l++) {
      const [nPrev, n] = [sizes[l - 1]!, sizes[l]!];
      out.push({ workload, what: `Z${l} = W${l}·A${l - 1}`, variant: 'matmul', r: n, c: m, k: nPrev });
      out.push({
        workload,
        what: `dW${l} = dZ${l}·A${l - 1}ᵀ`,
        variant: 'matmulTransB',
        r: n,
        c: nPrev,
        k: m,
      });
      if (l > 1)
        out.push({
          workload,
          what: `dA${l - 1} = W${l}ᵀ·dZ${l}`,
          variant: 'matmulTransA',
          r: nPrev,
          c: m,
          k: n,
        });
    }
  }
  return out;
}

function operands(p: Product, dtype: DType): [Matrix, Matrix, Matrix] {
  const { variant: v, r, c, k } = p;
  const [a, b] =
    v === 'matmul'
      ? [
          [r, k],
          [k, c],
        ]
      : v === 'matmulTransB'
        ? [
            [r, k],
            [c, k],
          ]
        : [
            [k, r],
            [k, c],
          ];
  const A = zeros(a[0]!, a[1]!, dtype);
  const B = zeros(b[0]!, b[1]!, dtype);
  let s = 1;
  const next = () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647 - 0.5;
  };
  for (let i = 0; i < A.data.length; i++) A.data[i] = next();
  for (let i = 0; i < B.data.length; i++) B.data[i] = next();
  return [A, B, zeros(r, c, dtype)];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main(): void {
  const { values } = parseArgs({
    options: {
      workloads: { type: 'string', default: 'W1,W2,W4' },
      repeats: { type: 'string', default: '15' },
      'peak-f64': { type: 'string', default: '27.5' },
      'peak-f32': { type: 'string', default: '55' },
      markdown: { type: 'boolean', default: false },
    },
  });
  const wanted = values.workloads.split(',').map((s) => s.trim().toUpperCase());
  const repeats = Number(values.repeats);
  const peak = { float64: Number(values['peak-f64']), float32: Number(values['peak-f32']) };
  const wasm = createWasmKernels();
  const copiesOnly = createWasmKernels({ arithmetic: false });
  if (wasm === null || copiesOnly === null) throw new Error('WebAssembly SIMD is not available here');
  const impls: [string, Kernels][] = [
    ['wasm', wasm],
    ['copies', copiesOnly],
    ['blocked', blockedKernels],
  ];
  const rows: string[][] = [];
  const header = [
    'workload',
    'product',
    'r×c×k',
    'dtype',
    'wasm ms (min/med)',
    'wasm GFLOP/s',
    '% of peak',
    'copies+packing',
    'blocked ms (min)',
    '× faster',
  ];
  console.log(header.join(' | '));
  for (const p of products().filter((x) => wanted.includes(x.workload))) {
    for (const dtype of ['float64', 'float32'] as const) {
      const [A, B, out] = operands(p, dtype);
      const flop = 2 * p.r * p.c * p.k;
      const reps = flop > 2e9 ? Math.min(repeats, 5) : repeats;
      const times: Record<string, number[]> = { wasm: [], copies: [], blocked: [] };
      for (const [, k] of impls) k[p.variant](A, B, out); // warm-up
      for (let i = 0; i < reps; i++) {
        for (const [name, k] of impls) {
          const t = performance.now();
          k[p.variant](A, B, out);
          times[name]!.push(performance.now() - t);
        }
      }
      const min = (n: string) => Math.min(...times[n]!);
      const gf = flop / min('wasm') / 1e6;
      const row = [
        p.workload,
        p.what,
        `${p.r}×${p.c}×${p.k}`,
        dtype === 'float64' ? 'f64' : 'f32',
        `${min('wasm').toFixed(3)} / ${median(times.wasm!).toFixed(3)}`,
        gf.toFixed(1),
        `${((100 * gf) / peak[dtype]).toFixed(0)} %`,
        `${((100 * min('copies')) / min('wasm')).toFixed(0)} %`,
        min('blocked').toFixed(3),
        (min('blocked') / min('wasm')).toFixed(1),
      ];
      rows.push(row);
      console.log(row.join(' | '));
    }
  }
  if (values.markdown) {
    console.log('');
    console.log(`| ${header.join(' | ')} |`);
    console.log(`|${header.map((_, i) => (i < 4 ? '---' : '---:')).join('|')}|`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  }
}

main();
