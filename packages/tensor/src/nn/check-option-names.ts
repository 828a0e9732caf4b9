import { ArgumentError } from '../errors/argument-error';
import { ConfigError } from '../errors/config-error';

/**
 * Refuses an options object that carries a name the call does not know (a typo such as `casual` would otherwise
 * be ignored in silence): an ArgumentError for a call's options, a ConfigError for a constructor's (`kind`),
 * naming the call, the option, the nearest known name when one is close, and every known name. Symbol keys and
 * options set to `undefined` are let through (spreading optional fields leaves such keys behind).
 */
export function checkOptionNames(
  op: string,
  options: object,
  known: readonly string[],
  kind: 'call' | 'config' = 'call',
  shapes?: Record<string, readonly number[]>,
): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name) || (options as Record<string, unknown>)[name] === undefined) continue;
    const near = nearestName(name, known);
    const message = `unknown option '${name}'${near ? ` (did you mean '${near}'?)` : ''}; the options are ${known.join(', ')}`;
    throw kind === 'config' ? new ConfigError(message, { op, argument: name }) : new ArgumentError(message, { op, argument: name, shapes });
  }
}

/** The known name closest to `name` (case-insensitive edit distance, at most 2 or a third of its length), or null. */
function nearestName(name: string, known: readonly string[]): string | null {
  const lower = name.toLowerCase();
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions counted as one edit ('casual' -> 'causal' is 1). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const d = Array.from({ length: rows }, (_, i) => Array.from({ length: columns }, (_, j) => (i === 0 ? j : j === 0 ? i : 0))); // [|a|+1, |b|+1]
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < columns; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
