import { describe, expect, it } from 'vitest';
import { Rng, randn, relu, tanh } from '@heed/tensor';
import { createScorer } from '@heed/scorers';
import { keepRule, SegmentRule, SoftAttention } from '@heed/soft-attention';
import { addAttention } from './add-attention';
import { GraphBuilder } from './graph-builder';
import { encodeModel } from './onnx-model';
import { B, expectAgreement, float, LENGTHS, maskFeeds, masksFor } from './testing/agreement';

// Attention written into a graph built around it: a Tanh before the keys (standing in for an encoder),
// SoftAttention's additive scorer and entmax in the middle, a Relu after; compared with heed on the same
// composition, in both runtimes at two lengths.

describe('addAttention: heed attention inside a model someone builds', () => {
  it('between other ops, weights under a prefix, with a key padding mask input', async () => {
    const rng = new Rng(29);
    const attention = new SoftAttention({
      scorer: createScorer({ kind: 'additive', queryDim: 4, keyDim: 4, hiddenDim: 3, rng }),
      normalizer: { kind: 'entmax15' },
    });
    for (const target of ['standard', 'decomposed'] as const) {
      const graph = new GraphBuilder('around');
      const query = graph.input('query', 'float', ['batch', 'queries', 4]);
      const states = graph.input('states', 'float', ['batch', 'keys', 4]);
      const keyPaddingMask = graph.input('keyPaddingMask', 'bool', ['batch', 'keys']);
      const keys = graph.op('Tanh', [states]); // [B, Lk, 4]
      const context = addAttention(
        graph,
        attention,
        { query, keys, values: states, keyPaddingMask },
        { dims: { queryDim: 4 }, target, causal: true, parameterPrefix: 'attention.' },
      ); // [B, Lq, 4]
      graph.output(graph.op('Relu', [context]), 'out', 'float', ['batch', 'queries', 4]);
      const written = graph.initializers.map((t) => t.name).filter((name) => name.startsWith('attention.'));
      expect(written.sort()).toEqual(
        attention
          .namedParameters()
          .map(([name]) => `attention.${name}`)
          .sort(),
      );
      const bytes = encodeModel({ graph: graph.build(), opsetImports: [{ domain: '', version: 23 }] });
      const cases = LENGTHS.map(([Lq, Lk]) => {
        const [q, s] = [randn([B, Lq, 4], rng), randn([B, Lk, 4], rng)];
        const masks = masksFor('keyPaddingMask', Lq, Lk, false, rng);
        const heed = relu(attention.forward(q, tanh(s), s, { causal: true, keyPaddingMask: masks.keyPaddingMask }).context);
        return { feeds: { query: float(q), states: float(s), ...maskFeeds(masks) }, expected: heed };
      });
      await expectAgreement(`addAttention ${target}`, bytes, cases, 1e-4);
    }
  }, 60_000);

  it('refuses a bad target, a bad causal, a user rule and a segment rule without its ids, naming them', () => {
    const graph = new GraphBuilder('g');
    const values = { query: 'q', keys: 'k', values: 'v' };
    const config = { scorer: { kind: 'dot' } } as const;
    const dims = { queryDim: 4 };
    expect(() => addAttention(graph, config, values, { dims, target: 'gpu' as never })).toThrow(/addAttention: target must be one of/);
    expect(() => addAttention(graph, config, values, { dims, causal: { offset: 0.5 } })).toThrow(
      /addAttention: causal must be true, false or/,
    );
    expect(() => addAttention(graph, config, values, { dims, keepRule: 'causal' as never })).toThrow(/keepRule must be a KeepRule/);
    expect(() => addAttention(graph, config, values, { dims, keepRule: keepRule('mine', () => true) })).toThrow(
      /keepRule 'mine' is a user rule/,
    );
    expect(() => addAttention(graph, config, values, { dims, keepRule: new SegmentRule([[0, 1]]) })).toThrow(
      /addAttention: keepRule holds a SegmentRule: give values.querySegments and values.keySegments/,
    );
  });
});
