import { isHeedError, noGrad, type Tensor } from '@heed/tensor';
import { attend, linearAttentionWeights } from '@heed/soft-attention';
import { tokenize } from '../heads/sentence';
import { fmt, h, labelled, select } from '../ui/dom';
import { Heatmap } from '../ui/heatmap';
import {
  DEFAULT_VARIANT,
  NORMALIZER_LABELS,
  NORMALIZERS,
  POSITION_LABELS,
  POSITIONS,
  type VariantConfig,
  variantParts,
  variantProblem,
  variantRule,
  WINDOW_LABELS,
  WINDOWS,
} from '../variants/variant-config';
import { VARIANT_HEADS, variantInput } from '../variants/variant-input';

// Panel 4: one input, every attention variant heed has: a position scheme, a window, a soft-cap, a
// normalizer (sinks, sparsemax, entmax, α-entmax) or linear attention; the weights of both heads, the rule
// written out, and which path computed them. Shape letters: L tokens, H heads.

const DEFAULT_SENTENCE = 'The cat sat on the mat because it was tired .';
const MAX_TOKENS = 12;

/** What the page last showed, for the end-to-end test to recompute with its own attend() call. */
export interface VariantsSnapshot {
  config: VariantConfig;
  tokens: string[];
  query: { shape: number[]; data: number[] };
  keys: { shape: number[]; data: number[] };
  values: { shape: number[]; data: number[] };
  weights: { shape: number[]; data: number[] };
  path: 'fused' | 'plain' | 'linear';
}

declare global {
  interface Window {
    /** The demo's test hook: the end-to-end test reads what each panel computed. */
    heedDemo?: { variants?: VariantsSnapshot };
  }
}

