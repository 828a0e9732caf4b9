import { describe, expect, it } from 'vitest';
import { ArgumentError, ConfigError, matmul, Module, mul, randn, Rng, tanh, type Tensor } from '@heed/tensor';
import type { Scorer } from '@heed/scorers';
import { attend } from '@heed/soft-attention';
import { MultiHeadAttention } from '@heed/multi-head';
import { exportToOnnx } from './export-to-onnx';
import { GraphBuilder } from './graph-builder';
import { registerScorerExport, listScorerExports } from './scorer-export';
import { relativeError, runModel } from './testing/runtimes';

/** A user's scorer: tanh(q·kᵀ) · 2, built from public tensor ops. */
class TanhDotScorer extends Module implements Scorer {
  readonly kind = 'tanh-dot-test';
  score(query: Tensor, keys: Tensor): Tensor {
    return mul(tanh(matmul(query, keys, { transposeB: true })), 2); // [..., Lq, Lk]
  }
}

describe('exportToOnnx: bad input fails at the call with a clear error', () => {
  it('names the target, the opset and the missing dims', () => {
    const attendConfig = { scorer: { kind: 'dot' } } as const;
    expect(() => exportToOnnx(attendConfig, { target: 'gpu' as never, dims: { queryDim: 4 } })).toThrow(ArgumentError);
    expect(() => exportToOnnx(attendConfig, { target: 'gpu' as never, dims: { queryDim: 4 } })).toThrow(
      /target must be one of 'standard', 'contrib', 'decomposed'/,
    );
    expect(() => exportToOnnx(attendConfig, { opset: 21, dims: { queryDim: 4 } })).toThrow(
      /opset must be an integer ≥ 23 for target 'standard', got 21/,
    );
    expect(() => exportToOnnx(attendConfig, { target: 'decomposed', opset: 17, dims: { queryDim: 4 } })).toThrow(/≥ 18/);
    expect(() => exportToOnnx(attendConfig)).toThrow(ConfigError);
    expect(() => exportToOnnx(attendConfig, { dims: { queryDim: 0 } })).toThrow(/dims.queryDim must be a positive integer, got 0/);
    expect(() => exportToOnnx(attendConfig, { dims: { queryDim: 4, numHeads: 4, numKeyValueHeads: 3 } })).toThrow(
      /numKeyValueHeads 3 must divide dims.numHeads 4/,
    );
  });

  it('refuses what it cannot write yet, naming it', () => {
    expect(() => exportToOnnx(new MultiHeadAttention({ embedDim: 4, numHeads: 2, addBiasKv: true }))).toThrow(
      /addBiasKv or addZeroAttn has no ONNX export/,
    );
    expect(() => exportToOnnx({ scorer: new TanhDotScorer() }, { dims: { queryDim: 4 } })).toThrow(
      /the scorer kind 'tanh-dot-test' \(a custom scorer\) has no ONNX export; exportable kinds: .*registerScorerExport/,
    );
  });

  it('a graph name is used once', () => {
    const graph = new GraphBuilder('g');
    graph.input('x', 'float', [1]);
    expect(() => graph.initializer('x', 'float', [1], [0])).toThrow(/the name "x" is already used in graph g/);
    expect(graph.fresh('x')).toBe('x_1');
  });
});

describe('a custom scorer exports once it registers its export', () => {
  it('runs in onnxruntime-node and matches heed', async () => {
    registerScorerExport<TanhDotScorer>('tanh-dot-test', (graph, q, k, { rank }) => {
      const perm = Array.from({ length: rank }, (_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
      const logits = graph.op('MatMul', [q, graph.op('Transpose', [k], { perm })]); // [..., Lq, Lk]
      return graph.op('Mul', [graph.op('Tanh', [logits]), graph.float(2)]);
    });
    expect(listScorerExports()).toContain('tanh-dot-test');
    expect(() => registerScorerExport('tanh-dot-test', () => 'x')).toThrow(/already registered/);
    const scorer = new TanhDotScorer();
    const { bytes } = exportToOnnx({ scorer, normalizer: { kind: 'sparsemax' } }, { dims: { queryDim: 3 }, causal: true });
    const rng = new Rng(2);
    const [query, keys, values] = [randn([1, 4, 3], rng), randn([1, 4, 3], rng), randn([1, 4, 3], rng)];
    const expected = attend({ query, keys, values, scorer, normalizer: { kind: 'sparsemax' }, causal: true }).context;
    const [output] = await runModel('onnxruntime-node', bytes, [
      { query: { tensor: query, type: 'float' }, keys: { tensor: keys, type: 'float' }, values: { tensor: values, type: 'float' } },
    ]);
    expect(relativeError(output!, expected.data)).toBeLessThanOrEqual(1e-4);
  });
});
