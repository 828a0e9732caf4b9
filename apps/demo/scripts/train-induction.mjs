// Trains panel 3's two-layer attention-only transformer on the induction task from a fixed seed and writes
// the weights the page loads:
//   node scripts/train-induction.mjs [steps]      (default 1000)
// -> public/models/induction.json  (config, training, held-out head scores and roles, float32 weights in base64)
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const { module: train } = await runnerImport('./src/induction/train.ts', { root, logLevel: 'error', configFile: false });

const STEPS = Number(process.argv[2] ?? 1000);
const heldOut = train.heldOutSequences(32);
const trainer = new train.InductionTrainer();
const start = performance.now();
let recent = [];
let finalLoss = Number.NaN;
for (let step = 1; step <= STEPS; step++) {
  recent.push(trainer.step());
  if (step % 100 === 0 || step === STEPS) {
    const loss = recent.reduce((s, x) => s + x, 0) / recent.length;
    recent = [];
    finalLoss = loss;
    const measured = train.measureHeads(trainer.model, heldOut.slice(0, 8).map(train.idsOf));
    const best = Math.max(...measured.scores.flat().map((s) => s.induction));
    console.log(
      `step ${step}  loss ${loss.toFixed(4)}  best induction score ${best.toFixed(3)}  ${((performance.now() - start) / 1000).toFixed(1)}s`,
    );
  }
}
const seconds = (performance.now() - start) / 1000;
const file = train.toModelFile(trainer, seconds, finalLoss, heldOut);
mkdirSync(new URL('../public/models/', import.meta.url), { recursive: true });
const path = new URL('../public/models/induction.json', import.meta.url);
const text = JSON.stringify(file);
writeFileSync(path, `${text}\n`);
for (const [layer, heads] of file.evaluation.scores.entries()) {
  for (const [head, s] of heads.entries()) {
    console.log(
      `layer ${layer + 1} head ${head + 1}: induction ${s.induction.toFixed(3)}  previous ${s.previousToken.toFixed(3)}  first ${s.firstToken.toFixed(3)}  -> ${file.evaluation.roles[layer][head]}`,
    );
  }
}
console.log(
  `accuracy ${file.evaluation.accuracy.toFixed(3)} in ${seconds.toFixed(0)} s -> ${fileURLToPath(path)} (${(text.length / 1024).toFixed(0)} KB)`,
);
