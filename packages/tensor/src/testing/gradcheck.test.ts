import { describe, expect, test } from 'vitest';
import { tensor } from '../creation';
import { mul } from '../ops/binary';
import { fromOp, Tensor } from '../tensor';
import { gradcheck } from './gradcheck';

// Custom ops built with fromOp, so gradcheck is tested against gradients we control.
const GRAD = { eps: 1e-2, atol: 1e-3, rtol: 1e-2 };

/** y = x³ with a correct or a deliberately wrong backward. */
function cube(x: Tensor, wrong = false): Tensor {
  const y = Float32Array.from(x.data, (v) => v * v * v);
  return fromOp(y, x.shape, 'cube', [x], (g) => {
    const dydx = Float32Array.from(x.data, (v) => (wrong ? 2 : 3) * v * v); // wrong: 2x² instead of 3x²
    return [mul(g, new Tensor(dydx, x.shape))];
  });
}

/** y = a ⊙ b whose backward forgets b's gradient. */
function productMissingGradB(a: Tensor, b: Tensor): Tensor {
  const y = Float32Array.from(a.data, (v, i) => v * b.data[i]!);
  return fromOp(y, a.shape, 'product', [a, b], (g) => [mul(g, b), null]);
}

describe('gradcheck', () => {
  const x = tensor([0.5, -1.25, 2, 0.75]); // [4]

  test('passes a correct gradient', () => {
    const result = gradcheck((t) => cube(t), [x], GRAD);
    expect(result.ok).toBe(true);
    expect(result.worst).toBeLessThanOrEqual(GRAD.atol);
  });

  test('fails a wrong gradient and reports where', () => {
    const result = gradcheck((t) => cube(t, true), [x], GRAD);
    expect(result.ok).toBe(false);
    expect(result.at).not.toBeNull();
    const at = result.at!;
    expect(at.input).toBe(0);
    // The numeric side is an honest finite difference: d(w·x³)/dx = 3x²·w, the analytic one 2x²·w.
    expect(at.analytic / at.numeric).toBeCloseTo(2 / 3, 3);
  });

  test('the numeric derivative matches the hand-computed 3x² (gradient reported as 0 when missing)', () => {
    // The upstream weight w is fixed by the seed: recover it from a correct run (analytic = 3·2²·w),
    // then the finite difference reported next to a zero gradient must be (3·2² + eps²)·w.
    const ok = gradcheck((t) => cube(t), [tensor([2])], GRAD);
    const zeroGrad = gradcheck(
      (t) =>
        fromOp(
          Float32Array.from(t.data, (v) => v * v * v),
          t.shape,
          'cube',
          [t],
          () => [null],
        ),
      [tensor([2])],
      GRAD,
    );
    expect(ok.ok).toBe(true);
    expect(zeroGrad.ok).toBe(false);
    expect(zeroGrad.at!.analytic).toBe(0);
    const w = ok.at!.analytic / 12;
    expect(zeroGrad.at!.numeric).toBeCloseTo(12.0001 * w, 3);
  });

  test('fails when a gradient is missing for one input, and `check` limits the inputs compared', () => {
    const a = tensor([1.5, -0.5, 2]); // [3]
    const b = tensor([0.25, 3, -1]); // [3]
    const all = gradcheck(productMissingGradB, [a, b], GRAD);
    expect(all.ok).toBe(false);
    expect(all.at!.input).toBe(1);
    expect(all.at!.analytic).toBe(0);
    expect(gradcheck(productMissingGradB, [a, b], { ...GRAD, check: [0] }).ok).toBe(true);
  });

  test('leaves the inputs untouched', () => {
    const input = tensor([0.5, -1.25], undefined, { requiresGrad: true }); // [2]
    const before = Array.from(input.data);
    gradcheck((t) => cube(t), [input], GRAD);
    expect(Array.from(input.data)).toEqual(before);
    expect(input.grad).toBeNull();
  });
});

describe('gradcheck refuses to check nothing', () => {
  test('an empty check list or empty inputs throw instead of passing vacuously', () => {
    expect(() => gradcheck((x) => mul(x, x), [tensor([1, 2])], { check: [] })).toThrow(/nothing to check/);
    expect(() => gradcheck((x) => mul(x, x), [new Tensor(new Float32Array(0), [0])])).toThrow(/nothing to check/);
  });
});
