import { HeedError, type HeedErrorFields } from './heed-error';

/** A value that is out of range or of the wrong kind (negative dimension, axis out of range, p ∉ [0, 1)). */
export class ArgumentError extends HeedError {
  static override readonly errorName: string = 'ArgumentError';
  constructor(message: string, fields: HeedErrorFields) {
    super(message, fields);
  }
}
