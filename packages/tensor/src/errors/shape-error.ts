import { HeedError, type HeedErrorFields } from './heed-error';

/** Shapes that do not fit together (mismatched sizes, non-broadcastable shapes, bad ranks). */
export class ShapeError extends HeedError {
  static override readonly errorName: string = 'ShapeError';
  constructor(message: string, fields: HeedErrorFields) {
    super(message, fields);
  }
}
