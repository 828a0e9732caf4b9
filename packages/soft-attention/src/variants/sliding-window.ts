import { ArgumentError, ConfigError, type Tensor } from '@heed/tensor';
import { KeepRule } from './keep-rule';

/**
 * Mistral's causal sliding window (Jiang et al. 2023): query i attends key j when i − W < j ≤ i,
 * i.e. the W keys ending at itself; with an offset, query row i sits at position i + offset (Lk − Lq
 * when decoding with a cache). The fused kernels run it as a band of keys, skipping the tiles outside it.
 */
export class SlidingWindowRule extends KeepRule {
  readonly kind = 'sliding-window';

  constructor(
    readonly window: number,
    readonly offset = 0,
  ) {
    super();
    checkWindow('SlidingWindowRule', 'window', window, 1, ConfigError);
    if (!Number.isInteger(offset))
      throw new ConfigError(`offset must be an integer, got ${offset}`, { op: 'SlidingWindowRule', argument: 'offset' });
  }

  allows(_b: number, _h: number, i: number, j: number): boolean {
    const position = i + this.offset;
    return j <= position && j > position - this.window;
  }
}

/** The causal sliding window as a keep-mask [Lq, Lk]: i − window < j ≤ i, query row r at i = r + queryOffset. */
export function slidingWindowMask(queryLength: number, keyLength: number, window: number, options: { queryOffset?: number } = {}): Tensor {
  checkWindow('slidingWindowMask', 'window', window, 1, ArgumentError);
  return new SlidingWindowRule(window).toMask([queryLength, keyLength], options);
}

/** Checks a window size (an integer ≥ `least`). */
export function checkWindow(op: string, argument: string, window: number, least: number, Failure: typeof ArgumentError): void {
  if (!Number.isInteger(window) || window < least)
    throw new Failure(`${argument} must be an integer ≥ ${least}, got ${window}`, { op, argument });
}
