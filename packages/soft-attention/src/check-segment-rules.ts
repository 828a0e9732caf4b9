import { formatShape, ShapeError } from '@heed/tensor';
import { AllOfRules, AnyOfRules, type KeepRule } from './variants/keep-rule';
import { SegmentRule } from './variants/segment-mask';

/**
 * Refuses a `SegmentRule` (anywhere in the call's rules, inside `and` / `or`) whose ids do not cover the
 * call: one row per batch element B (the first leading dim, 1 unbatched), ≥ Lq query and ≥ Lk key ids per
 * row. A ShapeError naming the call and `keepRule`, before any mask is built.
 *   scores [...lead, Lq, Lk]
 */
export function checkSegmentRules(
  op: string,
  rules: readonly KeepRule[],
  lead: readonly number[],
  Lq: number,
  Lk: number,
  shapes: Record<string, readonly number[]>,
): void {
  const B = lead.length === 0 ? 1 : lead[0]!;
  const visit = (rule: KeepRule): void => {
    if (rule instanceof AllOfRules || rule instanceof AnyOfRules) rule.rules.forEach(visit);
    else if (rule instanceof SegmentRule) {
      const queries = Math.min(...rule.querySegments.map((row) => row.length));
      const keys = Math.min(...rule.keySegments.map((row) => row.length));
      if (rule.querySegments.length !== B || queries < Lq || keys < Lk) {
        const segments = { querySegments: [rule.querySegments.length, queries], keySegments: [rule.keySegments.length, keys] };
        throw new ShapeError(
          `keepRule's segment ids [${rule.querySegments.length}, ${queries}] (queries) and [${rule.keySegments.length}, ${keys}] (keys) do not cover the scores ${formatShape([...lead, Lq, Lk])}: one row per batch element (B = ${B}), at least Lq = ${Lq} query and Lk = ${Lk} key ids`,
          { op, argument: 'keepRule', shapes: { ...shapes, ...segments } },
        );
      }
    }
  };
  rules.forEach(visit);
}
