// Trains the date model from a fixed seed and writes the weights the demo loads instantly:
//   node scripts/train-dates.mjs [scorer ...]      (default: additive scaled-dot)
// -> public/models/dates-<scorer>.json  (config, steps, held-out accuracy, state dict rounded to 4 significant digits)
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const { module: train } = await runnerImport('./src/dates/train.ts', { root, logLevel: 'error', configFile: false });

const STEPS = 600;
const scorers = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['additive', 'scaled-dot'];
const heldOut = train.heldOutExamples(500);
mkdirSync(new URL('../public/models/', import.meta.url), { recursive: true });

for (const scorer of scorers) {
  const trainer = new train.DateTrainer({ scorer, seed: 1, dataSeed: 2 });
  const start = performance.now();
  let loss = 0;
  for (let step = 1; step <= STEPS; step++) {
    loss = trainer.step();
    if (step % 100 === 0) {
      const seconds = ((performance.now() - start) / 1000).toFixed(1);
      console.log(`${scorer}  step ${step}  loss ${loss.toFixed(4)}  ${seconds}s`);
    }
  }
  const evaluation = train.evaluate(trainer.model, heldOut);
  const alignment = train.alignment(trainer.model, heldOut);
  const { batchSize, lr, clipNorm, dataSeed } = trainer.config;
  const file = train.toModelFile(trainer.model, trainer.steps, evaluation, { batchSize, lr, clipNorm, dataSeed });
  const path = new URL(`../public/models/dates-${scorer}.json`, import.meta.url);
  const text = JSON.stringify(file);
  writeFileSync(path, `${text}\n`);
  console.log(
    `${scorer}: held-out exact ${evaluation.exact.toFixed(3)}, characters ${evaluation.characters.toFixed(4)}, ` +
      `alignment argmax ${alignment.argmaxOnCarrier.toFixed(3)} / mass ${alignment.massOnCarrier.toFixed(3)} -> ${fileURLToPath(path)} (${(text.length / 1024).toFixed(0)} KB)`,
  );
}
