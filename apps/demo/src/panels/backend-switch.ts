import { BACKENDS, type Backend, currentBackend, defaultBackend, switchBackend } from '../backend/backends';
import { timedStep, timeTrainingStep } from '../backend/step-time';
import { fmt, h } from '../ui/dom';

// The kernels every panel runs on (the page's thread and the training worker), with the time per training
// step measured on each: one button per backend in BACKENDS, so a new backend needs no change here.

export function mountBackendSwitch(root: HTMLElement, onSwitched: () => void): void {
  const buttons = BACKENDS.map((backend) => {
    const why = backend.unavailable();
    return h('button', {
      class: 'backend-button',
      data: { testid: 'backend-button', backend: backend.id },
      attrs: { type: 'button', 'aria-pressed': 'false', disabled: why !== null, title: why ?? `run heed on ${backend.label}` },
      text: backend.label,
    });
  });
  const status = h('span', { class: 'backend-status', data: { testid: 'backend-status' }, attrs: { 'aria-live': 'polite' } });
  const times = h('span', { class: 'backend-times muted', data: { testid: 'backend-times' } });
  // a backend the browser offers but that could not start (WebGPU without an adapter): said here, and the page falls back
  const note = h('p', { class: 'backend-note', data: { testid: 'backend-note' }, attrs: { hidden: true } });
  const failed: Backend[] = [];
  const measured = new Map<string, number>();
  root.append(
    h(
      'div',
      { class: 'backend-switch', attrs: { role: 'group', 'aria-label': 'kernels' } },
      h('span', { class: 'control-label', text: 'kernels' }),
      ...buttons,
      status,
      times,
    ),
    note,
  );
  buttons.forEach((button, i) => button.addEventListener('click', () => void use(BACKENDS[i]!)));
  void use(defaultBackend());

  async function use(backend: Backend): Promise<void> {
    for (const b of buttons) b.disabled = true;
    root.dataset.backendState = 'switching';
    status.textContent = `switching to ${backend.label}…`;
    try {
      const description = await switchBackend(backend);
      buttons.forEach((b, i) => b.setAttribute('aria-pressed', String(BACKENDS[i] === backend)));
      root.dataset.backend = backend.id;
      status.textContent = `${description} · timing a training step…`;
      onSwitched();
      await idle(); // time the step once the page has settled, not while the panels are still starting
      const ms = await timeTrainingStep(5, backend.device);
      measured.set(backend.id, ms);
      root.dataset[`stepMs${backend.id[0]!.toUpperCase()}${backend.id.slice(1)}`] = String(ms);
      status.textContent = `${description}: ${fmt(ms, 1)} ms per training step`;
      times.textContent = `(a batch of 32: ${[...measured].map(([id, t]) => `${BACKENDS.find((b) => b.id === id)!.label} ${fmt(t, 1)} ms`).join(' · ')}; ${[...new Set([...measured.keys()].map((id) => timedStep(BACKENDS.find((b) => b.id === id)!.device)))].join(' and ')})`;
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      status.textContent = `Could not switch to ${backend.label}: ${why}`;
      if (!failed.includes(backend)) failed.push(backend);
      note.hidden = false;
      note.textContent = `${failed.map((b) => b.label).join(', ')} cannot run in this browser (${why}).`;
      if (currentBackend() === null) {
        const fallback = defaultBackend(failed);
        if (!failed.includes(fallback)) {
          note.textContent += ` Falling back to ${fallback.label}.`;
          queueMicrotask(() => void use(fallback));
        }
      }
    } finally {
      buttons.forEach((b, i) => {
        b.disabled = BACKENDS[i]!.unavailable() !== null || failed.includes(BACKENDS[i]!);
      });
      root.dataset.backendState = 'ready';
    }
  }
}

/** Resolves when the browser is idle (at most 3 s later). */
function idle(): Promise<void> {
  return new Promise((resolve) => {
    if ('requestIdleCallback' in window) requestIdleCallback(() => resolve(), { timeout: 3000 });
    else setTimeout(resolve, 300);
  });
}
