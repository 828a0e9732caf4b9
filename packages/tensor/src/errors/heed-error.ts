/** Structured fields every heed error carries. */
export interface HeedErrorFields {
  /** The operation or constructor that refused the input, e.g. `matmul` or `Linear`. */
  op: string;
  /** The argument at fault, e.g. `b` or `numHeads`. */
  argument: string;
  /** Shapes involved, keyed by argument name (empty when shapes are not the issue). */
  shapes?: Record<string, readonly number[]>;
}

/** Base class of every error heed throws on purpose. */
export class HeedError extends Error {
  readonly op: string;
  readonly argument: string;
  readonly shapes: Readonly<Record<string, readonly number[]>>;

  constructor(message: string, fields: HeedErrorFields) {
    super(`${fields.op}: ${message}`);
    this.name = new.target.name;
    this.op = fields.op;
    this.argument = fields.argument;
    this.shapes = fields.shapes ?? {};
  }
}

/** Formats a shape as `[2, 3, 4]` for error messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
