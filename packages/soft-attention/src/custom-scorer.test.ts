// Extending heed without touching its source: a scorer heed does not ship — Gaussian (RBF),
// score(q, k) = −‖q − k‖² / σ with a learnable log σ — defined here, registered, used in attend,
// and trained with Adam. This is the recipe of CONTRIBUTING.md, "Add a new scorer".
import { add, Adam, div, exp, gradcheck, matmul, Module, mul, Parameter, randn, Rng, sub, sum, tensor, type Tensor } from '@heed/tensor';
import { checkScorerInputs, createScorer, listScorers, registerScorer, unregisterScorer, type Scorer } from '@heed/scorers';
import { afterAll, describe, expect, it } from 'vitest';
import { attend } from './attend';

/** Gaussian kernel scorer: −‖q − k‖² / σ. query [..., Lq, d] x keys [..., Lk, d] -> [..., Lq, Lk]. */
class RbfScorer extends Module implements Scorer {
  readonly kind = 'rbf';
  /** log σ, so σ stays positive while training. */
  readonly logSigma: Parameter;

  constructor(options: { sigma?: number } = {}) {
    super();
    this.logSigma = new Parameter(new Float32Array([Math.log(options.sigma ?? 1)]), [1]);
  }

  /** [..., Lq, d] x [..., Lk, d] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    checkScorerInputs(this.kind, query, keys, { sameDim: true });
    // ‖q − k‖² = ‖q‖² − 2 q·k + ‖k‖², without building [Lq, Lk, d]
    const qq = sum(mul(query, query), -1, true); // [..., Lq, 1]
    const kk = sum(mul(keys, keys), -1, true).transpose(-2, -1); // [..., 1, Lk]
    const qk = matmul(query, keys, { transposeB: true }); // [..., Lq, d] x [..., d, Lk] -> [..., Lq, Lk]
    const squared = add(sub(qq, mul(qk, 2)), kk); // [..., Lq, Lk]
    return div(mul(squared, -1), exp(this.logSigma)); // −‖q − k‖² / σ, [..., Lq, Lk]
  }
}

function naiveRbf(q: Tensor, k: Tensor, sigma: number): number[] {
  const [Lq, d] = [q.shape[1]!, q.shape[2]!];
  const Lk = k.shape[1]!;
  const out: number[] = [];
  for (let i = 0; i < Lq; i++)
    for (let j = 0; j < Lk; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += (q.data[i * d + c]! - k.data[j * d + c]!) ** 2;
      out.push(-s / sigma);
    }
  return out;
}

describe('a user-defined scorer (RBF), registered from outside heed', () => {
  registerScorer('rbf', (options) => new RbfScorer(options as { sigma?: number }));
  afterAll(() => unregisterScorer('rbf'));

  it('is listed and created through the registry', () => {
    expect(listScorers()).toContain('rbf');
    expect(createScorer({ kind: 'rbf', sigma: 2 })).toBeInstanceOf(RbfScorer);
  });

  it('scores like a naive −‖q − k‖² / σ, with correct gradients', () => {
    const rng = new Rng(1);
    const q = randn([1, 3, 4], rng);
    const k = randn([1, 5, 4], rng);
    const scores = createScorer({ kind: 'rbf', sigma: 2 }).score(q, k);
    naiveRbf(q, k, 2).forEach((v, i) => expect(scores.data[i]).toBeCloseTo(v, 4));
    const scorer = new RbfScorer({ sigma: 1.5 });
    const check = gradcheck(
      (qq, kk, logSigma) => {
        scorer.logSigma.data.set(logSigma!.data);
        return scorer.score(qq!, kk!);
      },
      [q, k, tensor([Math.log(1.5)])],
      { check: [0, 1] },
    );
    expect(check.ok, JSON.stringify(check)).toBe(true);
  });

  it('works in attend with masks, like any built-in scorer', () => {
    const rng = new Rng(2);
    const { weights, context } = attend({
      query: randn([2, 3, 4], rng),
      keys: randn([2, 5, 4], rng),
      values: randn([2, 5, 2], rng),
      scorer: { kind: 'rbf' },
      causal: true,
    });
    expect(context.shape).toEqual([2, 3, 2]);
    expect(weights!.data[1]).toBe(0); // query 0 may not see key 1
  });

  it('trains its σ with Adam: attention learns to be sharp enough to retrieve the nearest key', () => {
    // Toy task: values are one-hot key ids; the target for each query is its nearest key.
    // With a large σ the weights are nearly uniform (low likelihood); training must shrink σ.
    const rng = new Rng(7);
    const scorer = createScorer({ kind: 'rbf', sigma: 20 }) as RbfScorer;
    const keys = randn([1, 6, 3], rng); // [1, Lk, d]
    const query = add(keys, mul(randn([1, 6, 3], rng), 0.1)); // each query is a noisy copy of one key
    const values = tensor(
      Array.from({ length: 36 }, (_, i) => (i % 7 === 0 ? 1 : 0)),
      [1, 6, 6],
    ); // identity: value j = e_j
    const loss = () => {
      const { context } = attend({ query, keys, values, scorer }); // [1, 6, 6]: context[i] = weights[i]
      const diagonal = sum(mul(context, values)); // Σ_i weight of query i on its own key
      return mul(diagonal, -1 / 6);
    };
    const optimizer = new Adam(scorer.parameters(), { lr: 0.1 });
    const initial = loss().item();
    for (let step = 0; step < 80; step++) {
      optimizer.zeroGrad();
      loss().backward();
      optimizer.step();
    }
    const trained = loss().item();
    expect(-initial).toBeLessThan(0.4); // untrained: little weight on the right key
    expect(-trained).toBeGreaterThan(0.9); // trained: almost all of it
    expect(Math.exp(scorer.logSigma.data[0]!)).toBeLessThan(2);
  });
});
