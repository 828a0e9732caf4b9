/** Structured fields every heed error carries. */
export interface HeedErrorFields {
  /** The operation or constructor that refused the input, e.g. `matmul` or `Linear`. */
  op: string;
  /** The argument at fault, e.g. `b` or `numHeads`. */
  argument: string;
  /** Shapes involved, keyed by argument name (empty when shapes are not the issue). */
  shapes?: Record<string, readonly number[]>;
}

/**
 * The brand every heed error carries: the names of its classes, most derived first (e.g.
 * `['ShapeError', 'HeedError']`). `instanceof HeedError` (and every subclass) reads it, so an error
 * thrown by a second installed copy of `@heed/tensor` is still recognised. The names are each class's
 * `static errorName` (a string a minifier leaves alone; a subclass without one is known by its class name).
 */
export const heedErrorBrand: unique symbol = Symbol.for('heed.error') as never;

/** Base class of every error heed throws on purpose. `instanceof` checks the brand, not the prototype chain. */
export class HeedError extends Error {
  /** The name this class has in the brand and in `error.name`, whatever a bundler renames the class to. */
  static readonly errorName: string = 'HeedError';
  /** The class names of this error, most derived first (see `heedErrorBrand`). */
  readonly [heedErrorBrand]: readonly string[];
  readonly op: string;
  readonly argument: string;
  readonly shapes: Readonly<Record<string, readonly number[]>>;

  constructor(message: string, fields: HeedErrorFields) {
    super(`${fields.op}: ${message}`);
    this.name = errorNameOf(new.target);
    this.op = fields.op;
    this.argument = fields.argument;
    this.shapes = fields.shapes ?? {};
    const names: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) names.push(errorNameOf(c));
    this[heedErrorBrand] = names;
  }

  /** `x instanceof ShapeError`: x carries the heed error brand naming this class (any installed copy). */
  static [Symbol.hasInstance](x: unknown): boolean {
    if (isHeedError(x)) return x[heedErrorBrand].includes(errorNameOf(this));
    return Function.prototype[Symbol.hasInstance].call(this, x);
  }
}

/** A class's own `static errorName`, or its class name where it declares none. */
function errorNameOf(c: unknown): string {
  const own = Object.getOwnPropertyDescriptor(c, 'errorName')?.value;
  return typeof own === 'string' ? own : (c as { name: string }).name;
}

/** Whether `x` is an error heed threw on purpose, from this or any other installed copy of `@heed/tensor`. */
export function isHeedError(x: unknown): x is HeedError {
  const brand = typeof x === 'object' && x !== null ? (x as { [heedErrorBrand]?: unknown })[heedErrorBrand] : undefined;
  return Array.isArray(brand) && brand.includes('HeedError');
}

/** Formats a shape as `[2, 3, 4]` for error messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
