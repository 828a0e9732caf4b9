import { HeedError, type HeedErrorFields } from './heed-error';

/** A state dict that does not fit a module: a missing key, an unexpected key or a wrong shape. */
export class StateDictError extends HeedError {
  static override readonly errorName: string = 'StateDictError';
  /** The state-dict keys at fault. */
  readonly keys: readonly string[];

  constructor(message: string, fields: HeedErrorFields & { keys: readonly string[] }) {
    super(message, fields);
    this.keys = fields.keys;
  }
}
