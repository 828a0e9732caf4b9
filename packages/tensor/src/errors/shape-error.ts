import { HeedError, type HeedErrorFields } from './heed-error';

/** Shapes that do not fit together (mismatched sizes, non-broadcastable shapes, bad ranks). */
export class ShapeError extends HeedError {
  constructor(message: string, fields: HeedErrorFields) {
    super(message, fields);
  }
}
