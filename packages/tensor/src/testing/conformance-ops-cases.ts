// Test-only (exported from @heed/tensor/testing): conformance through heed's ops — the same results, gradients
// included, as the plain TypeScript kernels ('js') on the CPU, with the target computing them.
import { randn, tensor } from '../creation';
import { useKernelSet } from '../kernels/registry';
import { mul } from '../ops/binary';
import { matmul } from '../ops/matmul';
import { sum } from '../ops/reduce';
import { scaledDotProductAttention } from '../ops/scaled-dot-product-attention';
import type { ScaledDotProductAttentionOptions } from '../ops/scaled-dot-product-attention-problem';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import type { ConformanceCase, ConformanceOps, ConformanceTarget } from './conformance-target';
import { expectClose } from './expect-close';

/** Runs `fn` with the JS set on the CPU (the reference), then on the target. */
async function both<T>(target: ConformanceTarget, fn: (ops: ConformanceOps) => Promise<T>): Promise<[T, T]> {
  useKernelSet('js');
  const js = await fn({ place: async (t) => t, read: async (t) => t.data.slice() });
  return [js, await target.throughOps(fn)];
}

const group = 'through the ops with the target computing: the same results as the JS set';

/** The cases through the ops (matmul, scaled dot-product attention), forward and gradients. */
export const opsConformanceCases: readonly ConformanceCase[] = [
  {
    group,
    name: 'matmul: broadcast batch dims and gradients under every transpose flag',
    async run(t) {
      const rng = new Rng(11);
      for (const [transposeA, transposeB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const [m, n, k] = [9, 13, 21];
        const aData = Array.from({ length: 2 * m * k }, () => rng.normal());
        const bData = Array.from({ length: 3 * k * n }, () => rng.normal());
        const [js, here] = await both(t, async ({ place, read }) => {
          const a = await place(tensor(aData, transposeA ? [2, 1, k, m] : [2, 1, m, k])); // [2, 1, m, k]
          const b = await place(tensor(bData, transposeB ? [3, n, k] : [3, k, n])); // [3, k, n]
          const product = matmul(a, b, { transposeA, transposeB }); // [2, 3, m, n]
          return { shape: product.shape, values: await read(product) };
        });
        expectClose(here.shape, [2, 3, m, n], { atol: 0, rtol: 0 }, 'shape');
        expectClose(here.values, js.values, { atol: 1e-5, rtol: 1e-5 }, `${t.name} ${transposeA} ${transposeB} product`);
        const weightsData = Array.from({ length: 2 * 7 * 10 }, () => rng.normal()); // [2, 7, 10]
        const xData = Array.from({ length: 2 * 7 * 19 }, () => rng.normal());
        const yData = Array.from({ length: 19 * 10 }, () => rng.normal());
        const [jsGrad, hereGrad] = await both(t, async ({ place, read }) => {
          const x = await place(tensor(xData, transposeA ? [2, 19, 7] : [2, 7, 19], { requiresGrad: true }));
          const y = await place(tensor(yData, transposeB ? [10, 19] : [19, 10], { requiresGrad: true }));
          const weights = await place(tensor(weightsData, [2, 7, 10]));
          matmul(x, y, { transposeA, transposeB }).mul(weights).sum().backward();
          return { gA: await read(x.grad!), gB: await read(y.grad!) };
        });
        expectClose(hereGrad.gA, jsGrad.gA, { atol: 1e-5, rtol: 1e-5 }, `${t.name} ${transposeA} ${transposeB} dA`);
        expectClose(hereGrad.gB, jsGrad.gB, { atol: 1e-5, rtol: 1e-5 }, `${t.name} ${transposeA} ${transposeB} dB`);
      }
    },
  },
  {
    group,
    name: "scaledDotProductAttention output and gradients: plain, causal, mask, GQA, layout 'sequence-first'",
    async run(t) {
      type Shapes = { query: number[]; keys: number[]; values: number[] };
      /** Output and the three gradients of Σ out ⊙ upstream on the target. */
      const gradients =
        (shapes: Shapes, options: (keep: Tensor) => ScaledDotProductAttentionOptions, seed: number) =>
        async ({ place, read }: ConformanceOps) => {
          const rng = new Rng(seed);
          const [q, k, v] = await Promise.all(
            [shapes.query, shapes.keys, shapes.values].map((s) => place(new Tensor(randn(s, rng).data, s, true))),
          );
          const keep = new Tensor(
            Float32Array.from({ length: 2 * 90 }, (_, i) => (i % 7 === 3 ? 0 : 1)),
            [2, 1, 1, 90],
          ); // [B, 1, 1, Lk]: host data on every target (a device uploads masks in the layout its kernels read)
          const out = scaledDotProductAttention(q!, k!, v!, options(keep));
          sum(mul(out, await place(randn(out.shape, rng)))).backward();
          return { out: await read(out), dq: await read(q!.grad!), dk: await read(k!.grad!), dv: await read(v!.grad!) };
        };
      const cases: [Shapes, (keep: Tensor) => ScaledDotProductAttentionOptions][] = [
        [{ query: [2, 3, 70, 16], keys: [2, 3, 90, 16], values: [2, 3, 90, 12] }, () => ({})],
        [
          { query: [2, 3, 70, 16], keys: [2, 3, 90, 16], values: [2, 3, 90, 12] },
          (keep) => ({ causal: { offset: 20 }, attentionMask: keep }),
        ],
        [{ query: [2, 4, 70, 16], keys: [2, 2, 90, 16], values: [2, 2, 90, 16] }, () => ({ causal: true, groupSize: 2 })],
        [
          { query: [2, 70, 4, 16], keys: [2, 90, 2, 16], values: [2, 90, 2, 8] },
          (keep) => ({ causal: { offset: 20 }, groupSize: 2, layout: 'sequence-first', attentionMask: keep }),
        ],
      ];
      for (const [index, [shapes, options]] of cases.entries()) {
        const [js, here] = await both(t, gradients(shapes, options, index));
        for (const g of ['out', 'dq', 'dk', 'dv'] as const)
          expectClose(here[g], js[g], t.tolerances.gradient, `${t.name} case ${index} ${g}`);
      }
    },
  },
];
