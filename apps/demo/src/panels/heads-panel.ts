import { noGrad, Rng, type Tensor } from '@heed/tensor';
import { MultiHeadAttention } from '@heed/multi-head';
import { embedTokens, tokenize } from '../heads/sentence';
import { h, labelled, select } from '../ui/dom';
import { Heatmap, type HeatmapOptions } from '../ui/heatmap';

// Panel 3: the self-attention weights of one multi-head layer over a sentence, per head and averaged,
// with softmax and sparsemax side by side (the same projections, only step two differs).
// Shape letters: L tokens, E embedding size, H heads.

const EMBED_DIM = 32;
const NORMALIZERS = ['softmax', 'sparsemax'] as const;
const DEFAULT_SENTENCE = 'The cat sat on the mat because it was tired .';

export function mountHeads(root: HTMLElement): void {
  const sentence = h('input', {
    class: 'text sentence',
    data: { testid: 'heads-sentence' },
    attrs: { type: 'text', value: DEFAULT_SENTENCE, spellcheck: 'false', 'aria-label': 'sentence' },
  });
  const headsSelect = select(['1', '2', '4', '8'], '4', { data: { testid: 'heads-count' } });
  const causal = h('input', { data: { testid: 'heads-causal' }, attrs: { type: 'checkbox' } });
  const seed = h('input', { class: 'num', data: { testid: 'heads-seed' }, attrs: { type: 'number', min: 0, step: 1, value: 1 } });
  const columns = NORMALIZERS.map((kind) => h('div', { class: 'heads-column', data: { normalizer: kind } }));
  const grid = h('div', { class: 'heads-grid' }, ...columns);
  const note = h('p', { class: 'muted', data: { testid: 'heads-note' }, attrs: { 'aria-live': 'polite' } });

  root.append(
    h('h2', { id: 'panel-heads-title', text: '3 · Self-attention and heads' }),
    h(
      'p',
      { class: 'lede' },
      'In self-attention every token is a query, a key and a value at once. A multi-head layer projects the tokens ',
      `${EMBED_DIM}-dimensional vectors into H smaller subspaces and attends in each separately: every head has its own pattern. `,
      'Here the layer is untrained (its weights come from the seed), so the patterns show the mechanics, not meaning. ',
      'Turn on causal masking to let each token see only itself and the tokens before it, and compare softmax, which gives every token some weight, with sparsemax, which gives many exactly zero.',
    ),
    h(
      'div',
      { class: 'controls' },
      labelled('sentence', sentence, { class: 'grow' }),
      labelled('heads', headsSelect),
      labelled('weights seed', seed),
      h('label', { class: 'control checkbox' }, causal, h('span', { class: 'control-label', text: 'causal' })),
    ),
    note,
    grid,
  );

  for (const el of [sentence, seed]) el.addEventListener('input', render);
  for (const el of [headsSelect, causal]) el.addEventListener('change', render);

  function render(): void {
    const tokens = tokenize(sentence.value);
    const numHeads = Number(headsSelect.value);
    const seedOk = Number.isInteger(seed.valueAsNumber) && seed.valueAsNumber >= 0;
    seed.classList.toggle('invalid', !seedOk);
    seed.toggleAttribute('aria-invalid', !seedOk);
    // nothing to show is said in words, with no empty boxes left below
    const problem =
      tokens.length === 0
        ? 'The sentence is empty: type a few words to see their attention.'
        : !seedOk
          ? `The weights seed must be a whole number from 0 up${seed.value === '' ? '; it is empty' : ''}.`
          : null;
    note.classList.toggle('bad', problem !== null);
    note.classList.toggle('muted', problem === null);
    grid.hidden = problem !== null;
    if (problem !== null) {
      note.textContent = problem;
      columns.forEach((c) => c.replaceChildren());
      return;
    }
    const layerSeed = seed.valueAsNumber;
    note.textContent = `${tokens.length} tokens${tokens.length === 16 ? ' (the first 16)' : ''} · ${numHeads} head${numHeads > 1 ? 's' : ''} of size ${EMBED_DIM / numHeads} · scaled-dot scores${causal.checked ? ' · causal mask' : ''}`;
    const x = embedTokens(tokens, EMBED_DIM); // [1, L, E]
    const softmaxLayer = new MultiHeadAttention({
      embedDim: EMBED_DIM,
      numHeads,
      scorer: { kind: 'scaled-dot' },
      normalizer: { kind: 'softmax' },
      rng: new Rng(layerSeed),
    });
    const sparsemaxLayer = new MultiHeadAttention({
      embedDim: EMBED_DIM,
      numHeads,
      scorer: { kind: 'scaled-dot' },
      normalizer: { kind: 'sparsemax' },
      rng: new Rng(layerSeed),
    });
    sparsemaxLayer.loadStateDict(softmaxLayer.stateDict()); // the same projections: only the normalizer differs
    const layers = [softmaxLayer, sparsemaxLayer];
    const cell = tokens.length > 12 ? 15 : 18;
    const headCell = tokens.length > 12 ? 11 : 13; // the per-head maps are small, in a grid, sharing the first map's scale and titles
    NORMALIZERS.forEach((kind, c) => {
      const layer = layers[c]!;
      const { perHead, averaged } = noGrad(() => {
        const options = { causal: causal.checked, needWeights: true };
        const perHead = layer.forward(x, x, x, { ...options, averageHeadWeights: false }).weights!; // [1, H, L, L]
        const averaged = layer.forward(x, x, x, { ...options, averageHeadWeights: true }).weights!; // [1, L, L]
        return { perHead, averaged };
      });
      const maps: HTMLElement[] = [];
      if (numHeads === 1) {
        // one head is its own average: one map, with the full axes and colour scale
        maps.push(heatmapOf(perHead, 0, tokens, 'head 1 (the only head)', { cellSize: cell }, { normalizer: kind, head: 0 }));
      } else {
        maps.push(
          heatmapOf(
            averaged,
            0,
            tokens,
            `average of the ${numHeads} heads`,
            { cellSize: cell, className: 'average' },
            { normalizer: kind, head: 'average' },
          ),
        );
        for (let head = 0; head < numHeads; head++) {
          maps.push(
            heatmapOf(
              perHead,
              head,
              tokens,
              `head ${head + 1}`,
              { cellSize: headCell, legend: false, axisTitles: false },
              { normalizer: kind, head },
            ),
          );
        }
      }
      columns[c]!.replaceChildren(h('h3', { text: kind }), h('div', { class: 'heads-maps' }, ...maps));
    });
  }

  render();
}

/** Heatmap of weights[0, head] ([1, H, L, L]) or weights[0] ([1, L, L]). */
function heatmapOf(
  weights: Tensor,
  head: number,
  tokens: readonly string[],
  caption: string,
  options: HeatmapOptions,
  data: Record<string, string | number>,
): HTMLElement {
  const L = tokens.length;
  const values = weights.data.subarray(head * L * L, (head + 1) * L * L);
  const map = new Heatmap({ ...options, data: { testid: 'heads-heatmap', ...data } });
  map.update({ rowLabels: tokens, colLabels: tokens, values, rowTitle: 'query token', colTitle: 'key token', caption });
  return map.element;
}
