import { InductionModel } from '../induction/model';
import { decodeStateDict, type InductionModelFile } from '../induction/model-file';
import { parseLetters, tokenName } from '../induction/data';
import { headScores, ROLE_THRESHOLD, type HeadRole, type HeadScores } from '../induction/head-scores';
import { idsOf, measureHeads, nextTokenAccuracy } from '../induction/train';
import { fmt, h } from '../ui/dom';
import { Heatmap } from '../ui/heatmap';

// Panel 3: a two-layer attention-only transformer trained by heed on repeated letters (scripts/train-induction.mjs),
// every head's causal attention map in a layers × heads grid, each head labelled with the role its measured
// scores give it, and the same model before training beside it (one switch).
// Shape letters: L positions, H heads.

const DEFAULT_LETTERS = 'blacksmith blacksmith';

interface Measured {
  model: InductionModel;
  /** [layer][head], over the held-out sequences. */
  scores: HeadScores[][];
  roles: HeadRole[][];
  accuracy: number;
}

const ROLE_CLASS: Record<HeadRole, string> = {
  induction: 'role-induction',
  'previous token': 'role-previous',
  'first token': 'role-first',
  'no clear role': 'role-none',
};

export function mountInduction(root: HTMLElement): void {
  const letters = h('input', {
    class: 'text sentence',
    data: { testid: 'induction-letters' },
    attrs: { type: 'text', value: DEFAULT_LETTERS, spellcheck: 'false', autocomplete: 'off', 'aria-label': 'letters' },
  });
  const untrained = h('input', { data: { testid: 'induction-untrained' }, attrs: { type: 'checkbox' } });
  const status = h('p', { class: 'muted', data: { testid: 'induction-status' }, attrs: { 'aria-live': 'polite' } });
  const note = h('p', { class: 'input-note bad', data: { testid: 'induction-note' }, attrs: { 'aria-live': 'polite' } });
  const summary = h('p', { class: 'induction-summary', data: { testid: 'induction-summary' } });
  const grid = h('div', { class: 'induction-grid', data: { testid: 'induction-grid' } });

  root.append(
    h('h2', { id: 'panel-heads-title', text: '3 · Heads of a trained transformer' }),
    h(
      'p',
      { class: 'lede' },
      'A small decoder-only transformer, trained by heed itself on letters that repeat: a start token (shown as ^), a run of random letters, ',
      'then the same run again. Once the repeat starts, the next letter can be read off the first run: find where this letter came before and ',
      'copy what followed it. Two kinds of head learn to do that between them (Olsson et al. 2022): in layer 1 a ',
      h('strong', { text: 'previous-token head' }),
      ' tells every position what came just before it, and in layer 2 an ',
      h('strong', { text: 'induction head' }),
      ' looks for the position whose previous token is the current one and attends to it. ',
      'Each map below is one head: row = the position reading, column = the position read (causal, so the upper right stays empty).',
    ),
    h(
      'div',
      { class: 'controls' },
      h('label', { class: 'control grow' }, h('span', { class: 'control-label', text: 'letters (a to z; try a word twice)' }), letters),
      h(
        'label',
        { class: 'control checkbox' },
        untrained,
        h('span', { class: 'control-label', text: 'untrained (the same model before training)' }),
      ),
    ),
    note,
    status,
    summary,
    grid,
    h(
      'details',
      { class: 'rule' },
      h('summary', { text: 'How the roles are measured' }),
      h(
        'p',
        {},
        'Every score is a mean attention weight, so it runs from 0 to 1. ',
        h('strong', { text: 'previous token' }),
        ': the weight from position i to i − 1 (i ≥ 2). ',
        h('strong', { text: 'first token' }),
        ': the weight from position i to the start token (i ≥ 2). ',
        h('strong', { text: 'induction' }),
        ': for every position whose letter occurred before, the weight to the position just after its latest earlier occurrence. ',
        `A head is labelled with its highest score if that reaches ${ROLE_THRESHOLD}; the label comes from 32 held-out repeated sequences, `,
        'and the numbers under each map (ind, prev, first) are the same scores on your letters. A Node test recomputes them from the shipped weights with its own attention code.',
      ),
    ),
  );

  let trained: Measured | null = null;
  let initial: Measured | null = null;
  let file: InductionModelFile | null = null;

  letters.addEventListener('input', render);
  untrained.addEventListener('change', render);
  let resizeFrame = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(resizeFrame);
    resizeFrame = requestAnimationFrame(render);
  });

  void load();

  async function load(): Promise<void> {
    root.dataset.state = 'loading';
    status.textContent = 'Loading the trained model…';
    try {
      const response = await fetch(new URL('models/induction.json', document.baseURI));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      file = (await response.json()) as InductionModelFile;
      const sequences = file.evaluation.sequences.map(idsOf);
      const measure = (model: InductionModel): Measured => ({
        model,
        ...measureHeads(model, sequences),
        accuracy: nextTokenAccuracy(model, sequences),
      });
      const model = new InductionModel(file.config);
      initial = measure(model);
      const loaded = new InductionModel(file.config);
      loaded.loadStateDict(decodeStateDict(file.weights));
      trained = measure(loaded);
      root.dataset.state = 'ready';
      render();
    } catch (error) {
      status.textContent = `Could not load the trained model: ${error instanceof Error ? error.message : String(error)}`;
      root.dataset.state = 'error';
    }
  }

  function render(): void {
    if (!trained || !initial || !file) return;
    const measured = untrained.checked ? initial : trained;
    const { numLayers, numHeads, embedDim } = file.config;
    const t = file.training;
    status.textContent = untrained.checked
      ? `The model before training: the same seed's initial weights. On the held-out sequences it predicts ${fmt(measured.accuracy * 100, 1)}% of the predictable letters.`
      : `${numLayers} layers × ${numHeads} heads (MultiHeadAttention with RoPE, width ${embedDim}), trained by heed: ${t.steps} Adam steps of ${t.batchSize} sequences in ${t.seconds} s ` +
        `(apps/demo/scripts/train-induction.mjs). On held-out sequences it predicts ${fmt(measured.accuracy * 100, 1)}% of the predictable letters.`;
    const parsed = parseLetters(letters.value);
    letters.classList.toggle('invalid', !parsed.ok);
    letters.toggleAttribute('aria-invalid', !parsed.ok);
    note.textContent = parsed.ok ? '' : parsed.problem;
    grid.hidden = !parsed.ok;
    summary.hidden = !parsed.ok;
    if (!parsed.ok) {
      grid.replaceChildren();
      return;
    }
    const ids = parsed.ids;
    const L = ids.length;
    const names = ids.map(tokenName);
    const { weights, logits } = measured.model.inspect(ids); // numLayers × [1, H, L, L], [1, L, V]

    // next-letter predictions where the letter came before (the induction positions that have a next letter)
    const V = logits.shape[2]!;
    let right = 0;
    let asked = 0;
    const last = new Map<number, number>();
    ids.forEach((id, i) => {
      if (last.has(id) && i + 1 < L) {
        let best = 0;
        for (let v = 1; v < V; v++) if (logits.data[i * V + v]! > logits.data[i * V + best]!) best = v;
        right += Number(best === ids[i + 1]);
        asked++;
      }
      last.set(id, i);
    });
    summary.dataset.right = String(right);
    summary.dataset.asked = String(asked);
    summary.textContent =
      asked === 0
        ? 'No letter repeats yet, so nothing can be copied: type the same letters again to see the induction heads work.'
        : `After a letter that came before, the model predicts the next letter right ${right} of ${asked} times on your letters.`;

    // cells as large as fit: two maps a row on a phone, four on a wide screen
    const width = grid.clientWidth || root.clientWidth || 360;
    const perRow = width >= 760 ? numHeads : 2;
    // letters beside the rows and under the columns while the cells are big enough for them, else only in the tooltip
    const labelled = Math.floor((width / perRow - 72) / L) >= 9;
    const cell = Math.max(4, Math.min(14, Math.floor((width / perRow - (labelled ? 72 : 34)) / L)));
    const rows: HTMLElement[] = [];
    for (let layer = 0; layer < numLayers; layer++) {
      const maps = Array.from({ length: numHeads }, (_, head) => {
        const values = weights[layer]!.data.subarray(head * L * L, (head + 1) * L * L);
        const own = headScores(values, ids);
        const role = measured.roles[layer]![head]!;
        const map = new Heatmap({
          cellSize: cell,
          legend: false,
          axisTitles: false,
          tickLabels: labelled,
          data: {
            testid: 'induction-heatmap',
            layer: layer + 1,
            head: head + 1,
            role,
            induction: String(own.induction),
            previousToken: String(own.previousToken),
            firstToken: String(own.firstToken),
          },
        });
        map.update({ rowLabels: names, colLabels: names, values, rowTitle: 'position reading', colTitle: 'position read' });
        const heldOut = measured.scores[layer]![head]!;
        const best = role === 'induction' ? heldOut.induction : role === 'previous token' ? heldOut.previousToken : heldOut.firstToken;
        return h(
          'div',
          { class: 'induction-head' },
          h(
            'div',
            { class: 'head-title' },
            h('span', { text: `L${layer + 1} · head ${head + 1}` }),
            h('span', {
              class: `role ${ROLE_CLASS[role]}`,
              data: { testid: 'induction-role', layer: layer + 1, head: head + 1, role },
              text: role === 'no clear role' ? role : `${role} ${fmt(best, 2)}`,
            }),
          ),
          map.element,
          h(
            'div',
            { class: 'head-scores', title: 'this head on your letters: its induction, previous-token and first-token scores' },
            `ind ${score(own.induction)} · prev ${score(own.previousToken)} · first ${score(own.firstToken)}`,
          ),
        );
      });
      rows.push(
        h(
          'div',
          { class: 'induction-layer' },
          h('h3', { text: `layer ${layer + 1}` }),
          h('div', { class: 'induction-heads', data: { perRow } }, ...maps),
        ),
      );
    }
    grid.replaceChildren(...rows);
    root.dataset.headRoles = measured.roles.map((layer) => layer.join(',')).join(';');
    root.dataset.model = untrained.checked ? 'untrained' : 'trained';
  }
}

function score(x: number): string {
  return Number.isNaN(x) ? '–' : fmt(x, 2);
}
