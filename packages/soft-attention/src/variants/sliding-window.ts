import { ArgumentError, ConfigError, type Tensor } from '@heed/tensor';
import { KeepRule } from './keep-rule';

/**
 * Mistral's causal sliding window (Jiang et al. 2023): query i attends key j when i − W < j ≤ i,
 * i.e. the W keys ending at itself.
 */
export class SlidingWindowRule extends KeepRule {
  readonly kind = 'sliding-window';

  constructor(readonly window: number) {
    super();
    checkWindow('SlidingWindowRule', 'window', window, 1, ConfigError);
  }

  allows(_b: number, _h: number, i: number, j: number): boolean {
    return j <= i && j > i - this.window;
  }
}

/** The causal sliding window as a keep-mask [Lq, Lk]: i − window < j ≤ i, query row r at i = r + queryOffset. */
export function slidingWindowMask(queryLength: number, keyLength: number, window: number, options: { queryOffset?: number } = {}): Tensor {
  checkWindow('slidingWindowMask', 'window', window, 1, ArgumentError);
  return new SlidingWindowRule(window).toMask([queryLength, keyLength], options);
}

/** Checks a window size (an integer ≥ `least`). */
export function checkWindow(op: string, argument: string, window: number, least: number, Failure: typeof ArgumentError): void {
  if (!Number.isInteger(window) || window < least) throw new Failure(`${argument} must be an integer ≥ ${least}, got ${window}`, { op, argument });
}
