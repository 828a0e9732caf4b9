import { noGrad, tensor } from '@heed/tensor';
import { listScorers, type Scorer } from '@heed/scorers';
import { attend, createNormalizer, listNormalizers } from '@heed/soft-attention';
import { BOOKS, KEY_FEATURES, MARVEL_QUERY, VALUE_FEATURES } from '../steps/library';
import { createLibraryScorer, FALLBACK_SEED, HAND_SET_WEIGHTS, WEIGHTS_NOTES } from '../steps/library-scorer';
import { fmt, h, labelled, select } from '../ui/dom';

// Panel 1: the library analogy. A query ("Marvel") is compared with each book's key (step 1, score),
// the scores become weights that sum to one (step 2, normalize), and what you take home is the
// weighted sum of the books' values (step 3). Shapes: N books, d = 3 key features, 2 value features.

const SCORER_FORMULAS: Record<string, string> = {
  dot: 'score(q, k) = qᵀk  (Luong)',
  'scaled-dot': 'score(q, k) = qᵀk / √d, d = 3  (Vaswani)',
  general: 'score(q, k) = qᵀ W k, W a learned 3×3 matrix  (Luong)',
  concat: 'score(q, k) = vᵀ tanh(W [q; k])  (Luong)',
  additive: 'score(q, k) = vᵀ tanh(W₁q + W₂k + b)  (Bahdanau)',
  cosine: 'score(q, k) = q·k / (‖q‖ ‖k‖)',
};

const NORMALIZER_FORMULAS: Record<string, string> = {
  softmax: 'wᵢ = exp(sᵢ/T) / Σⱼ exp(sⱼ/T): every book gets some weight',
  sparsemax: 'w = the point of the simplex closest to s/T: low scores get exactly 0  (Martins & Astudillo)',
  entmax15: 'w = 1.5-entmax(s/T): between softmax and sparsemax, sparse but smoother  (Peters et al.)',
};

const NORMALIZER_LABELS: Record<string, string> = { entmax15: 'entmax-1.5' };

