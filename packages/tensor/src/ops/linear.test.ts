import { describe, expect, test } from 'vitest';
import { randn } from '../creation';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { add } from './binary';
import { linear } from './linear';
import { matmul } from './matmul';
import { transpose } from './permute';
import { reshape } from './reshape';

/** y + b when there is a bias. */
const withBiasAdded = (y: Tensor, b: Tensor | null): Tensor => (b ? add(y, b) : y);

// Shape letters: x [..., I], weight [O, I], bias [O], y [..., O].
const FORWARD = { atol: 1e-5, rtol: 1e-5 };
const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** y[r, o] = Σ_i x[r, i] W[o, i] + b[o] over the flattened leading rows, float64. */
function naiveLinear(x: Tensor, weight: Tensor, bias: Tensor | null): number[] {
  const [outF, inF] = weight.shape as [number, number];
  const rows = x.size / inF;
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = bias ? bias.data[o]! : 0;
      for (let i = 0; i < inF; i++) s += x.data[r * inF + i]! * weight.data[o * inF + i]!;
      y.push(s);
    }
  }
  return y;
}

describe('linear', () => {
  test.each([[[4]], [[3, 4]], [[2, 3, 4]], [[2, 1, 3, 4]]])('x %j with bias vs naive x·Wᵀ + b', (xShape) => {
    const rng = new Rng(1);
    const x = randn(xShape, rng); // [..., I]
    const weight = randn([5, 4], rng); // [O, I]
    const bias = randn([5], rng); // [O]
    const y = linear(x, weight, bias); // [..., O]
    expect(y.shape).toEqual([...xShape.slice(0, -1), 5]);
    expectClose(y.data, naiveLinear(x, weight, bias), FORWARD);
  });

  test('without a bias (undefined or null)', () => {
    const rng = new Rng(2);
    const x = randn([3, 4], rng); // [N, I]
    const weight = randn([2, 4], rng); // [O, I]
    expectClose(linear(x, weight).data, naiveLinear(x, weight, null), FORWARD);
    expectClose(linear(x, weight, null).data, naiveLinear(x, weight, null), FORWARD);
  });

  test('equals matmul with an explicit transpose plus bias', () => {
    const rng = new Rng(3);
    const x = randn([2, 3, 4], rng); // [B, T, I]
    const weight = randn([6, 4], rng); // [O, I]
    const bias = randn([6], rng); // [O]
    const plain = add(matmul(x, transpose(weight)), bias); // [B, T, I] x [I, O] -> [B, T, O]
    expectClose(linear(x, weight, bias).data, plain.data, { atol: 1e-6, rtol: 1e-6 });
  });

  test('gradients for x, weight and bias pass gradcheck', () => {
    const rng = new Rng(4);
    const x = randn([2, 3, 4], rng); // [B, T, I]
    const weight = randn([5, 4], rng); // [O, I]
    const bias = randn([5], rng); // [O]
    expect(gradcheck((a, w, b) => linear(a, w, b), [x, weight, bias], GRAD)).toMatchObject({ ok: true });
    expect(gradcheck((a, w) => linear(a, w), [randn([4], rng), weight], GRAD)).toMatchObject({ ok: true });
  });

  test('the composition add(matmul(x, W, transposeB), b): gradients bitwise, output bitwise without a bias and within one rounding with it', () => {
    const rng = new Rng(7);
    for (const withBias of [true, false]) {
      const base = [randn([2, 9, 6], rng), randn([5, 6], rng), randn([5], rng)]; // x [B, T, I], weight [O, I], bias [O]
      const g = randn([2, 9, 5], rng); // [B, T, O]
      const run = (fused: boolean) => {
        const [x, weight, bias] = base.map((t) => new Tensor(t.data.slice(), t.shape, true)) as [Tensor, Tensor, Tensor];
        const b = withBias ? bias : null;
        const y = fused
          ? linear(x, weight, b)
          : reshape(withBiasAdded(matmul(reshape(x, [18, 6]), weight, { transposeB: true }), b), [2, 9, 5]); // [N, I] x [O, I]ᵀ -> [N, O]
        y.backward(g);
        return [y, x.grad!, weight.grad!, ...(withBias ? [bias.grad!] : [])].map((t) => Array.from(t.data));
      };
      const [[fusedY, ...fusedGrads], [composedY, ...composedGrads]] = [run(true), run(false)];
      expect(fusedGrads).toEqual(composedGrads);
      // The bias is where the fused product's sum starts (one rounding), the composition adds it to the rounded product.
      if (withBias) expectClose(fusedY!, composedY!, { atol: 1e-7, rtol: 2 ** -22 });
      else expect(fusedY).toEqual(composedY);
    }
  });

  test('the bias gradient is the upstream gradient summed over all leading axes', () => {
    const rng = new Rng(5);
    const x = randn([2, 3, 4], rng); // [B, T, I]
    const weight = randn([5, 4], rng); // [O, I]
    const bias = randn([5], rng, { requiresGrad: true }); // [O]
    const g = randn([2, 3, 5], rng); // [B, T, O]
    linear(x, weight, bias).backward(g);
    const expected = [0, 1, 2, 3, 4].map((o) => {
      let s = 0;
      for (let r = 0; r < 6; r++) s += g.data[r * 5 + o]!;
      return s;
    });
    expectClose(bias.grad!.data, expected, { atol: 1e-6, rtol: 1e-6 });
  });

  test('shape errors name the shapes', () => {
    const rng = new Rng(6);
    const x = randn([2, 3], rng); // [N, 3]
    const weight = randn([5, 4], rng); // [O, I = 4]
    const error = expectThrows(() => linear(x, weight), ShapeError);
    expect(error.op).toBe('linear');
    expect(error.argument).toBe('x');
    expect(error.shapes).toEqual({ x: [2, 3], weight: [5, 4] });
    expect(error.message).toContain('[2, 3]');
    expect(error.message).toContain('[5, 4]');

    const biasError = expectThrows(() => linear(randn([2, 4], rng), weight, randn([4], rng)), ShapeError);
    expect(biasError.argument).toBe('bias');
    expect(biasError.shapes).toEqual({ weight: [5, 4], bias: [4] });

    expect(expectThrows(() => linear(randn([2, 4], rng), randn([4], rng)), ShapeError).shapes).toEqual({ x: [2, 4], weight: [4] });
  });
});
