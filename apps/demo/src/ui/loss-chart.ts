import { h } from './dom';

const LOSS_COLOR = '#3b528b';
const ACCURACY_COLOR = '#e07b00';

/**
 * The live training chart: loss per step on a log scale (left axis) and held-out accuracy (right axis, 0-100 %),
 * against the step (bottom axis).
 */
export class LossChart {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly empty: HTMLElement;
  private losses: [number, number][] = [];
  private accuracies: [number, number][] = [];
  private totalSteps = 100;
  private readonly width = 520;
  private readonly height = 220;

  constructor() {
    this.canvas = h('canvas', { attrs: { role: 'img', 'aria-label': 'training loss and held-out accuracy by step' } });
    const legend = h(
      'figcaption',
      { class: 'chart-legend' },
      h('span', { class: 'swatch', attrs: { style: `background:${LOSS_COLOR}` } }),
      'training loss (cross-entropy, log scale) ',
      h('span', { class: 'swatch', attrs: { style: `background:${ACCURACY_COLOR}` } }),
      'held-out exact-match accuracy',
    );
    // before any training there is no curve to draw: a sentence says so instead of empty axes
    this.empty = h('p', {
      class: 'chart-empty muted',
      data: { testid: 'chart-empty' },
      text: 'No training yet: press “Train in the browser” and the loss and the held-out accuracy are drawn here, step by step.',
    });
    this.element = h('figure', { class: 'loss-chart' }, legend, this.canvas, this.empty);
    this.draw();
  }

  reset(totalSteps: number): void {
    this.losses = [];
    this.accuracies = [];
    this.totalSteps = Math.max(1, totalSteps);
    this.draw();
  }

  addLoss(step: number, loss: number): void {
    this.losses.push([step, loss]);
    this.element.dataset.points = String(this.losses.length);
    this.element.dataset.firstLoss = String(this.losses[0]![1]);
    this.element.dataset.lastLoss = String(loss);
    this.draw();
  }

  addAccuracy(step: number, accuracy: number): void {
    this.accuracies.push([step, accuracy]);
    this.element.dataset.lastAccuracy = String(accuracy);
    this.draw();
  }

  private draw(): void {
    const { width, height } = this;
    const isEmpty = this.losses.length === 0;
    this.element.dataset.empty = String(isEmpty);
    this.empty.hidden = !isEmpty;
    this.canvas.hidden = isEmpty;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const left = 52;
    const right = width - 46;
    const top = 10;
    const bottom = height - 36;

    // y (loss): whole decades around the data
    const values = this.losses.map(([, l]) => Math.max(l, 1e-6));
    const hiExp = values.length ? Math.ceil(Math.log10(Math.max(...values))) : 1;
    let loExp = values.length ? Math.floor(Math.log10(Math.min(...values))) : -2;
    if (loExp >= hiExp) loExp = hiExp - 1;
    const yLoss = (l: number): number => bottom - ((Math.log10(Math.max(l, 1e-6)) - loExp) / (hiExp - loExp)) * (bottom - top);
    const yAcc = (a: number): number => bottom - a * (bottom - top);
    const x = (step: number): number => left + (step / this.totalSteps) * (right - left);

    // grid and axes
    ctx.font = '11px system-ui, sans-serif';
    ctx.strokeStyle = '#e3e6ec';
    ctx.fillStyle = '#1f2430';
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    for (let e = loExp; e <= hiExp; e++) {
      const y = Math.round(yLoss(10 ** e)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.textAlign = 'right';
      ctx.fillText(e >= 0 && e <= 3 ? String(10 ** e) : `1e${e}`, left - 5, y);
    }
    ctx.textAlign = 'left';
    ctx.fillStyle = ACCURACY_COLOR;
    for (const a of [0, 0.5, 1]) ctx.fillText(`${a * 100}%`, right + 5, yAcc(a));
    ctx.fillStyle = '#1f2430';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const tick = niceStep(this.totalSteps);
    for (let s = 0; s <= this.totalSteps; s += tick) ctx.fillText(String(s), x(s), bottom + 4);
    ctx.fillStyle = '#5b6170';
    ctx.fillText('training step →', (left + right) / 2, bottom + 19);
    ctx.save();
    ctx.translate(12, (top + bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText('loss', 0, -6);
    ctx.restore();
    ctx.strokeStyle = '#9aa1ad';
    ctx.strokeRect(left + 0.5, top + 0.5, right - left, bottom - top);

    // series
    const line = (points: [number, number][], y: (v: number) => number, color: string, dots: boolean): void => {
      if (points.length === 0) return;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      points.forEach(([s, v], i) => (i === 0 ? ctx.moveTo(x(s), y(v)) : ctx.lineTo(x(s), y(v))));
      ctx.stroke();
      if (dots) for (const [s, v] of points) ctx.fillRect(x(s) - 2, y(v) - 2, 4, 4);
    };
    line(this.losses, yLoss, LOSS_COLOR, false);
    line(this.accuracies, yAcc, ACCURACY_COLOR, true);
  }
}

function niceStep(total: number): number {
  const raw = total / 6;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