export function mountThreeSteps(root: HTMLElement): void {
  const state = {
    queryName: 'Marvel',
    query: [...MARVEL_QUERY],
    books: BOOKS.map((b) => ({ ...b, key: [...b.key], value: [...b.value] })),
    scorerKind: 'dot',
    normalizerKind: 'softmax',
    temperature: 1,
    focus: 0,
  };
  let scorer: Scorer = makeScorer(state.scorerKind);

  // controls
  const scorerSelect = select(listScorers(), state.scorerKind, { data: { testid: 'steps-scorer' } });
  const normalizerSelect = select(listNormalizers(), state.normalizerKind, { data: { testid: 'steps-normalizer' } }, NORMALIZER_LABELS);
  const temperature = h('input', {
    data: { testid: 'steps-temperature' },
    attrs: { type: 'range', min: 0.1, max: 3, step: 0.05, value: 1 },
  });
  const temperatureValue = h('output', { class: 'slider-value', text: 'T = 1.00' });
  const controls = h(
    'div',
    { class: 'controls' },
    labelled('scorer', scorerSelect),
    labelled('normalizer', normalizerSelect),
    labelled('temperature', h('span', { class: 'slider' }, temperature, temperatureValue)),
  );

  // the query
  const numberInput = (value: number, onInput: (v: number) => void, label: string): HTMLInputElement => {
    const input = h('input', { class: 'num', attrs: { type: 'number', step: 0.1, value, 'aria-label': label } });
    let last = value;
    input.addEventListener('input', () => {
      const v = input.valueAsNumber;
      const ok = Number.isFinite(v);
      input.classList.toggle('invalid', !ok);
      input.toggleAttribute('aria-invalid', !ok);
      // an empty or unreadable number is said so in the page, with the number still in use
      if (ok) {
        last = v;
        invalid.delete(label);
        onInput(v);
      } else {
        invalid.set(label, last);
      }
      render();
    });
    return input;
  };
  /** Number inputs now empty or unreadable, by label, with the last number they held (still used). */
  const invalid = new Map<string, number>();
  const invalidNote = h('p', { class: 'input-note bad', data: { testid: 'steps-invalid' }, attrs: { role: 'alert' } });
  const textInput = (value: string, onInput: (v: string) => void, label: string, className = 'text'): HTMLInputElement => {
    const input = h('input', { class: className, attrs: { type: 'text', value, 'aria-label': label } });
    input.addEventListener('input', () => {
      onInput(input.value);
      render();
    });
    return input;
  };
  const queryRow = h(
    'div',
    { class: 'query-row' },
    h('span', { class: 'step-badge', text: 'query' }),
    textInput(state.queryName, (v) => (state.queryName = v), 'query name', 'text query-name'),
    h('span', { class: 'muted', text: ' = [' }),
    ...KEY_FEATURES.map((f, i) =>
      h(
        'label',
        { class: 'vec-entry' },
        h('span', { class: 'feature', text: f }),
        numberInput(state.query[i]!, (v) => (state.query[i] = v), `query ${f}`),
      ),
    ),
    h('span', { class: 'muted', text: ']' }),
  );

  // the books table
  const scoreCells: HTMLElement[] = [];
  const weightCells: HTMLElement[] = [];
  const contributionCells: HTMLElement[] = [];
  const rows: HTMLTableRowElement[] = [];
  const tbody = h('tbody');
  state.books.forEach((book, n) => {
    const score = h('td', { class: 'num-cell', data: { testid: 'score' } });
    const weight = h('td', { class: 'weight-cell', data: { testid: 'weight' } });
    const contribution = h('td', { class: 'num-cell', data: { testid: 'contribution' } });
    scoreCells.push(score);
    weightCells.push(weight);
    contributionCells.push(contribution);
    const row = h(
      'tr',
      { title: 'click to see this book worked out below' },
      h(
        'td',
        {},
        textInput(book.title, (v) => (book.title = v), `book ${n + 1} title`, 'text book-title'),
      ),
      ...book.key.map((x, i) =>
        h(
          'td',
          { class: 'key-cell' },
          numberInput(x, (v) => (book.key[i] = v), `${book.title} key ${KEY_FEATURES[i]}`),
        ),
      ),
      ...book.value.map((x, i) =>
        h(
          'td',
          { class: 'value-cell' },
          numberInput(x, (v) => (book.value[i] = v), `${book.title} value ${VALUE_FEATURES[i]}`),
        ),
      ),
      score,
      weight,
      contribution,
    );
    row.addEventListener('click', () => {
      state.focus = n;
      render();
    });
    rows.push(row);
    tbody.appendChild(row);
  });
  const weightSum = h('td', { class: 'weight-cell', data: { testid: 'weight-sum' } });
  const contextCell = h('td', { class: 'num-cell', data: { testid: 'context' } });
  const table = h(
    'table',
    { class: 'books' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { attrs: { rowspan: 2 }, text: 'book' }),
        h('th', { attrs: { colspan: 3 }, class: 'group', text: 'key (what the book is about)' }),
        h('th', { attrs: { colspan: 2 }, class: 'group', text: 'value (what you get from it)' }),
        h('th', { attrs: { rowspan: 2 } }, h('span', { class: 'step-badge', text: '1' }), ' score'),
        h('th', { attrs: { rowspan: 2 } }, h('span', { class: 'step-badge', text: '2' }), ' weight'),
        h('th', { attrs: { rowspan: 2 } }, h('span', { class: 'step-badge', text: '3' }), ' weight × value'),
      ),
      h(
        'tr',
        {},
        ...KEY_FEATURES.map((f) => h('th', { class: 'feature', text: f })),
        ...VALUE_FEATURES.map((f) => h('th', { class: 'feature', text: f })),
      ),
    ),
    tbody,
    h('tfoot', {}, h('tr', {}, h('th', { attrs: { colspan: 6 }, text: 'sum over the books' }), h('td'), weightSum, contextCell)),
  );

  const worked = h('div', { class: 'worked' });
  root.append(
    h('h2', { id: 'panel-steps-title', text: '1 · The three steps' }),
    h(
      'p',
      { class: 'lede' },
      'You walk into a library and ask for “Marvel”. Each book has a ',
      h('em', { text: 'key' }),
      ' (what it is about) and a ',
      h('em', { text: 'value' }),
      ' (what you take home from it). Attention scores your query against every key, turns the scores into weights that sum to one, and hands you the weighted sum of the values. Edit any number; pick a scorer and a normalizer from the registries. ',
      'In a model, the weights of the general, additive and concat scorers are learned; here they are set by hand, each to one idea written out in step 1 below, so that every scorer puts the superhero books first.',
    ),
    controls,
    queryRow,
    invalidNote,
    h('div', { class: 'table-wrap' }, table),
    worked,
  );

  scorerSelect.addEventListener('change', () => {
    state.scorerKind = scorerSelect.value;
    scorer = makeScorer(state.scorerKind);
    render();
  });
  normalizerSelect.addEventListener('change', () => {
    state.normalizerKind = normalizerSelect.value;
    render();
  });
  temperature.addEventListener('input', () => {
    state.temperature = temperature.valueAsNumber;
    render();
  });

  function render(): void {
    const N = state.books.length;
    const { scores, weights, context } = noGrad(() => {
      const query = tensor(state.query, [1, 1, 3]); // [B=1, Lq=1, d]
      const keys = tensor(
        state.books.flatMap((b) => b.key),
        [1, N, 3],
      ); // [1, N, d]
      const values = tensor(
        state.books.flatMap((b) => b.value),
        [1, N, 2],
      ); // [1, N, 2]
      const normalizer = createNormalizer({ kind: state.normalizerKind, temperature: state.temperature });
      const result = attend({ query, keys, values, scorer, normalizer }); // context [1, 1, 2], weights [1, 1, N]
      return { scores: scorer.score(query, keys).data, weights: result.weights.data, context: result.context.data }; // scores [1, 1, N]
    });
    temperatureValue.textContent = `T = ${state.temperature.toFixed(2)}`;
    invalidNote.textContent = [...invalid]
      .map(
        ([label, last]) =>
          `“${label}” is empty or not a number: the results below still use its last number, ${fmt(last, 2)}. Type a number.`,
      )
      .join(' ');
    const maxWeight = Math.max(...weights);
    let total = 0;
    for (let n = 0; n < N; n++) {
      const w = weights[n]!;
      total += w;
      scoreCells[n]!.textContent = fmt(scores[n]!);
      scoreCells[n]!.dataset.value = String(scores[n]);
      weightCells[n]!.replaceChildren(weightBar(w), h('span', { text: fmt(w) }));
      weightCells[n]!.dataset.value = String(w);
      weightCells[n]!.classList.toggle('zero', w === 0);
      weightCells[n]!.classList.toggle('best', w === maxWeight);
      const book = state.books[n]!;
      contributionCells[n]!.textContent = `[${book.value.map((v) => fmt(w * v)).join(', ')}]`;
      rows[n]!.classList.toggle('focus', n === state.focus);
    }
    weightSum.replaceChildren(h('span', { text: `Σ = ${fmt(total)}` }));
    weightSum.dataset.value = String(total);
    contextCell.replaceChildren(h('strong', { text: `[${Array.from(context, (c) => fmt(c)).join(', ')}]` }));
    contextCell.dataset.value = Array.from(context).join(',');
    renderWorked(Array.from(scores), Array.from(weights), Array.from(context));
  }

  function renderWorked(scores: number[], weights: number[], context: number[]): void {
    const n = state.focus;
    const book = state.books[n]!;
    const q = state.query;
    const k = book.key;
    const T = state.temperature;
    const dot = q.reduce((s, x, i) => s + x * k[i]!, 0);
    const products = q.map((x, i) => `${fmt(x, 2)}×${fmt(k[i]!, 2)}`).join(' + ');
    let arithmetic: string;
    switch (state.scorerKind) {
      case 'dot':
        arithmetic = `${products} = ${fmt(scores[n]!)}`;
        break;
      case 'scaled-dot':
        arithmetic = `(${products}) / √3 = ${fmt(dot)} / ${fmt(Math.sqrt(3))} = ${fmt(scores[n]!)}`;
        break;
      case 'cosine': {
        const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
        arithmetic = `(${products}) / (${fmt(norm(q))} × ${fmt(norm(k))}) = ${fmt(scores[n]!)}`;
        break;
      }
      default:
        arithmetic = HAND_SET_WEIGHTS[state.scorerKind]
          ? `${fmt(scores[n]!)}  (weights ${WEIGHTS_NOTES[state.scorerKind] ?? 'set by hand'} In a model they are learned.)`
          : `${fmt(scores[n]!)}  (its parameters are drawn from seed ${FALLBACK_SEED}; in a model they are learned)`;
    }
    let normalize: string;
    if (state.normalizerKind === 'softmax') {
      const m = Math.max(...scores);
      const exps = scores.map((s) => Math.exp((s - m) / T));
      const z = exps.reduce((a, b) => a + b, 0);
      normalize = `exp(${fmt(scores[n]!)} / ${fmt(T, 2)}) / Σⱼ exp(sⱼ / ${fmt(T, 2)}) = ${fmt(exps[n]! / z)}`;
    } else {
      normalize = `${state.normalizerKind === 'sparsemax' ? 'sparsemax' : '1.5-entmax'}(s / ${fmt(T, 2)}) at “${book.title}” = ${fmt(weights[n]!)}${weights[n] === 0 ? ' (exactly zero)' : ''}`;
    }
    const sum = VALUE_FEATURES.map(
      (f, i) => `${f}: ${weights.map((w, j) => `${fmt(w, 2)}×${fmt(state.books[j]!.value[i]!, 2)}`).join(' + ')} = ${fmt(context[i]!)}`,
    );
    worked.replaceChildren(
      h('h3', { text: `Worked out for “${state.queryName}” and “${book.title}”` }),
      h(
        'ol',
        { class: 'steps' },
        h(
          'li',
          {},
          h('strong', { text: 'Score. ' }),
          h('span', { class: 'formula', text: SCORER_FORMULAS[state.scorerKind] ?? `score by '${state.scorerKind}'` }),
          h('br'),
          h('code', { text: `s = ${arithmetic}` }),
        ),
        h(
          'li',
          {},
          h('strong', { text: 'Normalize. ' }),
          h('span', { class: 'formula', text: NORMALIZER_FORMULAS[state.normalizerKind] ?? `normalize by '${state.normalizerKind}'` }),
          h('br'),
          h('code', { text: `w = ${normalize}` }),
        ),
        h(
          'li',
          {},
          h('strong', { text: 'Weighted sum. ' }),
          h('span', { class: 'formula', text: 'context = Σᵢ wᵢ vᵢ' }),
          ...sum.map((s) => h('code', { class: 'block', text: s })),
        ),
      ),
    );
  }

  render();
}

function makeScorer(kind: string): Scorer {
  return createLibraryScorer(kind);
}

function weightBar(w: number): HTMLElement {
  return h('span', { class: 'bar', attrs: { style: `--w:${Math.max(0, Math.min(1, w)) * 100}%` } });
}
