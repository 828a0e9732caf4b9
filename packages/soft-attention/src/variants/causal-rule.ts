import { ConfigError } from '@heed/tensor';
import { KeepRule } from './keep-rule';

/**
 * Causal attention as a rule: query i may attend key j when j ≤ i + offset (offset 0: top-left aligned;
 * Lk − Lq aligns bottom-right, as when decoding with a cache). The fused kernels run it as an index bound.
 */
export class CausalRule extends KeepRule {
  readonly kind = 'causal';

  constructor(readonly offset = 0) {
    super();
    if (!Number.isInteger(offset))
      throw new ConfigError(`offset must be an integer, got ${offset}`, { op: 'CausalRule', argument: 'offset' });
  }

  allows(_b: number, _h: number, i: number, j: number): boolean {
    return j <= i + this.offset;
  }
}
