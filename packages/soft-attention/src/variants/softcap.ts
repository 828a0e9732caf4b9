import { ArgumentError, div, expectTensor, mul, tanh, type Tensor } from '@heed/tensor';

/**
 * Logit soft-capping (Gemma 2): cap · tanh(s / cap), smooth, odd, |result| < cap; near s for |s| ≪ cap.
 * [...] -> [...]; d/ds = 1 − tanh²(s / cap).
 */
export function softcap(scores: Tensor, cap: number): Tensor {
  expectTensor('softcap', 'scores', scores);
  checkCap('softcap', cap, ArgumentError);
  return mul(tanh(div(scores, cap)), cap); // [...]
}

/** Checks a cap (finite, > 0). */
export function checkCap(op: string, cap: number, Failure: typeof ArgumentError): void {
  if (typeof cap !== 'number' || !Number.isFinite(cap) || cap <= 0)
    throw new Failure(`cap must be a finite number > 0, got ${cap}`, { op, argument: 'cap' });
}
