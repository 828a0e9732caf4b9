import { ArgumentError, ConfigError, type Tensor } from '@heed/tensor';
import { KeepRule } from './keep-rule';
import { checkWindow } from './sliding-window';

/**
 * A bidirectional local window (Longformer's band): query i attends key j when |i − j| ≤ w, w keys each
 * side; with an offset, query row i sits at position i + offset. The fused kernels run it as a band of keys.
 */
export class LocalWindowRule extends KeepRule {
  readonly kind = 'local-window';

  constructor(
    readonly window: number,
    readonly offset = 0,
  ) {
    super();
    checkWindow('LocalWindowRule', 'window', window, 0, ConfigError);
    if (!Number.isInteger(offset))
      throw new ConfigError(`offset must be an integer, got ${offset}`, { op: 'LocalWindowRule', argument: 'offset' });
  }

  allows(_b: number, _h: number, i: number, j: number): boolean {
    return Math.abs(i + this.offset - j) <= this.window;
  }
}

/** The local window as a keep-mask [Lq, Lk]: |i − j| ≤ window, query row r at i = r + queryOffset. */
export function localWindowMask(queryLength: number, keyLength: number, window: number, options: { queryOffset?: number } = {}): Tensor {
  checkWindow('localWindowMask', 'window', window, 0, ArgumentError);
  return new LocalWindowRule(window).toMask([queryLength, keyLength], options);
}
