import { viridis, viridisCss, textColorOn } from './colormap';
import { fmt, h } from './dom';

export interface HeatmapData {
  /** One label per row (top to bottom). */
  rowLabels: readonly string[];
  /** One label per column (left to right). */
  colLabels: readonly string[];
  /** rows × cols values, row-major. */
  values: ArrayLike<number>;
  /** What the rows are, e.g. "output character". */
  rowTitle: string;
  /** What the columns are, e.g. "input character". */
  colTitle: string;
  /** Text above the map. */
  caption?: string;
  /** The colour scale runs from min (default 0) to max (default 1). */
  min?: number;
  max?: number;
}

export interface HeatmapOptions {
  /** Side of a cell in CSS pixels (default 22). */
  cellSize?: number;
  /** Print each value in its cell (default: when cells are at least 30 px). */
  showValues?: boolean;
  /** Extra class on the <figure>. */
  className?: string;
  /** Draw the colour scale beside the map (default true; a grid of small maps can share one). */
  legend?: boolean;
  /** Write the axis titles (default true; a grid of small maps can leave them to the first map). */
  axisTitles?: boolean;
  /** Write the row and column labels (default true; cells too small for text leave them to the tooltip). */
  tickLabels?: boolean;
  /** data-* attributes on the <figure> (used by the end-to-end test to find maps). */
  data?: Record<string, string | number>;
}

interface Layout {
  x0: number;
  y0: number;
  cell: number;
  rows: number;
  cols: number;
}

const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
const TITLE_FONT = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
const INK = '#1f2430';
const MUTED = '#5b6170';
/** The row title's rotation: +90° reads top to bottom, so its "→" points down, as the rows run. */
const ROW_TITLE_TURN = Math.PI / 2;

/**
 * A heatmap on a <canvas>: labelled axes with titles, a colour-scale legend, and a tooltip with the
 * row, column and value of the cell under the pointer.
 */
export class Heatmap {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly cellSize: number;
  private readonly showValues: boolean | undefined;
  private readonly legend: boolean;
  private readonly axisTitles: boolean;
  private readonly tickLabels: boolean;
  private data: HeatmapData | null = null;
  private layout: Layout | null = null;
  private hover: [number, number] | null = null;

