import { ArgumentError } from '@heed/tensor';

/**
 * ALiBi head slopes (Press, Smith & Lewis 2022), the reference `get_slopes` rule: for a power of two n,
 * m_h = s^h with s = 2^(−8/n), h = 1..n. Otherwise the n' = 2^⌊log₂ n⌋ slopes of n', then every other
 * slope of 2n' (the 1st, 3rd, ...) until there are n (not monotonic). -> [H] (H = numHeads)
 */
export function alibiSlopes(numHeads: number): number[] {
  if (!Number.isInteger(numHeads) || numHeads < 1) {
    throw new ArgumentError(`numHeads must be a positive integer, got ${numHeads}`, { op: 'alibiSlopes', argument: 'numHeads' });
  }
  const powerOfTwo = (n: number): number[] => {
    const start = 2 ** -(2 ** -(Math.log2(n) - 3)); // 2^(−8/n)
    return Array.from({ length: n }, (_, i) => start * start ** i);
  };
  if (Number.isInteger(Math.log2(numHeads))) return powerOfTwo(numHeads);
  const closest = 2 ** Math.floor(Math.log2(numHeads));
  const extra = alibiSlopes(2 * closest)
    .filter((_, i) => i % 2 === 0)
    .slice(0, numHeads - closest);
  return [...powerOfTwo(closest), ...extra];
}
