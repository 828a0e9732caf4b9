import { DeviceError } from '../errors/device-error';
import { formatShape } from '../errors/heed-error';
import type { Tensor } from '../tensor';
import type { DeviceFiniteCheck } from './device-backend';
import { deviceBackend } from './device-registry';

/**
 * The NaN / ±∞ check of an input that lives on a device, on that device (`DeviceBackend.checkFinite`): queued with
 * the work, its refusal (`check.error`) rejects the next read of that device. A backend without the check: a
 * DeviceError naming `op` and `argument` (never an unchecked input). [..]
 */
export function checkFiniteOnDevice(op: string, argument: string, x: Tensor, check: DeviceFiniteCheck): void {
  const storage = x.storage;
  if (storage === null) {
    throw new DeviceError(`${argument} ${formatShape(x.shape)} is on the CPU: check it there`, {
      op,
      argument,
      shapes: { [argument]: x.shape },
    });
  }
  const backend = deviceBackend(storage.device, op);
  if (backend.checkFinite === undefined) {
    throw new DeviceError(
      `${argument} ${formatShape(x.shape)} is on '${storage.device}', whose backend cannot check inputs for NaN and ±∞ (no checkFinite): move it with \`await toCpu(t)\``,
      { op, argument, shapes: { [argument]: x.shape } },
    );
  }
  backend.checkFinite(storage, check);
}
