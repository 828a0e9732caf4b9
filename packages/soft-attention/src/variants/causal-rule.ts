import { KeepRule } from './keep-rule';

/** Causal attention as a rule: query i may attend key j when j ≤ i. */
export class CausalRule extends KeepRule {
  readonly kind = 'causal';

  allows(_b: number, _h: number, i: number, j: number): boolean {
    return j <= i;
  }
}
