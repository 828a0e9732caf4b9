// Regenerates the WebAssembly kernels (scripts/build-wasm.mjs: the micro-kernels and wasm-bytes.ts) and
// fails when that changes a committed file: the bytes users get must be the ones assembly/ builds to.
// Run: pnpm --filter @heed/tensor run check:wasm   (CI runs it on a clean checkout)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const GENERATED = ['src/kernels/wasm/wasm-bytes.ts', 'assembly/microkernels.ts'];

execFileSync(process.execPath, [`${root}scripts/build-wasm.mjs`], { stdio: 'inherit', cwd: root });
try {
  execFileSync('git', ['diff', '--exit-code', '--stat', '--', ...GENERATED], { stdio: 'inherit', cwd: root });
} catch {
  console.error(
    `check-wasm-fresh: regenerating changed ${GENERATED.join(', ')}; run \`pnpm --filter @heed/tensor build:wasm\` and commit the result.`,
  );
  process.exit(1);
}
console.log('check-wasm-fresh: the committed WebAssembly kernels are what assembly/ builds to');