  constructor(options: HeatmapOptions = {}) {
    this.cellSize = options.cellSize ?? 22;
    this.showValues = options.showValues;
    this.legend = options.legend ?? true;
    this.axisTitles = options.axisTitles ?? true;
    this.tickLabels = options.tickLabels ?? true;
    this.caption = h('figcaption');
    this.canvas = h('canvas', { attrs: { role: 'img' } });
    this.tooltip = h('div', { class: 'heatmap-tooltip', attrs: { role: 'tooltip', hidden: true } });
    // a map wider than the screen scrolls inside its own box, never the page
    this.scroller = h('div', { class: 'heatmap-scroll' }, this.canvas);
    this.scroller.addEventListener('scroll', () => this.setHover(null));
    this.element = h(
      'figure',
      { class: `heatmap ${options.className ?? ''}`.trim(), data: options.data },
      this.caption,
      this.scroller,
      this.tooltip,
    );
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e.offsetX, e.offsetY));
    this.canvas.addEventListener('mouseleave', () => this.setHover(null));
  }

  update(data: HeatmapData): void {
    const rows = data.rowLabels.length;
    const cols = data.colLabels.length;
    if (data.values.length !== rows * cols) throw new RangeError(`heatmap needs ${rows}×${cols} values, got ${data.values.length}`);
    this.data = data;
    if (this.hover && (this.hover[0] >= rows || this.hover[1] >= cols)) this.setHover(null);
    this.caption.textContent = data.caption ?? '';
    this.caption.hidden = !data.caption;
    this.element.dataset.rows = String(rows);
    this.element.dataset.cols = String(cols);
    this.canvas.setAttribute('aria-label', `${data.caption ?? 'heatmap'}: ${rows} ${data.rowTitle}s × ${cols} ${data.colTitle}s`);
    this.draw();
    if (this.hover) this.showTooltip(...this.hover);
  }

  /** The value at (row, col) of the current data. */
  valueAt(row: number, col: number): number {
    return this.data ? this.data.values[row * this.data.colLabels.length + col]! : NaN;
  }

  private draw(): void {
    const data = this.data;
    if (!data) return;
    const ctx0 = this.canvas.getContext('2d');
    if (!ctx0) return;
    const rows = data.rowLabels.length;
    const cols = data.colLabels.length;
    const cell = this.cellSize;
    const min = data.min ?? 0;
    const max = data.max ?? 1;

    // measure the labels to lay out the margins
    ctx0.font = FONT;
    const ticks = this.tickLabels;
    const rowLabelWidth = ticks ? Math.max(0, ...data.rowLabels.map((l) => ctx0.measureText(l).width)) : 0;
    const colLabelWidth = Math.max(0, ...data.colLabels.map((l) => ctx0.measureText(l).width));
    const rotate = data.colLabels.some((l) => [...l].length > 2);
    const colLabelHeight = !ticks ? 0 : rotate ? colLabelWidth + 8 : 18;
    const titles = this.axisTitles;
    const x0 = (titles ? 22 : 4) + (ticks ? rowLabelWidth + 8 : 0);
    const y0 = 6;
    const gridW = cols * cell;
    const gridH = rows * cell;
    const legendH = this.legend ? Math.max(gridH, 90) : 0;
    const legendX = x0 + gridW + 16;
    const width = Math.ceil(this.legend ? legendX + 12 + 6 + 36 : x0 + gridW + 6);
    const height = Math.ceil(Math.max(y0 + gridH + colLabelHeight + (titles ? 22 : 4), y0 + legendH + 8));
    this.layout = { x0, y0, cell, rows, cols };
    // where the axis arrows point on screen (→ turned by the rotation it is drawn with)
    const rowArrow = Math.sin(ROW_TITLE_TURN) > 0 ? 'down' : 'up';
    Object.assign(this.element.dataset, { x0: String(x0), y0: String(y0), cell: String(cell), rowArrow, colArrow: 'right' });

    const dpr = typeof window !== 'undefined' ? window.devicePixelRatio || 1 : 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    // cells
    const span = max - min || 1;
    const showValues = this.showValues ?? cell >= 30;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const t = (data.values[i * cols + j]! - min) / span;
        const [r, g, b] = viridis(t);
        ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
        ctx.fillRect(x0 + j * cell, y0 + i * cell, cell, cell);
        if (showValues) {
          ctx.fillStyle = textColorOn(t);
          ctx.font = '10px system-ui, sans-serif';
          ctx.textAlign = 'center';
          ctx.textBaseline = 'middle';
          ctx.fillText(fmt(data.values[i * cols + j]!, 2), x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell);
        }
      }
    }
    ctx.strokeStyle = '#c9ced8';
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 - 0.5, y0 - 0.5, gridW + 1, gridH + 1);
    if (this.hover) {
      const [i, j] = this.hover;
      ctx.strokeStyle = '#ff3b30';
      ctx.lineWidth = 2;
      ctx.strokeRect(x0 + j * cell + 1, y0 + i * cell + 1, cell - 2, cell - 2);
    }

    // row labels and title
    ctx.fillStyle = INK;
    ctx.font = FONT;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    if (ticks) data.rowLabels.forEach((l, i) => ctx.fillText(l, x0 - 6, y0 + (i + 0.5) * cell));
    if (titles) this.drawRowTitle(ctx, data.rowTitle, y0 + gridH / 2);

    // column labels and title
    ctx.fillStyle = INK;
    ctx.font = FONT;
    (ticks ? data.colLabels : []).forEach((l, j) => {
      const cx = x0 + (j + 0.5) * cell;
      if (rotate) {
        ctx.save();
        ctx.translate(cx, y0 + gridH + 5);
        ctx.rotate(-Math.PI / 2);
        ctx.textAlign = 'right';
        ctx.textBaseline = 'middle';
        ctx.fillText(l, 0, 0);
        ctx.restore();
      } else {
        ctx.textAlign = 'center';
        ctx.textBaseline = 'top';
        ctx.fillText(l, cx, y0 + gridH + 4);
      }
    });
    if (titles) {
      ctx.font = TITLE_FONT;
      ctx.fillStyle = MUTED;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      ctx.fillText(`${data.colTitle} →`, x0 + gridW / 2, y0 + gridH + colLabelHeight + 4);
    }
    if (this.legend) this.drawLegend(ctx, legendX, y0, legendH, min, span);
  }

  private drawLegend(ctx: CanvasRenderingContext2D, legendX: number, y0: number, legendH: number, min: number, span: number): void {
    // colour scale: max at the top
    for (let y = 0; y < legendH; y++) {
      ctx.fillStyle = viridisCss(1 - y / (legendH - 1));
      ctx.fillRect(legendX, y0 + y, 12, 1);
    }
    ctx.strokeStyle = '#c9ced8';
    ctx.lineWidth = 1;
    ctx.strokeRect(legendX - 0.5, y0 - 0.5, 13, legendH + 1);
    ctx.fillStyle = INK;
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const f of [0, 0.5, 1]) {
      const y = y0 + (1 - f) * (legendH - 1);
      ctx.fillRect(legendX + 12, y, 4, 1);
      ctx.fillText(fmt(min + f * span, span >= 2 ? 1 : 2), legendX + 19, Math.min(Math.max(y, y0 + 5), y0 + legendH - 5));
    }
  }

  private drawRowTitle(ctx: CanvasRenderingContext2D, title: string, middle: number): void {
    ctx.save();
    ctx.font = TITLE_FONT;
    ctx.fillStyle = MUTED;
    // turned a quarter clockwise, so the title reads downwards and its arrow points the way the rows run
    ctx.translate(10, middle);
    ctx.rotate(ROW_TITLE_TURN);
    ctx.textAlign = 'center';
    ctx.fillText(`${title} →`, 0, 0);
    ctx.restore();
  }

  private onMove(x: number, y: number): void {
    const L = this.layout;
    if (!L) return;
    const j = Math.floor((x - L.x0) / L.cell);
    const i = Math.floor((y - L.y0) / L.cell);
    this.setHover(i >= 0 && i < L.rows && j >= 0 && j < L.cols ? [i, j] : null);
  }

  private setHover(cell: [number, number] | null): void {
    const same = cell && this.hover && cell[0] === this.hover[0] && cell[1] === this.hover[1];
    if (same || (!cell && !this.hover)) return;
    this.hover = cell;
    this.draw();
    if (cell) this.showTooltip(...cell);
    else this.tooltip.hidden = true;
  }

  private showTooltip(i: number, j: number): void {
    const { data, layout } = this;
    if (!data || !layout) return;
    this.tooltip.replaceChildren(
      h('div', {}, h('span', { class: 'muted', text: `${data.rowTitle} ` }), h('strong', { text: data.rowLabels[i]! })),
      h('div', {}, h('span', { class: 'muted', text: `${data.colTitle} ` }), h('strong', { text: data.colLabels[j]! })),
      h('div', { class: 'tooltip-value', text: fmt(this.valueAt(i, j), 4) }),
    );
    this.tooltip.dataset.value = String(this.valueAt(i, j));
    this.tooltip.hidden = false;
    // above the cell and never left of the grid, so the row labels stay readable; never past the figure's
    // right edge either, so it cannot widen the page on a narrow screen
    const gridLeft = this.scroller.offsetLeft + layout.x0 - this.scroller.scrollLeft;
    const centre = gridLeft + (j + 0.5) * layout.cell;
    const width = this.tooltip.offsetWidth;
    const rightmost = Math.max(gridLeft, this.element.clientWidth - width);
    this.tooltip.style.left = `${Math.min(Math.max(centre - width / 2, gridLeft), rightmost)}px`;
    this.tooltip.style.top = `${this.scroller.offsetTop + layout.y0 + i * layout.cell - 6}px`;
  }
}
