import { Rng } from '@heed/tensor';
import { listScorers } from '@heed/scorers';
import { currentBackend, defaultBackend } from '../backend/backends';
import { FORMAT_EXAMPLES, INPUT_LENGTH, OUTPUT_LENGTH, parseDateText, randomExample } from '../dates/data';
import { DateModel } from '../dates/model';
import { DEFAULT_TRAIN_CONFIG, fromModelFile, predict, type ModelFile, type TrainConfig } from '../dates/train';
import type { FromWorker, ToWorker } from '../dates/worker-protocol';
import { charLabel, fmt, h, labelled, select } from '../ui/dom';
import { Heatmap } from '../ui/heatmap';
import { LossChart } from '../ui/loss-chart';

// Panel 2: an encoder-decoder with attention learns to rewrite dates, in a Web Worker. The page keeps
// its own copy of the model, refreshed from the worker's snapshots, to show the output and the alignment.

/** Scorers with a model trained by scripts/train-dates.mjs in public/models/. */
const PRETRAINED = ['additive', 'scaled-dot'] as const;
const DEFAULT_STEPS = 300;
const MIN_STEPS = 10;
const MAX_STEPS = 5000;

export function mountDates(root: HTMLElement): void {
  let model: DateModel | null = null;
  let modelLabel = '';
  let worker: Worker | null = null;
  let runId = 0;
  let trainingConfig: TrainConfig | null = null;
  const exampleRng = new Rng(Date.now() % 2 ** 31);

  // training controls
  const scorerSelect = select(listScorers(), DEFAULT_TRAIN_CONFIG.scorer, { data: { testid: 'dates-scorer' } });
  const stepsInput = h('input', {
    class: 'num wide',
    data: { testid: 'dates-steps' },
    attrs: { type: 'number', min: MIN_STEPS, max: MAX_STEPS, step: 10, value: DEFAULT_STEPS },
  });
  const stepsNote = h('p', { class: 'input-note bad', data: { testid: 'dates-steps-note' }, attrs: { role: 'alert' } });
  const trainButton = h('button', { class: 'primary', data: { testid: 'dates-train' }, text: 'Train in the browser' });
  const stopButton = h('button', { data: { testid: 'dates-stop' }, text: 'Stop', attrs: { disabled: true } });
  const pretrainedButtons = PRETRAINED.map((kind) => {
    const b = h('button', { data: { testid: `dates-load-${kind}` }, text: kind });
    b.addEventListener('click', () => void loadPretrained(kind));
    return b;
  });
  const progress = h('progress', { data: { testid: 'dates-progress' }, attrs: { max: 1, value: 0 } });
  const status = h('p', {
    class: 'status',
    data: { testid: 'dates-status' },
    attrs: { 'aria-live': 'polite' },
    text: 'Loading the pretrained model…',
  });
  const chart = new LossChart();
  chart.element.dataset.testid = 'dates-loss-chart';

  // try-it side
  const input = h('input', {
    class: 'text date-input',
    data: { testid: 'dates-input' },
    attrs: { type: 'text', value: FORMAT_EXAMPLES.long, maxlength: INPUT_LENGTH, spellcheck: 'false', 'aria-label': 'a date to rewrite' },
  });
  const exampleButtons = [
    ...Object.values(FORMAT_EXAMPLES).map((text) => {
      const b = h('button', { class: 'chip', text });
      b.addEventListener('click', () => setInput(text));
      return b;
    }),
    (() => {
      const b = h('button', { class: 'chip', text: 'random held-out date' });
      b.addEventListener('click', () => setInput(randomExample(exampleRng, true).input));
      return b;
    })(),
  ];
  const output = h('div', { class: 'date-output', data: { testid: 'dates-output' } });
  const modelInfo = h('p', { class: 'muted model-info', data: { testid: 'dates-model' } });
  const heatmap = new Heatmap({ cellSize: 24, data: { testid: 'dates-heatmap' } });

  root.append(
    h('h2', { id: 'panel-dates-title', text: '2 · Alignment in translation' }),
    h(
      'p',
      { class: 'lede' },
      'A small encoder–decoder learns to rewrite dates — “25 November 2026”, “11/25/26”, “Nov 25, 2026” → “2026-11-25”. ',
      'For each output character the decoder attends over the input characters with the scorer you pick. ',
      'The heatmap shows where it looked: as training goes on, each output digit lights up the input characters it comes from. ',
      'The data is generated in the page; training runs in a Web Worker, so the page stays responsive.',
    ),
    h(
      'div',
      { class: 'dates-grid' },
      h(
        'div',
        { class: 'card' },
        h('h3', { text: 'Train' }),
        h('div', { class: 'controls' }, labelled('scorer', scorerSelect), labelled('steps', stepsInput), trainButton, stopButton),
        stepsNote,
        h(
          'div',
          { class: 'controls pretrained' },
          h('span', { class: 'control-label', text: 'or load a model trained beforehand' }),
          h('span', { class: 'button-row' }, ...pretrainedButtons),
        ),
        progress,
        status,
        chart.element,
      ),
      h(
        'div',
        { class: 'card' },
        h('h3', { text: 'Try it' }),
        h('div', { class: 'controls' }, labelled('date', input)),
        h('div', { class: 'chips' }, ...exampleButtons),
        output,
        modelInfo,
        heatmap.element,
      ),
    ),
  );

  input.addEventListener('input', () => showPrediction());
  stepsInput.addEventListener('input', () => {
    const problem = stepsProblem();
    stepsNote.textContent = problem ?? '';
    stepsInput.classList.toggle('invalid', problem !== null);
    stepsInput.toggleAttribute('aria-invalid', problem !== null);
  });
  trainButton.addEventListener('click', () => startTraining());
  stopButton.addEventListener('click', () => {
    worker?.postMessage({ type: 'stop' } satisfies ToWorker);
    stopButton.disabled = true;
  });

  function setInput(text: string): void {
    input.value = text;
    showPrediction();
  }

  function setState(state: 'loading' | 'ready' | 'training' | 'done' | 'error'): void {
    root.dataset.state = state;
  }

  async function loadPretrained(kind: string): Promise<void> {
    stopTraining();
    setState('loading');
    status.textContent = `Loading the pretrained ${kind} model…`;
    try {
      const response = await fetch(new URL(`models/dates-${kind}.json`, document.baseURI));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const file = (await response.json()) as ModelFile;
      model = fromModelFile(file);
      modelLabel = `pretrained ${kind} model (${file.steps} steps${file.heldOut ? `, ${fmt(file.heldOut.exact * 100, 1)}% exact on held-out dates` : ''})`;
      status.textContent = `Loaded the ${modelLabel}. Train your own above.`;
      progress.value = 0;
      scorerSelect.value = kind;
      setState('ready');
      showPrediction();
    } catch (error) {
      status.textContent = `Could not load the pretrained model: ${error instanceof Error ? error.message : String(error)}`;
      setState('error');
    }
  }

  function stopTraining(): void {
    if (trainingConfig) worker?.postMessage({ type: 'stop' } satisfies ToWorker);
    trainingConfig = null;
    runId++;
    trainButton.disabled = false;
    stopButton.disabled = true;
  }

  function startTraining(): void {
    // steps out of range or unreadable are refused, in words, never clamped or replaced in silence
    const problem = stepsProblem();
    stepsNote.textContent = problem === null ? '' : `${problem} Nothing was started.`;
    if (problem !== null) return;
    const steps = stepsInput.valueAsNumber;
    trainingConfig = { ...DEFAULT_TRAIN_CONFIG, scorer: scorerSelect.value };
    model = new DateModel(trainingConfig); // the same seed as the worker's: the page starts from the same untrained weights
    modelLabel = `${trainingConfig.scorer} model training in the browser (step 0)`;
    worker ??= createWorker();
    runId++;
    chart.reset(steps);
    progress.max = steps;
    progress.value = 0;
    trainButton.disabled = true;
    stopButton.disabled = false;
    setState('training');
    status.textContent = `Training a ${trainingConfig.scorer} model for ${steps} steps…`;
    const backend = (currentBackend() ?? defaultBackend()).id; // the worker trains on the page's kernels
    worker.postMessage({
      type: 'start',
      runId,
      config: trainingConfig,
      steps,
      reportEvery: 10,
      evaluateEvery: 25,
      backend,
    } satisfies ToWorker);
    showPrediction();
  }

  /** Why the steps input cannot be used, or null when it holds a whole number in range. */
  function stepsProblem(): string | null {
    const steps = stepsInput.valueAsNumber;
    if (stepsInput.value.trim() === '' || !Number.isFinite(steps)) return 'Steps is empty or not a number: type a whole number of steps.';
    if (!Number.isInteger(steps)) return `Steps must be a whole number, not ${stepsInput.value}.`;
    if (steps < MIN_STEPS || steps > MAX_STEPS)
      return `Steps must be from ${MIN_STEPS} to ${MAX_STEPS}; ${steps} is ${steps > MAX_STEPS ? 'above the maximum' : 'below the minimum'} (training in a browser tab: ${MAX_STEPS} steps take a few minutes).`;
    return null;
  }

  function createWorker(): Worker {
    const w = new Worker(new URL('../dates/train-worker.ts', import.meta.url), { type: 'module' });
    let lastAccuracy = '';
    let finalLoss = Number.NaN; // the loss of the last step reported
    w.addEventListener('message', (event: MessageEvent<FromWorker>) => {
      const m = event.data;
      if (m.runId !== runId) return; // a run that was stopped or replaced
      if (m.type === 'progress') {
        progress.value = m.step;
        finalLoss = m.loss;
        chart.addLoss(m.step, m.loss);
        status.textContent = `step ${m.step} / ${m.steps} · loss ${fmt(m.loss, 4)}${lastAccuracy} · ${fmt(m.seconds, 1)} s`;
        if (m.state && model) {
          model.loadStateDict(m.state);
          modelLabel = `${model.config.scorer} model training in the browser (step ${m.step})`;
          showPrediction();
        }
      } else if (m.type === 'accuracy') {
        chart.addAccuracy(m.step, m.exact);
        root.dataset.heldOutExact = String(m.exact); // the e2e compares runs on two backends with these
        root.dataset.heldOutCharacters = String(m.characters);
        lastAccuracy = ` · held-out accuracy ${fmt(m.exact * 100, 0)}% exact, ${fmt(m.characters * 100, 1)}% of characters`;
      } else if (m.type === 'done') {
        model?.loadStateDict(m.state);
        modelLabel = `${model?.config.scorer ?? ''} model trained in the browser (${m.step} steps, ${fmt(m.seconds, 1)} s)`;
        status.textContent = `${m.stopped ? 'Stopped' : 'Done'} after ${m.step} steps in ${fmt(m.seconds, 1)} s (${fmt(m.stepMs, 1)} ms per step on ${m.kernels})${lastAccuracy}.`;
        root.dataset.stepMs = String(m.stepMs);
        root.dataset.finalLoss = String(finalLoss);
        lastAccuracy = '';
        trainingConfig = null;
        trainButton.disabled = false;
        stopButton.disabled = true;
        setState('done');
        showPrediction();
      } else {
        status.textContent = `Training failed: ${m.message}`;
        trainingConfig = null;
        trainButton.disabled = false;
        stopButton.disabled = true;
        setState('error');
      }
    });
    w.addEventListener('error', (event) => {
      status.textContent = `The training worker failed: ${event.message}`;
      setState('error');
    });
    return w;
  }

  function showPrediction(): void {
    const text = input.value.slice(0, INPUT_LENGTH);
    modelInfo.textContent = model ? `Model: ${modelLabel}.` : '';
    heatmap.element.hidden = !model || text.length === 0;
    if (!model || text.length === 0) {
      output.replaceChildren(
        h('span', {
          class: 'muted',
          data: { testid: 'dates-empty' },
          text: model ? 'The date box is empty: type a date, or pick one of the examples above.' : '',
        }),
      );
      return;
    }
    const { outputs, weights } = predict(model, [text]); // weights [1, T, L]
    const predicted = outputs[0]!;
    const expected = parseDateText(text);
    output.replaceChildren(
      h('span', { class: 'muted', text: 'model output ' }),
      h('strong', { class: 'mono', data: { testid: 'dates-prediction' }, text: predicted }),
      expected === null
        ? h('span', { class: 'muted', text: ' (not one of the three formats, or not a real date: the model still answers)' })
        : predicted === expected
          ? h('span', { class: 'ok', text: ' ✓ correct' })
          : h('span', { class: 'bad', text: ` ✗ expected ${expected}` }),
    );
    const L = INPUT_LENGTH;
    const cols = [...text].length;
    const values = new Float32Array(OUTPUT_LENGTH * cols);
    for (let t = 0; t < OUTPUT_LENGTH; t++) for (let j = 0; j < cols; j++) values[t * cols + j] = weights.data[t * L + j]!;
    heatmap.update({
      rowLabels: [...predicted].map(charLabel),
      colLabels: [...text].map(charLabel),
      values,
      rowTitle: 'output character',
      colTitle: 'input character',
      caption: `Attention weights of “${predicted}” over “${text}”`,
    });
  }

  void loadPretrained('additive');
}
