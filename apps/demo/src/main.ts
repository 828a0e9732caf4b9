import './style.css';
import { mountDates } from './panels/dates-panel';
import { mountInduction } from './panels/induction-panel';
import { mountThreeSteps } from './panels/three-steps';
import { mountVariants } from './panels/variants-panel';

const panel = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el;
};

// index.html shows a "run pnpm demo" message for when this script never runs (opened from disk): it ran
document.getElementById('boot-message')?.remove();
document.documentElement.dataset.booted = 'true';

mountThreeSteps(panel('panel-steps'));
mountDates(panel('panel-dates'));
mountInduction(panel('panel-heads'));
mountVariants(panel('panel-variants'));
