// End-to-end test of the built demo (run `vite build` first; `pnpm test` does):
// serves dist/ with Vite's preview() API, drives Chromium with playwright-core (the one pinned as
// @sparticuz/chromium, or CHROMIUM_PATH: see chromium.mjs), checks the three
// panels, saves a screenshot of each, and fails on any console error, page error, failed request or
// request outside the page's origin.
//   node e2e/run.mjs [--screenshots <dir under apps/demo>]
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Rng, Tensor } from '@heed/tensor';
import {
  AlphaEntmax,
  alibiScorer,
  attend,
  BiasedScorer,
  CausalRule,
  GumbelSoftmax,
  linearAttentionWeights,
  LocalWindowRule,
  RelativePositionBias,
  RotaryScorer,
  SegmentRule,
  SlidingWindowRule,
  SoftcapScorer,
  SoftmaxWithSinks,
} from '@heed/soft-attention';
import { preview } from 'vite';
import { findChromium, SWIFTSHADER_FLAGS, WEBGPU_PAGE_FLAGS } from './chromium.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// screenshots/ by default (git-ignored); `--screenshots docs` refreshes the images the READMEs show
const dirFlag = process.argv.indexOf('--screenshots');
const screenshots = join(root, dirFlag > 0 && process.argv[dirFlag + 1] ? process.argv[dirFlag + 1] : 'screenshots');
const TRAIN_STEPS = 150;
const COMPARE_STEPS = 30; // panel 2 on WebGPU against WASM
const DEADLINE_MS = 480_000; // a guard against hanging, not a timing check: the walk takes about 3 min on a loaded 2-core machine (WebGPU runs on SwiftShader)

if (!existsSync(join(root, 'dist', 'index.html'))) {
  console.error('e2e: dist/index.html is missing; run `pnpm --filter @heed/demo run build` first');
  process.exit(1);
}
let chromiumFound;
try {
  chromiumFound = await findChromium();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
const CHROMIUM = chromiumFound.path;

const failures = [];
const problems = []; // console errors, page errors, failed or foreign requests
let passed = 0;

function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`  ✓ ${name}${detail ? `  (${detail})` : ''}`);
  } else {
    failures.push(`${name}${detail ? `: ${detail}` : ''}`);
    console.log(`  ✗ ${name}${detail ? `  (${detail})` : ''}`);
  }
}

/**
 * The weights of the variants panel's configuration, from a direct call of the built packages on the
 * query, keys and values the page used: this test's own reading of the choices (not the page's mapping).
 */
function referenceVariantWeights({ config, tokens, query, keys, values }, implementation = 'plain') {
  const t = (x) => new Tensor(Float32Array.from(x.data), x.shape);
  const [q, k, v] = [t(query), t(keys), t(values)];
  const H = query.shape[1];
  if (config.normalizer === 'linear') return Array.from(linearAttentionWeights(q, k, { causal: config.window === 'causal' }).data);
  const inner = { kind: 'scaled-dot' };
  let scorer =
    config.position === 'rope'
      ? new RotaryScorer({ inner })
      : config.position === 'rope-interleaved'
        ? new RotaryScorer({ inner, style: 'interleaved' })
        : config.position === 'alibi'
          ? alibiScorer(H, inner)
          : config.position === 'relative'
            ? new BiasedScorer(new RelativePositionBias({ numHeads: H, rng: new Rng(7) }), { inner }) // the page's documented table seed
            : inner;
  if (config.softcap !== null) scorer = new SoftcapScorer(config.softcap, { inner: scorer });
  let normalizer = config.normalizer === 'entmax15' ? 'entmax15' : config.normalizer === 'sparsemax' ? 'sparsemax' : 'softmax';
  if (config.normalizer === 'alpha-entmax') normalizer = new AlphaEntmax({ alpha: config.alpha });
  if (config.normalizer === 'gumbel') normalizer = new GumbelSoftmax({ rng: new Rng(5) }); // the page's documented noise seed
  if (config.normalizer === 'sinks') {
    normalizer = new SoftmaxWithSinks({ numHeads: H });
    normalizer.sinks.data.fill(config.sink);
  }
  // segments: a sentence ends at '.', '!' or '?' (the page's rule, counted here from its tokens)
  const segments = [];
  let segment = 0;
  for (const token of tokens) {
    segments.push(segment);
    if (['.', '!', '?'].includes(token)) segment++;
  }
  const keepRule =
    config.window === 'sliding'
      ? new SlidingWindowRule(config.windowSize)
      : config.window === 'local'
        ? new LocalWindowRule(config.windowSize)
        : config.window === 'segments'
          ? new SegmentRule([segments]).and(new CausalRule())
          : undefined;
  const { weights } = attend({
    query: q,
    keys: k,
    values: v,
    scorer,
    normalizer,
    causal: config.window === 'causal',
    keepRule,
    implementation,
  });
  return Array.from(weights.data);
}

/** Whether every row of weights [..., L, L] is one-hot: a single 1, the rest 0 (hard attention). */
function oneHotRows({ shape, data }) {
  const L = shape.at(-1);
  for (let r = 0; r < data.length / L; r++) {
    const row = data.slice(r * L, (r + 1) * L);
    if (row.filter((w) => w === 1).length !== 1 || row.filter((w) => w === 0).length !== L - 1) return false;
  }
  return true;
}

/** Whether the packages' fused path runs this configuration (its own call with implementation 'fused'), and its weights. */
function fusedVariantWeights(snapshot) {
  try {
    return referenceVariantWeights(snapshot, 'fused');
  } catch (error) {
    if (error?.name === 'ConfigError' && /implementation 'fused' cannot run/.test(error.message)) return null;
    throw error;
  }
}

