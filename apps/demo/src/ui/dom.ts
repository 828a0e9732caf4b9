type Child = Node | string | number | null | undefined | false;

export interface ElementProps {
  class?: string;
  id?: string;
  title?: string;
  /** data-* attributes */
  data?: Record<string, string | number>;
  /** any other attribute */
  attrs?: Record<string, string | number | boolean>;
  text?: string;
}

/** A new element: h('div', { class: 'row' }, 'text', child). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: ElementProps = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.id) el.id = props.id;
  if (props.title) el.title = props.title;
  if (props.text !== undefined) el.textContent = props.text;
  for (const [k, v] of Object.entries(props.data ?? {})) el.dataset[k] = String(v);
  for (const [k, v] of Object.entries(props.attrs ?? {})) {
    if (v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** A <select> over `options`, with `selected` chosen. */
export function select(
  options: readonly string[],
  selected: string,
  props: ElementProps = {},
  labels: Record<string, string> = {},
): HTMLSelectElement {
  const el = h('select', props);
  for (const o of options) {
    const opt = h('option', { text: labels[o] ?? o, attrs: { value: o } });
    if (o === selected) opt.selected = true;
    el.appendChild(opt);
  }
  return el;
}

/** A labelled control: <label>text control</label>. */
export function labelled(text: string, control: HTMLElement, props: ElementProps = {}): HTMLLabelElement {
  return h('label', { ...props, class: `control ${props.class ?? ''}`.trim() }, h('span', { class: 'control-label', text }), control);
}

/** Numbers for people: fixed decimals, −0 shown as 0, a true minus sign. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  const s = (Math.abs(x) < 0.5 * 10 ** -digits ? 0 : x).toFixed(digits);
  return s.startsWith('-') ? `−${s.slice(1)}` : s;
}

/** Characters as axis labels: a visible mark for space. */
export function charLabel(c: string): string {
  return c === ' ' ? '␣' : c;
}