export function mountVariants(root: HTMLElement): void {
  const sentence = h('input', {
    class: 'text sentence',
    data: { testid: 'variants-sentence' },
    attrs: { type: 'text', value: DEFAULT_SENTENCE, spellcheck: 'false', 'aria-label': 'sentence' },
  });
  const position = select(POSITIONS, DEFAULT_VARIANT.position, { data: { testid: 'variants-position' } }, POSITION_LABELS);
  const windowKind = select(WINDOWS, DEFAULT_VARIANT.window, { data: { testid: 'variants-window' } }, WINDOW_LABELS);
  const windowSize = numberInput('variants-window-size', DEFAULT_VARIANT.windowSize, { min: 0, step: 1 });
  const softcapOn = h('input', { data: { testid: 'variants-softcap-on' }, attrs: { type: 'checkbox' } });
  const softcap = numberInput('variants-softcap', 1, { min: 0.1, step: 0.5 });
  const normalizer = select(NORMALIZERS, DEFAULT_VARIANT.normalizer, { data: { testid: 'variants-normalizer' } }, NORMALIZER_LABELS);
  const alpha = numberInput('variants-alpha', DEFAULT_VARIANT.alpha, { min: 1.05, max: 10, step: 0.25 });
  const sink = numberInput('variants-sink', DEFAULT_VARIANT.sink, { step: 0.5 });
  const windowSizeControl = labelled('W', windowSize);
  const softcapControl = labelled('cap c', softcap);
  const alphaControl = labelled('α', alpha);
  const sinkControl = labelled('sink logit', sink);
  const positionControl = labelled('position', position);
  const softcapCheck = h('label', { class: 'control checkbox' }, softcapOn, h('span', { class: 'control-label', text: 'soft-cap' }));

  const note = h('p', { class: 'input-note bad', data: { testid: 'variants-note' }, attrs: { 'aria-live': 'polite' } });
  const rule = h('ol', { class: 'rule-lines', data: { testid: 'variants-rule' } });
  const path = h('p', { class: 'muted', data: { testid: 'variants-path' } });
  const stats = h('p', { class: 'variants-stats', data: { testid: 'variants-stats' } });
  const maps = Array.from(
    { length: VARIANT_HEADS },
    (_, head) => new Heatmap({ cellSize: 18, data: { testid: 'variants-heatmap', head } }),
  );
  const mapRow = h('div', { class: 'variants-maps' }, ...maps.map((m) => m.element));
  const output = h('div', { class: 'variants-output' }, rule, path, stats, mapRow);

  root.append(
    h('h2', { id: 'panel-variants-title', text: '4 · Variants: one input, every kind of attention' }),
    h(
      'p',
      { class: 'lede' },
      'The attention of recent models changes the three steps in small ways: where positions enter the scores (RoPE, ALiBi, a relative bias), ',
      'which keys a query may see (causal, a sliding or local window), a soft-cap on the scores, and what turns scores into weights ',
      '(softmax with attention sinks, sparsemax, entmax) — or no softmax at all (linear attention). Pick any mix: the two heads below are ',
      'recomputed on the same queries and keys, and the rule is written out.',
    ),
    h(
      'div',
      { class: 'controls' },
      labelled('sentence (up to 12 tokens)', sentence, { class: 'grow' }),
      positionControl,
      labelled('window', windowKind),
      windowSizeControl,
      softcapCheck,
      softcapControl,
      labelled('normalizer', normalizer),
      alphaControl,
      sinkControl,
    ),
    note,
    output,
  );

  for (const el of [sentence, windowSize, softcap, alpha, sink]) el.addEventListener('input', render);
  for (const el of [position, windowKind, softcapOn, normalizer]) el.addEventListener('change', render);

  function render(): void {
    const config: VariantConfig = {
      position: position.value as VariantConfig['position'],
      window: windowKind.value as VariantConfig['window'],
      windowSize: windowSize.valueAsNumber,
      softcap: softcapOn.checked ? softcap.valueAsNumber : null,
      normalizer: normalizer.value as VariantConfig['normalizer'],
      alpha: alpha.valueAsNumber,
      sink: sink.valueAsNumber,
    };
    const linear = config.normalizer === 'linear';
    // only the controls that mean something for this choice are shown
    windowSizeControl.hidden = config.window !== 'sliding' && config.window !== 'local';
    softcapControl.hidden = !softcapOn.checked || linear;
    softcapCheck.hidden = linear;
    positionControl.hidden = linear;
    alphaControl.hidden = config.normalizer !== 'alpha-entmax';
    sinkControl.hidden = config.normalizer !== 'sinks';
    if (linear) config.position = 'none';
    if (linear) config.softcap = null;

    const tokens = tokenize(sentence.value, MAX_TOKENS);
    const problem = tokens.length === 0 ? 'The sentence is empty: type a few words to see their attention.' : variantProblem(config);
    note.textContent = problem ?? '';
    output.hidden = problem !== null;
    for (const [el, bad] of [
      [windowSize, problem?.includes(' W ') ?? false],
      [softcap, problem?.includes('soft-cap') ?? false],
      [alpha, problem?.startsWith('α') ?? false],
      [sink, problem?.includes('sink') ?? false],
    ] as const) {
      el.classList.toggle('invalid', bad);
      el.toggleAttribute('aria-invalid', bad);
    }
    if (problem !== null) return;

    const { query, keys, values } = variantInput(tokens); // [1, H, L, d] each
    let weights: Tensor; // [1, H, L, L]
    let usedPath: VariantsSnapshot['path'];
    if (linear) {
      weights = noGrad(() => linearAttentionWeights(query, keys, { causal: config.window === 'causal' }));
      usedPath = 'linear';
      path.textContent =
        'Linear attention has no softmax: heed computes its output in O(L) memory, and these are the weights that output implies (linearAttentionWeights).';
    } else {
      const { scorer, normalizer: norm, causal, keepRule } = variantParts(config, VARIANT_HEADS);
      const call = { query, keys, values, scorer, normalizer: norm, causal, keepRule, needWeights: true } as const;
      try {
        // the fused path where this configuration fuses: one tiled pass, its weights on request (needWeights)
        weights = noGrad(() => attend({ ...call, implementation: 'fused' }).weights);
        usedPath = 'fused';
        path.textContent =
          'Computed by the fused path: one tiled pass with an online softmax; the weights come on request (needWeights: true) from the same pass.';
      } catch (error) {
        if (!isHeedError(error)) throw error;
        weights = noGrad(() => attend({ ...call, implementation: 'plain' }).weights);
        usedPath = 'plain';
        const why = error.message.replace(/^.*cannot run this configuration: /, '').replace(/\. Use implementation.*$/, '');
        path.textContent = `Computed by the plain path (the three steps, one line each); the fused path does not run this configuration: ${why}.`;
      }
    }
    rule.replaceChildren(...variantRule(config).map((line) => h('li', { text: line })));

    const L = tokens.length;
    const rowSums: number[] = [];
    let zeros = 0;
    for (let r = 0; r < VARIANT_HEADS * L; r++) {
      let s = 0;
      for (let j = 0; j < L; j++) {
        const w = weights.data[r * L + j]!;
        s += w;
        if (w === 0) zeros++;
      }
      rowSums.push(s);
    }
    const meanSum = rowSums.reduce((a, b) => a + b, 0) / rowSums.length;
    stats.textContent = `${L} tokens · ${zeros} of ${VARIANT_HEADS * L * L} weights exactly 0 · rows sum to ${fmt(meanSum, 3)} on average${config.normalizer === 'sinks' ? ' (the sink takes the rest)' : ''}`;
    stats.dataset.zeros = String(zeros);
    stats.dataset.meanRowSum = String(meanSum);
    maps.forEach((map, head) => {
      map.update({
        rowLabels: tokens,
        colLabels: tokens,
        values: weights.data.subarray(head * L * L, (head + 1) * L * L),
        rowTitle: 'query',
        colTitle: 'key',
        caption: `head ${head + 1}`,
      });
    });
    root.dataset.path = usedPath;
    const plain = (t: Tensor) => ({ shape: [...t.shape], data: Array.from(t.data) });
    window.heedDemo = {
      ...window.heedDemo,
      variants: {
        config,
        tokens,
        query: plain(query),
        keys: plain(keys),
        values: plain(values),
        weights: plain(weights),
        path: usedPath,
      },
    };
  }

  render();
}

function numberInput(testid: string, value: number, range: { min?: number; max?: number; step: number }): HTMLInputElement {
  return h('input', { class: 'num', data: { testid }, attrs: { type: 'number', value, ...range } });
}
