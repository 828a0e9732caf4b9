// Shape letters: L positions.

/** What a head measurably does, each score a mean attention weight in [0, 1]. */
export interface HeadScores {
  /** Mean weight from position i to i − 1 (i ≥ 2; position 1's previous token is the first token). */
  previousToken: number;
  /** Mean weight from position i to position 0, the start token (i ≥ 2). */
  firstToken: number;
  /**
   * Mean weight from position i to p + 1, where p < i is the latest earlier occurrence of token i: the token
   * that followed it last time (over the positions whose token occurred before; NaN when none did).
   */
  induction: number;
}

export type HeadRole = 'induction' | 'previous token' | 'first token' | 'no clear role';

/** A head is labelled with its highest score when that score reaches this; below, no role is claimed. */
export const ROLE_THRESHOLD = 0.4;

/** The positions i with a latest earlier occurrence p of their token, as [i, p + 1] pairs. */
export function inductionTargets(ids: readonly number[]): [number, number][] {
  const last = new Map<number, number>();
  const pairs: [number, number][] = [];
  ids.forEach((id, i) => {
    const p = last.get(id);
    if (p !== undefined) pairs.push([i, p + 1]);
    last.set(id, i);
  });
  return pairs;
}

/** weights [L, L] of one head (row = query position, causal) over `ids` -> its three scores. */
export function headScores(weights: ArrayLike<number>, ids: readonly number[]): HeadScores {
  const L = ids.length;
  const at = (i: number, j: number): number => weights[i * L + j]!;
  const mean = (xs: number[]): number => (xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + x, 0) / xs.length);
  const later = Array.from({ length: Math.max(0, L - 2) }, (_, k) => k + 2); // positions 2 … L − 1
  return {
    previousToken: mean(later.map((i) => at(i, i - 1))),
    firstToken: mean(later.map((i) => at(i, 0))),
    induction: mean(inductionTargets(ids).map(([i, j]) => at(i, j))),
  };
}

/** The mean of each score over several sequences (NaN scores left out). */
export function meanScores(all: readonly HeadScores[]): HeadScores {
  const mean = (pick: (s: HeadScores) => number): number => {
    const xs = all.map(pick).filter((x) => !Number.isNaN(x));
    return xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + x, 0) / xs.length;
  };
  return { previousToken: mean((s) => s.previousToken), firstToken: mean((s) => s.firstToken), induction: mean((s) => s.induction) };
}

/** The role of the highest score, if it reaches ROLE_THRESHOLD. */
export function headRole(scores: HeadScores): HeadRole {
  const ranked: [HeadRole, number][] = [
    ['induction', scores.induction],
    ['previous token', scores.previousToken],
    ['first token', scores.firstToken],
  ];
  const finite = ranked.filter(([, s]) => !Number.isNaN(s)).sort((a, b) => b[1] - a[1]);
  const best = finite[0];
  return best && best[1] >= ROLE_THRESHOLD ? best[0] : 'no clear role';
}