const close = (a, b, tol) => Math.abs(a - b) <= tol;
/** Polls `read` until `done(value)` or 3 s pass; returns the last value (the check then judges it). */
async function settle(read, done) {
  const until = Date.now() + 3000;
  let value = await read();
  while (!done(value) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}
const sum = (xs) => xs.reduce((s, x) => s + x, 0);

/**
 * At `width` px: the page and every panel, card and column are no wider than their box (scrollWidth vs
 * clientWidth), and every control can be scrolled to and is the element under its own centre (nothing
 * covers it, nothing clips it). Wide tables and maps may scroll inside their own box: the check scrolls them.
 */
async function checkLayout(page, width) {
  await page.setViewportSize({ width, height: 900 });
  await page.waitForFunction((w) => document.documentElement.clientWidth <= w, width);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const report = await page.evaluate(() => {
    const doc = document.documentElement;
    const boxes = [...document.querySelectorAll('.site-header, .panel, .card, .induction-head, .worked, .controls')];
    const overflowing = boxes
      .filter((el) => el.scrollWidth > el.clientWidth)
      .map((el) => `${el.id || el.className} ${el.scrollWidth} > ${el.clientWidth}`);
    const controls = [...document.querySelectorAll('main input, main select, main button')].filter((el) => el.getClientRects().length > 0);
    const unreachable = [];
    for (const el of controls) {
      el.scrollIntoView({ block: 'center', inline: 'nearest' });
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      const inView = r.left >= 0 && r.right <= doc.clientWidth + 0.5 && r.width > 0 && r.height > 0;
      if (!inView || !(hit === el || el.contains(hit) || hit?.control === el || hit?.closest('label')?.contains(el))) {
        unreachable.push(
          `${el.dataset.testid ?? el.getAttribute('aria-label') ?? el.textContent?.trim() ?? el.tagName} at ${Math.round(r.left)}..${Math.round(r.right)}`,
        );
      }
    }
    window.scrollTo(0, 0);
    for (const box of document.querySelectorAll('.table-wrap, .heatmap-scroll')) box.scrollLeft = 0; // as a visitor finds them
    return { page: [doc.scrollWidth, doc.clientWidth], overflowing, controls: controls.length, unreachable, panels: boxes.length };
  });
  check(
    `${width} px: the page does not overflow sideways`,
    report.page[0] <= report.page[1],
    `scrollWidth ${report.page[0]}, clientWidth ${report.page[1]}`,
  );
  check(
    `${width} px: no panel, card or column overflows`,
    report.overflowing.length === 0,
    report.overflowing.length ? report.overflowing.join(' | ') : `${report.panels} boxes checked`,
  );
  check(
    `${width} px: every control is reachable and uncovered`,
    report.unreachable.length === 0 && report.controls > 20,
    report.unreachable.length ? report.unreachable.join(' | ') : `${report.controls} controls`,
  );
  return report;
}

const server = await preview({
  root,
  logLevel: 'warn',
  configFile: join(root, 'vite.config.ts'),
  preview: { host: '127.0.0.1', port: 4179, strictPort: false, open: false },
});
const url = server.resolvedUrls?.local[0];
if (!url) throw new Error('the preview server reported no local address');
const origin = new URL(url).origin;
const userDataDir = mkdtempSync(join(tmpdir(), 'heed-e2e-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  // WebGPU on SwiftShader (Chromium's software adapter), offline, as in @heed/webgpu's browser tests
  args: ['--headless', ...WEBGPU_PAGE_FLAGS, ...SWIFTSHADER_FLAGS],
  viewport: { width: 1280, height: 900 },
  deviceScaleFactor: 1,
});
const deadline = setTimeout(() => {
  console.error(`e2e: gave up after ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);

try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) problems.push(`request outside the origin: ${u}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('worker', (w) => console.log(`  · worker started: ${w.url().replace(origin, '')}`));

  const browserVersion =
    context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? 'unknown'));
  console.log(`e2e: ${url} in Chromium ${browserVersion} (${chromiumFound.source}: ${CHROMIUM})`);
  if (chromiumFound.expectedMajor !== null) {
    check(
      `the browser is the pinned Chromium ${chromiumFound.expectedMajor}`,
      Number(browserVersion.split('.')[0]) === chromiumFound.expectedMajor,
      browserVersion,
    );
  }
  await page.goto(url);
  mkdirSync(screenshots, { recursive: true });
  check(
    'the app boots and removes the "run pnpm demo" message',
    (await page.locator('#boot-message').count()) === 0 && (await page.locator('html[data-booted=true]').count()) === 1,
  );
  const emptyChart = page.locator('[data-testid=dates-loss-chart] [data-testid=chart-empty]');
  check(
    'before any training the loss chart says so instead of empty axes',
    (await emptyChart.isVisible()) && !(await page.locator('[data-testid=dates-loss-chart] canvas').isVisible()),
    await emptyChart.textContent(),
  );

  // ---------------------------------------------------------------- the backend switch
  console.log('kernels · the backend switch');
  const backendBar = page.locator('#backend-switch');
  const backendReady = (id) =>
    page.waitForFunction((backend) => {
      const el = document.querySelector('#backend-switch');
      return (
        el?.dataset.backend === backend &&
        el.dataset.backendState === 'ready' &&
        el.querySelector('[data-testid=backend-status]')?.textContent?.includes('per training step')
      );
    }, id);
  const backendIds = await backendBar.locator('[data-testid=backend-button]').evaluateAll((els) => els.map((el) => el.dataset.backend));
  await backendReady('webgpu');
  check(
    'the page starts on WebGPU (SwiftShader here), with the time of a training step on the GPU',
    (await backendBar.getAttribute('data-step-ms-webgpu')) !== null &&
      (await backendBar.locator('[data-testid=backend-status]').textContent()).startsWith('WebGPU on') &&
      !(await backendBar.locator('[data-testid=backend-note]').isVisible()),
    await backendBar.locator('[data-testid=backend-status]').textContent(),
  );
  await backendBar.locator('[data-testid=backend-button][data-backend=wasm]').click();
  await backendReady('wasm');
  await backendBar.locator('[data-testid=backend-button][data-backend=js]').click();
  await backendReady('js');
  const [jsMs, wasmMs] = await backendBar.evaluate((el) => [Number(el.dataset.stepMsJs), Number(el.dataset.stepMsWasm)]);
  check(
    'switching to JS runs on the TypeScript kernels and times a step on each backend',
    jsMs > 0 &&
      wasmMs > 0 &&
      (await backendBar.locator('[data-testid=backend-status]').textContent()).includes('TypeScript') &&
      backendIds.join() === 'js,wasm,webgpu',
    `${await backendBar.locator('[data-testid=backend-times]').textContent()}`,
  );
  const onJs = await page.evaluate(() => window.heedDemo?.variants);
  const onJsDiff = Math.max(...onJs.weights.data.map((w, n) => Math.abs(w - referenceVariantWeights(onJs)[n])));
  check(
    'on the JS kernels the variants panel recomputes and still matches a direct call',
    onJsDiff <= 1e-5,
    `max |Δ| ${onJsDiff.toExponential(1)}`,
  );
  await backendBar.locator('[data-testid=backend-button][data-backend=wasm]').click();
  await backendReady('wasm');
  check(
    '… and back to WASM',
    (await backendBar.locator('[data-testid=backend-button][data-backend=wasm]').getAttribute('aria-pressed')) === 'true',
    await backendBar.locator('[data-testid=backend-times]').textContent(),
  );

  // ---------------------------------------------------------------- panel 1: the three steps
  console.log('panel 1 · the three steps');
  const steps = page.locator('#panel-steps');
  const weightsNow = () => steps.locator('[data-testid=weight]').evaluateAll((cells) => cells.map((c) => Number(c.dataset.value)));
  const numbers = (selector) => steps.locator(selector).evaluateAll((inputs) => inputs.map((i) => Number(i.value)));

  // reference: dot scores and softmax, computed here from the numbers shown in the inputs
  const query = await numbers('.query-row input.num');
  const keys = await numbers('tbody td.key-cell input');
  const values = await numbers('tbody td.value-cell input');
  const N = keys.length / 3;
  const dotScores = Array.from({ length: N }, (_, n) => sum(query.map((q, i) => q * keys[n * 3 + i])));
  const exps = dotScores.map((s) => Math.exp(s - Math.max(...dotScores)));
  const expected = exps.map((e) => e / sum(exps));
  const dotWeights = await weightsNow();
  check(
    'dot + softmax weights match a reference computed in the test',
    dotWeights.length === N && dotWeights.every((w, n) => close(w, expected[n], 1e-5)),
    dotWeights.map((w) => w.toFixed(4)).join(' '),
  );
  const context1 = (await steps.locator('[data-testid=context]').getAttribute('data-value')).split(',').map(Number);
  const expectedContext = [0, 1].map((j) => sum(expected.map((w, n) => w * values[n * 2 + j])));
  check(
    'the weighted sum is Σ wᵢ vᵢ',
    context1.every((c, j) => close(c, expectedContext[j], 1e-5)),
    context1.map((c) => c.toFixed(4)).join(', '),
  );

  for (const kind of ['scaled-dot', 'general', 'additive', 'cosine']) {
    await steps.locator('[data-testid=steps-scorer]').selectOption(kind);
    const w = await weightsNow();
    const changed = Math.max(...w.map((x, n) => Math.abs(x - dotWeights[n])));
    check(
      `scorer ${kind}: the weights change and still sum to 1`,
      changed > 1e-3 && close(sum(w), 1, 1e-5),
      `max change ${changed.toFixed(4)}, sum ${sum(w).toFixed(6)}`,
    );
  }
  const titles = await steps.locator('tbody input.book-title').evaluateAll((inputs) => inputs.map((i) => i.value));
  for (const kind of ['general', 'additive', 'concat']) {
    await steps.locator('[data-testid=steps-scorer]').selectOption(kind);
    const w = await weightsNow();
    const top = [...w.keys()]
      .sort((a, b) => w[b] - w[a])
      .slice(0, 2)
      .map((n) => titles[n]);
    const worked = await steps.locator('.worked').textContent();
    check(
      `scorer ${kind}: the superhero books first, and the page says how its weights were set`,
      top.includes('Iron Man: Extremis') && top.includes('Guardians of the Galaxy') && worked.includes('set by hand'),
      top.join(', '),
    );
    await steps.locator('[data-testid=steps-normalizer]').selectOption('sparsemax');
    const zeros = (await weightsNow()).filter((x) => x === 0).length;
    check(`scorer ${kind} with sparsemax: exact zeros`, zeros >= 1, `${zeros} of ${w.length} weights are 0`);
    await steps.locator('[data-testid=steps-normalizer]').selectOption('softmax');
  }
  await steps.locator('[data-testid=steps-scorer]').selectOption('dot');
  await steps.locator('[data-testid=steps-normalizer]').selectOption('sparsemax');
  const sparse = await weightsNow();
  check(
    'sparsemax: weights sum to 1 with exact zeros',
    close(sum(sparse), 1, 1e-5) && sparse.some((w) => w === 0),
    sparse.map((w) => w.toFixed(4)).join(' '),
  );
  await steps.locator('[data-testid=steps-normalizer]').selectOption('softmax');
  await steps.locator('[data-testid=steps-temperature]').evaluate((el) => {
    el.value = '0.5';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  const sharp = await weightsNow();
  check(
    'a lower temperature sharpens the weights',
    Math.max(...sharp) > Math.max(...dotWeights) + 1e-3 && close(sum(sharp), 1, 1e-5),
    `max weight ${Math.max(...dotWeights).toFixed(4)} -> ${Math.max(...sharp).toFixed(4)}`,
  );
  await steps.locator('[data-testid=steps-temperature]').evaluate((el) => {
    el.value = '1';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await steps
    .locator('tbody td.key-cell input')
    .nth(3 * 3)
    .fill('1.5'); // book 4's first key feature
  const edited = await weightsNow();
  check(
    'editing a key updates the weights at once',
    edited[3] > dotWeights[3] + 1e-3 && close(sum(edited), 1, 1e-5),
    `book 4: ${dotWeights[3].toFixed(4)} -> ${edited[3].toFixed(4)}`,
  );
  await steps
    .locator('tbody td.key-cell input')
    .nth(3 * 3)
    .fill('');
  const invalidNote = steps.locator('[data-testid=steps-invalid]');
  const cleared = await weightsNow();
  check(
    'a cleared number says so in the page, with the number still used',
    (await invalidNote.isVisible()) && (await invalidNote.textContent()).includes('1.50') && cleared.every((w, n) => w === edited[n]),
    await invalidNote.textContent(),
  );
  await steps
    .locator('tbody td.key-cell input')
    .nth(3 * 3)
    .fill('0');
  await steps
    .locator('tbody td.key-cell input')
    .nth(3 * 3)
    .blur();
  check('… and the message goes once it is a number again', !(await invalidNote.isVisible()));
  await steps.screenshot({ path: join(screenshots, 'panel-1-three-steps.png') });

  // ---------------------------------------------------------------- panel 2: alignment in translation
  console.log('panel 2 · alignment in translation');
  const dates = page.locator('#panel-dates');
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#panel-dates')?.dataset.state ?? ''));
  check(
    'the pretrained model loads from a static file',
    (await dates.getAttribute('data-state')) === 'ready',
    await dates.locator('[data-testid=dates-status]').textContent(),
  );
  const heatmap = dates.locator('[data-testid=dates-heatmap]');
  const prediction = () => dates.locator('[data-testid=dates-prediction]').textContent();
  check('the pretrained model rewrites "25 November 2026"', (await prediction()) === '2026-11-25', await prediction());
  await dates.locator('[data-testid=dates-input]').fill('Mar 7, 1994');
  check('… and "Mar 7, 1994"', (await prediction()) === '1994-03-07', await prediction());
  await dates.locator('[data-testid=dates-input]').fill('11/25/26');

  await dates.locator('[data-testid=dates-input]').fill('');
  const emptyDate = dates.locator('[data-testid=dates-empty]');
  check(
    'an empty date says so, and no stale heatmap stays',
    (await emptyDate.isVisible()) && !(await heatmap.isVisible()),
    await emptyDate.textContent(),
  );
  await dates.locator('[data-testid=dates-input]').fill('11/25/26');
  const stepsNote = dates.locator('[data-testid=dates-steps-note]');
  await dates.locator('[data-testid=dates-steps]').fill('6000');
  await dates.locator('[data-testid=dates-train]').click();
  check(
    'steps above the maximum are refused in words, not clamped',
    (await stepsNote.isVisible()) &&
      (await stepsNote.textContent()).includes('above the maximum') &&
      (await dates.getAttribute('data-state')) === 'ready' &&
      (await dates.locator('[data-testid=dates-steps]').inputValue()) === '6000',
    await stepsNote.textContent(),
  );
  await dates.locator('[data-testid=dates-steps]').fill('');
  await dates.locator('[data-testid=dates-train]').click();
  check(
    'an empty steps box is refused in words',
    (await stepsNote.textContent()).includes('empty') && (await dates.getAttribute('data-state')) === 'ready',
    await stepsNote.textContent(),
  );

  // The same short run (same seeds, same batches) on WebGPU and on WASM: the losses agree to float32 rounding
  // of a different summation order (seen: 2e-6 relative after 20 steps), the held-out accuracy to at most one
  // example / a few characters whose argmax is a near tie. Short, because SwiftShader takes ~1 s a step.
  const runOn = async (backendId) => {
    await backendBar.locator(`[data-testid=backend-button][data-backend=${backendId}]`).click();
    await backendReady(backendId);
    await dates.locator('[data-testid=dates-steps]').fill(String(COMPARE_STEPS));
    await dates.locator('[data-testid=dates-train]').click();
    await page.waitForFunction(() => document.querySelector('#panel-dates')?.dataset.state === 'training');
    await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('#panel-dates')?.dataset.state ?? ''), undefined, {
      timeout: 120_000,
    });
    return dates.evaluate((el) => ({
      state: el.dataset.state,
      loss: Number(el.dataset.finalLoss),
      exact: Number(el.dataset.heldOutExact),
      characters: Number(el.dataset.heldOutCharacters),
      stepMs: Number(el.dataset.stepMs),
      status: el.querySelector('[data-testid=dates-status]')?.textContent ?? '',
    }));
  };
  const onGpu = await runOn('webgpu');
  const onCpu = await runOn('wasm');
  const describeRun = (r) =>
    `loss ${r.loss.toFixed(5)}, held-out ${(100 * r.exact).toFixed(0)}% exact, ${(100 * r.characters).toFixed(1)}% characters, ${r.stepMs.toFixed(0)} ms/step`;
  check(
    `panel 2 trains on WebGPU: ${COMPARE_STEPS} steps from the same seed as on WASM reach the same loss (±1e-3 relative) and held-out accuracy (±1 example, ±0.5% characters)`,
    onGpu.state === 'done' &&
      onCpu.state === 'done' &&
      onGpu.status.includes('ms per step on WebGPU') &&
      Math.abs(onGpu.loss - onCpu.loss) <= 1e-3 * Math.abs(onCpu.loss) &&
      Math.abs(onGpu.exact - onCpu.exact) <= 0.01 + 1e-9 &&
      Math.abs(onGpu.characters - onCpu.characters) <= 0.005 + 1e-9,
    `WebGPU: ${describeRun(onGpu)} · WASM: ${describeRun(onCpu)}`,
  );

  await dates.locator('[data-testid=dates-scorer]').selectOption('scaled-dot');
  await dates.locator('[data-testid=dates-steps]').fill(String(TRAIN_STEPS));
  check('… and the message goes with a valid number', !(await stepsNote.isVisible()));
  const started = Date.now();
  await dates.locator('[data-testid=dates-train]').click();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=dates-loss-chart]')?.dataset.points ?? 0) >= 5);
  const t0 = Date.now();
  await page.evaluate(() => document.title);
  const latency = Date.now() - t0;
  check('the page stays responsive while the worker trains', latency < 500, `round trip ${latency} ms`);
  await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('#panel-dates')?.dataset.state ?? ''), undefined, {
    timeout: 120_000,
  });
  const seconds = (Date.now() - started) / 1000;
  const chart = dates.locator('[data-testid=dates-loss-chart]');
  const [points, firstLoss, lastLoss] = await chart.evaluate((el) => [
    Number(el.dataset.points),
    Number(el.dataset.firstLoss),
    Number(el.dataset.lastLoss),
  ]);
  check(
    `training ran ${TRAIN_STEPS} steps in the worker`,
    (await dates.getAttribute('data-state')) === 'done' && points === TRAIN_STEPS,
    `${points} loss points in ${seconds.toFixed(1)} s: ${await dates.locator('[data-testid=dates-status]').textContent()}`,
  );
  check('the loss fell', lastLoss < 0.5 * firstLoss, `${firstLoss.toFixed(3)} -> ${lastLoss.toFixed(3)}`);
  check(
    'the status gives the time per step and the kernels that ran it',
    (await dates.locator('[data-testid=dates-status]').textContent()).includes('ms per step on WebAssembly') &&
      Number(await dates.getAttribute('data-step-ms')) > 0,
    `${Number(await dates.getAttribute('data-step-ms')).toFixed(1)} ms per step`,
  );
  const progress = await dates.locator('[data-testid=dates-progress]').evaluate((el) => [el.value, el.max]);
  check('the progress bar is full', progress[0] === TRAIN_STEPS && progress[1] === TRAIN_STEPS, `${progress[0]} / ${progress[1]}`);
  const accuracy = Number(await chart.getAttribute('data-last-accuracy'));
  check('held-out accuracy is reported', Number.isFinite(accuracy) && accuracy >= 0 && accuracy <= 1, String(accuracy));

  const text = '25 November 2026';
  await dates.locator('[data-testid=dates-input]').fill(text);
  const [rows, cols] = await heatmap.evaluate((el) => [Number(el.dataset.rows), Number(el.dataset.cols)]);
  check('the alignment heatmap is output characters × input characters', rows === 10 && cols === text.length, `${rows} × ${cols}`);
  const painted = await heatmap.evaluate((el) => {
    const canvas = el.querySelector('canvas');
    const ctx = canvas.getContext('2d');
    const [x0, y0, cell] = [Number(el.dataset.x0), Number(el.dataset.y0), Number(el.dataset.cell)];
    const scale = canvas.width / canvas.clientWidth;
    const pixels = [];
    for (let i = 0; i < Number(el.dataset.rows); i++) {
      for (let j = 0; j < Number(el.dataset.cols); j++) {
        const d = ctx.getImageData(Math.round((x0 + (j + 0.5) * cell) * scale), Math.round((y0 + (i + 0.5) * cell) * scale), 1, 1).data;
        pixels.push(d[3] === 255);
      }
    }
    return pixels.filter(Boolean).length;
  });
  check('every cell of the heatmap is painted', painted === rows * cols, `${painted} of ${rows * cols}`);
  await heatmap.scrollIntoViewIfNeeded();
  const box = await heatmap.locator('canvas').boundingBox();
  const [x0, y0, cell] = await heatmap.evaluate((el) => [Number(el.dataset.x0), Number(el.dataset.y0), Number(el.dataset.cell)]);
  await page.mouse.move(box.x + x0 + 0.5 * cell, box.y + y0 + 8.5 * cell); // row 9 (the first day digit), column 1 ('2')
  const tooltip = heatmap.locator('.heatmap-tooltip');
  await tooltip.waitFor({ state: 'visible' });
  const tip = await tooltip.innerText();
  const tipValue = Number(await tooltip.getAttribute('data-value'));
  check(
    'hovering a cell shows its row, column and value',
    tip.includes('output character') && tip.includes('input character') && tipValue >= 0 && tipValue <= 1,
    tip.replace(/\n/g, ' · '),
  );
  const tipBox = await tooltip.boundingBox();
  check(
    "the tooltip stays off the row labels (right of the grid's left edge)",
    tipBox.x >= box.x + x0 - 0.5,
    `tooltip left ${Math.round(tipBox.x)}, grid left ${Math.round(box.x + x0)}`,
  );
  const arrows = await heatmap.evaluate((el) => [el.dataset.rowArrow, el.dataset.colArrow]);
  check(
    'the axis arrows point the way rows (down) and columns (right) run',
    arrows[0] === 'down' && arrows[1] === 'right',
    arrows.join(', '),
  );
  await dates.screenshot({ path: join(screenshots, 'panel-2-dates.png') });
  await page.mouse.move(0, 0);

  // ---------------------------------------------------------------- panel 3: heads of a trained transformer
  console.log('panel 3 · heads of a trained transformer');
  const heads = page.locator('#panel-heads');
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#panel-heads')?.dataset.state ?? ''));
  check(
    'the trained induction model loads from a static file',
    (await heads.getAttribute('data-state')) === 'ready',
    await heads.locator('[data-testid=induction-status]').textContent(),
  );
  const shipped = JSON.parse(readFileSync(join(root, 'dist', 'models', 'induction.json'), 'utf8'));
  const { numLayers, numHeads } = shipped.config;
  const headMaps = heads.locator('[data-testid=induction-heatmap]');
  const letters = await heads.locator('[data-testid=induction-letters]').inputValue();
  const L = 1 + letters.replace(/\s/g, '').length;
  const mapSizes = await headMaps.evaluateAll((els) => els.map((el) => `${el.dataset.rows}×${el.dataset.cols}`));
  check(
    `one map per layer and head (${numLayers} × ${numHeads}), each positions × positions`,
    mapSizes.length === numLayers * numHeads && mapSizes.every((s) => s === `${L}×${L}`),
    `${mapSizes.length} maps of ${mapSizes[0]}`,
  );
  const pageRoles = (await heads.getAttribute('data-head-roles')).split(';').map((r) => r.split(','));
  check(
    "the page's head labels, measured in the page, match those the training script measured",
    JSON.stringify(pageRoles) === JSON.stringify(shipped.evaluation.roles),
    pageRoles.map((r, i) => `L${i + 1}: ${r.join(', ')}`).join(' | '),
  );
  const inductionBadges = await heads
    .locator('[data-testid=induction-role][data-role=induction]')
    .evaluateAll((els) => els.map((el) => el.textContent));
  const bestInduction = Math.max(...shipped.evaluation.scores.flat().map((s) => s.induction));
  check(
    'at least one head is labelled "induction", with a held-out score of 0.5 or more',
    inductionBadges.length >= 1 && bestInduction >= 0.5,
    `${inductionBadges.join(', ')}; best ${bestInduction.toFixed(3)}`,
  );
  const namedRoles = new Set(pageRoles.flat());
  check(
    'previous-token and first-token heads are labelled too',
    namedRoles.has('previous token') && namedRoles.has('first token'),
    [...namedRoles].join(', '),
  );
  const yours = await headMaps.evaluateAll((els) =>
    els.map((el) => ({ role: el.dataset.role, induction: Number(el.dataset.induction), previous: Number(el.dataset.previousToken) })),
  );
  const yourBest = Math.max(...yours.filter((m) => m.role === 'induction').map((m) => m.induction));
  check(`on "${letters}" the induction heads score 0.5 or more too`, yourBest >= 0.5, `best ${yourBest.toFixed(3)}`);
  const summary = heads.locator('[data-testid=induction-summary]');
  const [right, asked] = await summary.evaluate((el) => [Number(el.dataset.right), Number(el.dataset.asked)]);
  check('the model predicts the repeated letters', asked > 0 && right >= asked - 1, await summary.textContent());
  await heads.locator('[data-testid=induction-untrained]').check();
  const untrainedRoles = await heads.getAttribute('data-head-roles');
  const [rightBefore] = await summary.evaluate((el) => [Number(el.dataset.right)]);
  check(
    'untrained: the same model before training has no induction head and predicts less',
    (await heads.getAttribute('data-model')) === 'untrained' && !untrainedRoles.includes('induction') && rightBefore < right,
    `${untrainedRoles} · ${rightBefore} of ${asked} right`,
  );
  await heads.locator('[data-testid=induction-untrained]').uncheck();
  const firstMap = headMaps.first();
  await firstMap.scrollIntoViewIfNeeded();
  const hbox = await firstMap.locator('canvas').boundingBox();
  const [hx0, hy0, hcell] = await firstMap.evaluate((el) => [Number(el.dataset.x0), Number(el.dataset.y0), Number(el.dataset.cell)]);
  await page.mouse.move(hbox.x + hx0 + (L - 0.5) * hcell, hbox.y + hy0 + 0.5 * hcell); // first position, last position
  const headTip = firstMap.locator('.heatmap-tooltip');
  await headTip.waitFor({ state: 'visible' });
  const future = await settle(
    () => headTip.getAttribute('data-value'),
    (v) => v === '0',
  );
  check('causal: the first position gives the last one no weight', Number(future) === 0, (await headTip.innerText()).replace(/\n/g, ' · '));
  await page.mouse.move(0, 0);
  await heads.screenshot({ path: join(screenshots, 'panel-3-heads.png') });
  const inductionNote = heads.locator('[data-testid=induction-note]');
  for (const [typed, expectedWords] of [
    ['   ', 'empty'],
    ['abc1', '“1”'],
    ['abcdefghijklmnopqrstuvwxyz', 'At most'],
  ]) {
    await heads.locator('[data-testid=induction-letters]').fill(typed);
    check(
      `letters "${typed}": the page says what is wrong, with no stale maps`,
      (await inductionNote.textContent()).includes(expectedWords) && !(await heads.locator('[data-testid=induction-grid]').isVisible()),
      await inductionNote.textContent(),
    );
  }
  await heads.locator('[data-testid=induction-letters]').fill(letters);
  check(
    '… and the maps come back with valid letters',
    (await headMaps.count()) === numLayers * numHeads && (await inductionNote.textContent()) === '',
  );

  // ---------------------------------------------------------------- panel 4: variants
  console.log('panel 4 · variants');
  const variants = page.locator('#panel-variants');
  const snapshot = () => page.evaluate(() => window.heedDemo?.variants);
  const base = await snapshot();
  check(
    'the variants panel starts on causal softmax over the fused path',
    base?.path === 'fused' && base.config.window === 'causal',
    base?.path,
  );
  const walk = [
    { name: 'position none, no window', set: { position: 'none', window: 'none' }, path: 'fused' },
    { name: 'RoPE, causal', set: { position: 'rope', window: 'causal' }, path: 'fused if it fuses' },
    { name: 'RoPE interleaved (GPT-J), causal', set: { position: 'rope-interleaved' }, path: 'fused if it fuses' },
    { name: 'ALiBi, causal', set: { position: 'alibi' }, path: 'fused if it fuses' },
    { name: 'relative bias, causal', set: { position: 'relative' }, path: 'fused if it fuses' },
    { name: 'causal sliding window W = 3', set: { position: 'none', window: 'sliding', size: '3' }, path: 'fused' },
    { name: 'local window W = 2', set: { window: 'local', size: '2' }, path: 'fused' },
    { name: 'within each sentence (segments), causal', set: { window: 'segments' }, path: 'fused if it fuses' },
    { name: 'soft-cap c = 1 on RoPE scores, causal', set: { position: 'rope', window: 'causal', softcap: '1' }, path: 'fused if it fuses' },
    {
      name: 'softmax with sinks (sink logit 1)',
      set: { position: 'none', softcap: null, normalizer: 'sinks', sink: '1' },
      path: 'fused if it fuses',
    },
    { name: 'sparsemax', set: { normalizer: 'sparsemax' }, path: 'fused if it fuses' },
    { name: 'entmax 1.5', set: { normalizer: 'entmax15' }, path: 'fused if it fuses' },
    { name: 'α-entmax, α = 1.25', set: { normalizer: 'alpha-entmax', alpha: '1.25' }, path: 'fused if it fuses' },
    { name: 'hard attention (straight-through Gumbel-softmax)', set: { normalizer: 'gumbel' }, path: 'fused if it fuses' },
    {
      name: 'ALiBi + sliding window W = 4 + soft-cap 2 + sparsemax',
      set: { position: 'alibi', window: 'sliding', size: '4', softcap: '2', normalizer: 'sparsemax' },
      path: 'fused if it fuses',
    },
    { name: 'linear attention, causal', set: { position: 'none', window: 'causal', softcap: null, normalizer: 'linear' }, path: 'linear' },
    { name: 'linear attention, every key', set: { window: 'none' }, path: 'linear' },
  ];
  for (const { name, set, path: expectedPath } of walk) {
    if (set.position) await variants.locator('[data-testid=variants-position]').selectOption(set.position);
    if (set.window) await variants.locator('[data-testid=variants-window]').selectOption(set.window);
    if (set.size) await variants.locator('[data-testid=variants-window-size]').fill(set.size);
    if (set.softcap === null) await variants.locator('[data-testid=variants-softcap-on]').uncheck();
    if (set.softcap) {
      await variants.locator('[data-testid=variants-softcap-on]').check();
      await variants.locator('[data-testid=variants-softcap]').fill(set.softcap);
    }
    if (set.normalizer) await variants.locator('[data-testid=variants-normalizer]').selectOption(set.normalizer);
    if (set.sink) await variants.locator('[data-testid=variants-sink]').fill(set.sink);
    if (set.alpha) await variants.locator('[data-testid=variants-alpha]').fill(set.alpha);
    const shown = await snapshot();
    const expected = referenceVariantWeights(shown);
    // which path: linear is its own; the documented fused cases must fuse; for the rest the packages decide
    // (other work makes more variants fuse), and the page must take the fused path exactly when they can
    const fusedHere = shown.config.normalizer === 'linear' ? null : fusedVariantWeights(shown);
    const wanted = expectedPath === 'fused if it fuses' ? (fusedHere ? 'fused' : 'plain') : expectedPath;
    const diff = Math.max(...shown.weights.data.map((w, n) => Math.abs(w - expected[n])));
    const fusedDiff = fusedHere ? Math.max(...shown.weights.data.map((w, n) => Math.abs(w - fusedHere[n]))) : 0;
    const changed = Math.max(...shown.weights.data.map((w, n) => Math.abs(w - base.weights.data[n])));
    const rule = await variants.locator('[data-testid=variants-rule]').innerText();
    check(
      `variant ${name}: the weights match direct calls of the packages, on the ${wanted} path`,
      shown.weights.data.length === expected.length &&
        diff <= 1e-5 &&
        fusedDiff <= 1e-5 &&
        shown.path === wanted &&
        rule.length > 20 &&
        (shown.config.normalizer !== 'gumbel' || oneHotRows(shown.weights)),
      `max |Δ| ${diff.toExponential(1)} from the plain call${fusedHere ? `, ${fusedDiff.toExponential(1)} from the fused one` : ''}, ${shown.path} path, ${changed > 1e-3 ? `changed by up to ${changed.toFixed(3)}` : 'as the default'}`,
    );
  }
  const sparseStats = await variants.locator('[data-testid=variants-stats]').evaluate((el) => Number(el.dataset.zeros));
  check('linear attention over every key has no zeros', sparseStats === 0, `${sparseStats} zeros`);
  await variants.locator('[data-testid=variants-normalizer]').selectOption('sinks');
  await variants.locator('[data-testid=variants-sink]').fill('2');
  const sinkSum = await variants.locator('[data-testid=variants-stats]').evaluate((el) => Number(el.dataset.meanRowSum));
  check(
    'with a sink the rows sum to less than 1, and the page says so',
    sinkSum < 0.99 && (await variants.locator('[data-testid=variants-stats]').textContent()).includes('sink'),
    sinkSum.toFixed(3),
  );
  const variantsNote = variants.locator('[data-testid=variants-note]');
  for (const [control, value, words] of [['variants-sink', '', 'sink logit']]) {
    await variants.locator(`[data-testid=${control}]`).fill(value);
    check(
      `an empty ${control.replace('variants-', '')} box says so, with no stale maps`,
      (await variantsNote.textContent()).includes(words) && !(await variants.locator('[data-testid=variants-heatmap]').first().isVisible()),
      await variantsNote.textContent(),
    );
  }
  await variants.locator('[data-testid=variants-sink]').fill('1');
  await variants.locator('[data-testid=variants-normalizer]').selectOption('alpha-entmax');
  await variants.locator('[data-testid=variants-alpha]').fill('1');
  check('α = 1 is refused in words', (await variantsNote.textContent()).includes('α must be'), await variantsNote.textContent());
  await variants.locator('[data-testid=variants-alpha]').fill('1.5');
  await variants.locator('[data-testid=variants-window]').selectOption('sliding');
  await variants.locator('[data-testid=variants-window-size]').fill('0');
  check(
    'a sliding window of 0 keys is refused in words',
    (await variantsNote.textContent()).includes('sliding window W'),
    await variantsNote.textContent(),
  );
  await variants.locator('[data-testid=variants-window-size]').fill('3');
  await variants.locator('[data-testid=variants-sentence]').fill('');
  check('an empty sentence says so', (await variantsNote.textContent()).includes('empty'), await variantsNote.textContent());
  await variants.locator('[data-testid=variants-sentence]').fill('The cat sat on the mat . It was tired .');
  await variants.locator('[data-testid=variants-position]').selectOption('alibi');
  await variants.locator('[data-testid=variants-normalizer]').selectOption('entmax15');
  check(
    '… and the maps come back',
    (await variantsNote.textContent()) === '' && (await variants.locator('[data-testid=variants-heatmap]').count()) === 2,
  );
  await variants.screenshot({ path: join(screenshots, 'panel-4-variants.png') });

  // ---------------------------------------------------------------- the layout, wide and narrow
  console.log('layout · 1280 px, 360 px and 390 px');
  await page.mouse.move(0, 0);
  for (const width of [1280, 360, 390]) {
    await checkLayout(page, width);
    // the whole page, for a look at the layout: always to the git-ignored screenshots/, never to docs/
    mkdirSync(join(root, 'screenshots'), { recursive: true });
    await page.screenshot({ path: join(root, 'screenshots', `page-${width}.png`), fullPage: true });
  }
  // at 390 px (the layout check left it there): the panels still work, not only fit
  console.log('390 px · the panels at phone width');
  await steps.locator('[data-testid=steps-normalizer]').selectOption('sparsemax');
  const phoneSparse = await weightsNow();
  check(
    '390 px, panel 1: sparsemax still gives zeros that sum with the rest to 1',
    phoneSparse.some((w) => w === 0) && close(sum(phoneSparse), 1, 1e-5),
  );
  await steps.locator('[data-testid=steps-normalizer]').selectOption('softmax');
  await dates.locator('[data-testid=dates-input]').fill('Mar 7, 1994');
  check('390 px, panel 2: the model rewrites "Mar 7, 1994"', (await prediction()) === '1994-03-07', await prediction());
  await dates.locator('[data-testid=dates-input]').fill('25 November 2026');
  const phoneRows = await headMaps.evaluateAll((els) => new Set(els.map((el) => Math.round(el.getBoundingClientRect().top))).size);
  check(`390 px, panel 3: the ${numLayers * numHeads} maps sit two a row`, phoneRows === (numLayers * numHeads) / 2, `${phoneRows} rows`);
  const phoneMap = headMaps.nth(numHeads); // layer 2, head 1
  await phoneMap.scrollIntoViewIfNeeded();
  const pbox = await phoneMap.locator('canvas').boundingBox();
  const [px0, py0, pcell] = await phoneMap.evaluate((el) => [Number(el.dataset.x0), Number(el.dataset.y0), Number(el.dataset.cell)]);
  await page.mouse.move(pbox.x + px0 + 0.5 * pcell, pbox.y + py0 + (L - 0.5) * pcell); // last position, first position
  const phoneTip = phoneMap.locator('.heatmap-tooltip');
  await phoneTip.waitFor({ state: 'visible' });
  const tipRect = await phoneTip.boundingBox();
  check(
    '390 px, panel 3: hovering a small map shows the letters and the weight, inside the screen',
    (await phoneTip.innerText()).includes('position read') && tipRect.x >= 0 && tipRect.x + tipRect.width <= 390,
    (await phoneTip.innerText()).replace(/\n/g, ' · '),
  );
  await page.mouse.move(0, 0);
  await variants.locator('[data-testid=variants-position]').selectOption('rope');
  const phoneVariant = await snapshot();
  const phoneDiff = Math.max(...phoneVariant.weights.data.map((w, n) => Math.abs(w - referenceVariantWeights(phoneVariant)[n])));
  check('390 px, panel 4: RoPE still matches a direct call', phoneDiff <= 1e-5, `max |Δ| ${phoneDiff.toExponential(1)}`);
  await variants.locator('[data-testid=variants-position]').selectOption('alibi');
  const phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check('390 px: still no sideways overflow after using the panels', phoneOverflow <= 0, `${phoneOverflow} px`);
  await steps.screenshot({ path: join(screenshots, 'panel-1-three-steps-390.png') });
  await dates.screenshot({ path: join(screenshots, 'panel-2-dates-390.png') });
  await heads.screenshot({ path: join(screenshots, 'panel-3-heads-390.png') });
  await variants.screenshot({ path: join(screenshots, 'panel-4-variants-390.png') });
  await page.setViewportSize({ width: 1280, height: 900 });

  // ---------------------------------------------------------------- opened from disk
  const fromDisk = await context.newPage();
  await fromDisk.goto(`file://${join(root, 'dist', 'index.html')}`);
  await fromDisk.waitForTimeout(300);
  const bootMessage = fromDisk.locator('#boot-message');
  check(
    'opened from disk (file://), the page says to run `pnpm demo`',
    (await bootMessage.isVisible()) && (await bootMessage.textContent()).includes('pnpm demo'),
    (await bootMessage.textContent()).replace(/\s+/g, ' ').trim(),
  );
  await fromDisk.close();

  // ---------------------------------------------------------------- the whole page
  check('no console errors, page errors, failed or foreign requests', problems.length === 0, problems.join(' | '));
} catch (error) {
  failures.push(`the test stopped: ${error instanceof Error ? error.stack : String(error)}`);
  console.log(`  ✗ ${failures.at(-1)}`);
} finally {
  clearTimeout(deadline);
  await context.close();
  await server.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

console.log(`\ne2e: screenshots in ${screenshots}`);
// the summary line in vitest's form, so CI's count of passed and failed tests includes these checks
console.log(`      Tests  ${failures.length > 0 ? `${failures.length} failed | ` : ''}${passed} passed (${passed + failures.length})`);
if (failures.length > 0) {
  for (const f of failures) console.log(`  FAILED ${f}`);
  process.exit(1);
}
