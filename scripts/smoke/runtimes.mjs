// Smoke test of heed on Deno and Bun against Node: runs scripts/smoke/workload.mjs under each (the
// runtimes pinned in fetch-runtime.mjs, fetched from the npm registry into a cache), prints the numbers
// side by side and fails loudly when any differs from Node's by more than 1e-6 relative.
//   pnpm build && node scripts/smoke/runtimes.mjs [deno] [bun]
// Relative to each value's size, with a floor at 1 % of the largest value of its array (so a gradient
// entry of 1e-9 next to entries of 1 is compared at the array's scale, not its own).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fetchRuntime, RUNTIMES } from './fetch-runtime.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const workload = fileURLToPath(new URL('./workload.mjs', import.meta.url));
const TIGHT = 1e-6;
// the engine's default build may be relaxed SIMD (fused multiply-add): last bits differ from Node 20's plain one
const LOOSE = { defaultForward: 1e-4 };

for (const name of ['tensor', 'scorers', 'soft-attention', 'self-attention', 'multi-head']) {
  if (!existsSync(`${root}packages/${name}/dist/index.js`)) {
    console.error(`smoke: packages/${name}/dist is missing; run \`pnpm build\` first`);
    process.exit(1);
  }
}

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ['deno', 'bun'];
/** argv for each runtime: the same file, no runtime-specific code. */
const commands = {
  node: () => [process.execPath, [workload]],
  // --allow-read: createRequire()/require of the CommonJS builds; --no-lock: no deno.lock in the repository
  deno: () => [fetchRuntime('deno'), ['run', '--allow-read', '--no-lock', workload]],
  bun: () => [fetchRuntime('bun'), [workload]],
};

function run(runtime) {
  const [binary, args] = commands[runtime]();
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0];
  const started = Date.now();
  let stdout;
  try {
    stdout = execFileSync(binary, args, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
  } catch (error) {
    console.error(`smoke: ${runtime} (${version}) failed:\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
    process.exit(1);
  }
  const line = stdout.split('\n').find((l) => l.startsWith('SMOKE_RESULT '));
  if (!line) {
    console.error(`smoke: ${runtime} printed no SMOKE_RESULT line:\n${stdout}`);
    process.exit(1);
  }
  return { version, seconds: (Date.now() - started) / 1000, result: JSON.parse(line.slice('SMOKE_RESULT '.length)) };
}

/** Every leaf of a result as [path, value], arrays kept whole. */
function leaves(value, path = []) {
  if (Array.isArray(value) || typeof value !== 'object' || value === null || value === false) return [[path.join('.'), value]];
  return Object.entries(value).flatMap(([key, v]) => leaves(v, [...path, key]));
}

function compare(name, theirs, ours) {
  const failures = [];
  const mine = new Map(leaves(ours));
  const other = new Map(leaves(theirs));
  for (const [path, expected] of mine) {
    if (path.startsWith('defaultKernels.')) continue; // which build an engine picks by default is its own business (printed)
    const actual = other.get(path);
    const tolerance = LOOSE[path.split('.')[0]] ?? TIGHT;
    if (Array.isArray(expected)) {
      if (!Array.isArray(actual) || actual.length !== expected.length) {
        failures.push(
          `${path}: ${Array.isArray(actual) ? `${actual.length} numbers` : JSON.stringify(actual)}, Node has ${expected.length}`,
        );
        continue;
      }
      const scale = 0.01 * Math.max(...expected.map(Math.abs), 0);
      let worst = 0;
      let at = -1;
      for (let i = 0; i < expected.length; i++) {
        const error = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(actual[i]), Math.abs(expected[i]), scale, Number.MIN_VALUE);
        if (!(error <= worst)) {
          worst = error;
          at = i;
        }
      }
      const ok = worst <= tolerance;
      console.log(
        `  ${ok ? 'ok  ' : 'FAIL'} ${path.padEnd(32)} ${String(expected.length).padStart(6)} numbers, worst relative difference ${worst.toExponential(2)} (≤ ${tolerance})${at >= 0 ? `  [${at}] node ${expected[at]} ${name} ${actual[at]}` : ''}`,
      );
      if (!ok)
        failures.push(`${path}[${at}]: node ${expected[at]}, ${name} ${actual[at]} (relative ${worst.toExponential(2)} > ${tolerance})`);
    } else if (typeof expected === 'number' && typeof actual === 'number' && !Number.isInteger(expected)) {
      const error = Math.abs(actual - expected) / Math.max(Math.abs(expected), Number.MIN_VALUE);
      const ok = error <= tolerance;
      console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${path.padEnd(32)} node ${expected}  ${name} ${actual}  (relative ${error.toExponential(2)})`);
      if (!ok) failures.push(`${path}: node ${expected}, ${name} ${actual}`);
    } else {
      const ok = JSON.stringify(actual) === JSON.stringify(expected);
      console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${path.padEnd(32)} node ${JSON.stringify(expected)}  ${name} ${JSON.stringify(actual)}`);
      if (!ok) failures.push(`${path}: node ${JSON.stringify(expected)}, ${name} ${JSON.stringify(actual)}`);
    }
  }
  for (const path of other.keys()) if (!mine.has(path)) failures.push(`${path}: only ${name} has it`);
  return failures;
}

const node = run('node');
console.log(`node ${node.version}: ${node.seconds.toFixed(1)} s, default kernels ${JSON.stringify(node.result.defaultKernels)}`);
let failed = 0;
for (const runtime of wanted) {
  if (!RUNTIMES[runtime] || runtime === 'node') {
    console.error(`smoke: unknown runtime '${runtime}' (deno, bun)`);
    process.exit(2);
  }
  const other = run(runtime);
  console.log(
    `\n${runtime} ${other.version}: ${other.seconds.toFixed(1)} s, default kernels ${JSON.stringify(other.result.defaultKernels)} (node: ${JSON.stringify(node.result.defaultKernels)})`,
  );
  const failures = compare(runtime, other.result, node.result);
  if (failures.length) {
    failed++;
    console.log(`\nsmoke: ${runtime} DIFFERS FROM NODE:\n${failures.map((f) => `  ${f}`).join('\n')}`);
  } else {
    console.log(`smoke: ${runtime} matches node`);
  }
}
// the summary line in vitest's form, so CI's count of passed and failed tests includes these checks
console.log(`\n      Tests  ${failed ? `${failed} failed | ` : ''}${wanted.length - failed} passed (${wanted.length})`);
if (failed) process.exit(1);
