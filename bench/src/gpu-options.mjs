// The options of `pnpm bench --gpu` (pure: parsed from argv, checked, defaults filled in).

export const GPU_DEFAULTS = {
  lengths: [512, 1024, 2048, 4096, 8192],
  steps: 5, // timed runs at most, after one untimed first run (pipelines compiled, buffers pooled)
  budgetS: 3, // stop adding timed runs once they passed this many seconds (at least one timed run)
  rowLimitS: 60, // skip a longer L whose estimated run is longer than this
  childTimeoutS: 300, // kill one implementation's process after this many seconds
  totalS: null, // the whole run: a row that would start past it is skipped, a running one gets only what is left
};

const KNOWN = [
  'gpu',
  'lengths',
  'steps',
  'budget-s',
  'row-limit-s',
  'child-timeout-s',
  'total-s',
  'only',
  'no-train',
  'browser',
  'require-gpu',
  'out',
];

/** `--name=value` options and flags -> the bench's configuration; throws on an unknown option or a bad value. */
export function parseGpuOptions(argv) {
  const values = new Map();
  for (const a of argv) {
    if (a === '--') continue;
    if (!a.startsWith('--')) throw new Error(`pnpm bench --gpu: unexpected argument ${a} (options are --name or --name=value)`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!KNOWN.includes(name)) throw new Error(`pnpm bench --gpu: unknown option ${a} (known: ${KNOWN.map((k) => `--${k}`).join(' ')})`);
    values.set(name, eq < 0 ? true : a.slice(eq + 1));
  }
  const text = (name) => {
    const v = values.get(name);
    if (v === true) throw new Error(`pnpm bench --gpu: --${name} needs a value (--${name}=…)`);
    return v;
  };
  const positive = (name, fallback, integer) => {
    const v = text(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!(n > 0) || (integer && !Number.isInteger(n)))
      throw new Error(`pnpm bench --gpu: --${name}=${v} is not a positive ${integer ? 'integer' : 'number'}`);
    return n;
  };
  const flag = (name) => {
    const v = values.get(name);
    if (v !== undefined && v !== true) throw new Error(`pnpm bench --gpu: --${name} takes no value`);
    return v === true;
  };
  const list = text('lengths');
  const lengths = list === undefined ? GPU_DEFAULTS.lengths : list.split(',').map(Number);
  for (const L of lengths)
    if (!Number.isInteger(L) || L < 1) throw new Error(`pnpm bench --gpu: --lengths=${list}: every length must be a positive integer`);
  const only = text('only');
  return {
    lengths: [...new Set(lengths)].sort((a, b) => a - b),
    steps: positive('steps', GPU_DEFAULTS.steps, true),
    budgetMs: positive('budget-s', GPU_DEFAULTS.budgetS) * 1000,
    rowLimitMs: positive('row-limit-s', GPU_DEFAULTS.rowLimitS) * 1000,
    childTimeoutMs: positive('child-timeout-s', GPU_DEFAULTS.childTimeoutS) * 1000,
    totalMs: text('total-s') === undefined ? null : positive('total-s', null) * 1000,
    only: only === undefined ? null : only.split(',').filter(Boolean),
    train: !flag('no-train'),
    browser: flag('browser'),
    requireGpu: flag('require-gpu'),
    out: text('out') ?? null,
  };
}
