import { ArgumentError, ConfigError, formatShape, ShapeError, Tensor } from '@heed/tensor';

// Shape letters: B batch, H heads, Lq queries, Lk keys.

export interface KeepRuleMaskOptions {
  /** Query row r is at absolute position i = r + queryOffset (default 0; Lk − Lq when decoding with a cache). */
  queryOffset?: number;
}

/**
 * Which keys a query may see, as a rule on indices: allows(b, h, i, j) for batch b, head h, query at
 * absolute position i and key at position j. A rule can be evaluated tile by tile without building a
 * mask, or turned into one with `toMask`. Rules combine with `and` / `or`; `keepRule` makes a user's own.
 */
export abstract class KeepRule {
  /** What the rule is, e.g. 'causal', 'sliding-window', 'segments', 'and'. */
  abstract readonly kind: string;

  /** May query i of batch b, head h attend key j? */
  abstract allows(b: number, h: number, i: number, j: number): boolean;

  /** A rule that allows what both (all) allow. */
  and(...others: KeepRule[]): KeepRule {
    return new AllOfRules([this, ...others]);
  }

  /** A rule that allows what either (any) allows. */
  or(...others: KeepRule[]): KeepRule {
    return new AnyOfRules([this, ...others]);
  }

  /** The rule as a keep-mask (1 = may attend) of `shape`: [Lq, Lk], [B, Lq, Lk] or [B, H, Lq, Lk]. */
  toMask(shape: readonly number[], options: KeepRuleMaskOptions = {}): Tensor {
    const op = `${this.kind}.toMask`;
    if (shape.length < 2 || shape.length > 4 || !shape.every((n) => Number.isInteger(n) && n >= 0)) {
      throw new ShapeError(`shape ${formatShape(shape)} must be [Lq, Lk], [B, Lq, Lk] or [B, H, Lq, Lk]`, {
        op,
        argument: 'shape',
        shapes: { shape },
      });
    }
    const offset = options.queryOffset ?? 0;
    if (!Number.isInteger(offset))
      throw new ArgumentError(`queryOffset must be an integer, got ${offset}`, { op, argument: 'queryOffset' });
    const [Lq, Lk] = shape.slice(-2) as [number, number];
    const B = shape.length >= 3 ? shape[0]! : 1;
    const H = shape.length === 4 ? shape[1]! : 1;
    const data = new Float32Array(B * H * Lq * Lk);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let r = 0; r < Lq; r++)
          for (let j = 0; j < Lk; j++) if (this.allows(b, h, r + offset, j)) data[((b * H + h) * Lq + r) * Lk + j] = 1;
    return new Tensor(data, shape);
  }
}

/** Allows (b, h, i, j) when every rule does. */
export class AllOfRules extends KeepRule {
  readonly kind = 'and';
  constructor(readonly rules: readonly KeepRule[]) {
    super();
    checkRules('KeepRule.and', rules);
  }
  allows(b: number, h: number, i: number, j: number): boolean {
    return this.rules.every((rule) => rule.allows(b, h, i, j));
  }
}

/** Allows (b, h, i, j) when any rule does. */
export class AnyOfRules extends KeepRule {
  readonly kind = 'or';
  constructor(readonly rules: readonly KeepRule[]) {
    super();
    checkRules('KeepRule.or', rules);
  }
  allows(b: number, h: number, i: number, j: number): boolean {
    return this.rules.some((rule) => rule.allows(b, h, i, j));
  }
}

/** A user-defined rule from a function of the indices, e.g. `keepRule('even-keys', (b, h, i, j) => j % 2 === 0)`. */
export function keepRule(kind: string, allows: (b: number, h: number, i: number, j: number) => boolean): KeepRule {
  if (typeof kind !== 'string' || kind.length === 0)
    throw new ConfigError(`kind must be a non-empty string, got ${JSON.stringify(kind)}`, { op: 'keepRule', argument: 'kind' });
  if (typeof allows !== 'function')
    throw new ConfigError('allows must be a function (b, h, i, j) => boolean', { op: 'keepRule', argument: 'allows' });
  return new (class extends KeepRule {
    readonly kind = kind;
    allows(b: number, h: number, i: number, j: number): boolean {
      return allows(b, h, i, j);
    }
  })();
}

function checkRules(op: string, rules: readonly KeepRule[]): void {
  rules.forEach((rule, n) => {
    if (!(rule instanceof KeepRule)) throw new ConfigError(`rules[${n}] is not a KeepRule`, { op, argument: `rules[${n}]` });
  });
}
