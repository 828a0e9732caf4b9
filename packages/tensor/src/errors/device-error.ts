import { HeedError, type HeedErrorFields } from './heed-error';

/**
 * A tensor on the wrong device for the call: a synchronous read (`data`, `item()`, `toArray()`) of a tensor that
 * lives on a GPU (read it with `await t.read()`), tensors of different devices in one op (move one with
 * `await toDevice(t, device)`), or an unknown device name.
 */
export class DeviceError extends HeedError {
  static override readonly errorName: string = 'DeviceError';
  constructor(message: string, fields: HeedErrorFields) {
    super(message, fields);
  }
}
