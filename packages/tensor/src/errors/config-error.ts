import { HeedError, type HeedErrorFields } from './heed-error';

/** An impossible configuration, refused in a constructor (e.g. `embedDim % numHeads !== 0`). */
export class ConfigError extends HeedError {
  static override readonly errorName: string = 'ConfigError';
  constructor(message: string, fields: Omit<HeedErrorFields, 'shapes'> & { shapes?: HeedErrorFields['shapes'] }) {
    super(message, fields);
  }
}
