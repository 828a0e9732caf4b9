import { describe, expect, it } from 'vitest';
import { headRole, headScores, inductionTargets, meanScores, ROLE_THRESHOLD } from './head-scores';

// Hand-made weight matrices whose scores are known by construction. L positions.

/** [L, L] with row i all on column pick(i) (or uniform over 0..i when pick returns null). */
function rows(L: number, pick: (i: number) => number | null): number[] {
  const w = new Array<number>(L * L).fill(0);
  for (let i = 0; i < L; i++) {
    const j = pick(i);
    if (j === null) for (let k = 0; k <= i; k++) w[i * L + k] = 1 / (i + 1);
    else w[i * L + j] = 1;
  }
  return w;
}

const ids = [0, 5, 6, 7, 5, 6, 7]; // ^ a b c a b c

describe('headScores', () => {
  it('finds the latest earlier occurrence of each repeated token, and the position after it', () => {
    expect(inductionTargets(ids)).toEqual([
      [4, 2],
      [5, 3],
      [6, 4],
    ]);
    expect(inductionTargets([0, 1, 1, 1])).toEqual([
      [2, 2],
      [3, 3],
    ]);
  });

  it('a head on i − 1 scores 1 as previous-token, and its induction score is its weight on those targets', () => {
    const s = headScores(
      rows(7, (i) => Math.max(0, i - 1)),
      ids,
    );
    expect(s.previousToken).toBe(1);
    expect(s.firstToken).toBe(0);
    expect(s.induction).toBe(0);
    expect(headRole(s)).toBe('previous token');
  });

  it('a head on the position after the last occurrence scores 1 as induction', () => {
    const targets = new Map(inductionTargets(ids));
    const s = headScores(
      rows(7, (i) => targets.get(i) ?? 0),
      ids,
    );
    expect(s.induction).toBe(1);
    expect(headRole(s)).toBe('induction');
  });

  it('a head on the first token scores 1 as first-token; a uniform head has no clear role', () => {
    expect(
      headRole(
        headScores(
          rows(7, () => 0),
          ids,
        ),
      ),
    ).toBe('first token');
    const uniform = headScores(
      rows(7, () => null),
      ids,
    );
    expect(uniform.previousToken).toBeCloseTo((1 / 3 + 1 / 4 + 1 / 5 + 1 / 6 + 1 / 7) / 5, 12);
    expect(headRole(uniform)).toBe('no clear role');
  });

  it('without a repeated token the induction score is NaN, and the role comes from the other two', () => {
    const s = headScores(
      rows(4, (i) => Math.max(0, i - 1)),
      [0, 1, 2, 3],
    );
    expect(s.induction).toBeNaN();
    expect(headRole(s)).toBe('previous token');
  });

  it(`labels only from ${ROLE_THRESHOLD} up, and averages over sequences leaving NaN out`, () => {
    expect(headRole({ previousToken: ROLE_THRESHOLD - 0.01, firstToken: 0.1, induction: 0.2 })).toBe('no clear role');
    expect(headRole({ previousToken: ROLE_THRESHOLD, firstToken: 0.1, induction: 0.2 })).toBe('previous token');
    expect(
      meanScores([
        { previousToken: 1, firstToken: 0, induction: Number.NaN },
        { previousToken: 0, firstToken: 1, induction: 0.5 },
      ]),
    ).toEqual({ previousToken: 0.5, firstToken: 0.5, induction: 0.5 });
  });
});
