import { ArgumentError } from '../errors/argument-error';
import { DeviceError } from '../errors/device-error';
import type { DeviceBackend } from './device-backend';

// Devices other than the CPU, by name. A backend package (e.g. @heed/webgpu) registers one; tensors moved there
// with `toDevice(t, name)` carry its name and every op on them runs on that backend.

const backends = new Map<string, DeviceBackend>();

/** Registers a device backend under its name (replacing one of the same name). 'cpu' is reserved. */
export function registerDevice(backend: DeviceBackend): void {
  const op = 'registerDevice';
  if (typeof backend !== 'object' || backend === null)
    throw new ArgumentError(`backend must be a DeviceBackend object, got ${String(backend)}`, { op, argument: 'backend' });
  if (typeof backend.name !== 'string' || backend.name === '' || backend.name === 'cpu')
    throw new ArgumentError(`backend.name must be a non-empty string other than 'cpu', got ${String(backend.name)}`, {
      op,
      argument: 'backend.name',
    });
  backends.set(backend.name, backend);
}

/** Forgets a device backend (its tensors can no longer be computed on); unknown names are ignored. */
export function unregisterDevice(name: string): void {
  backends.delete(name);
}

/** The names of the devices tensors can live on: 'cpu' first, then the registered backends. */
export function listDevices(): string[] {
  return ['cpu', ...backends.keys()];
}

/** The backend registered as `name`; a DeviceError naming `op` and the known devices otherwise. */
export function deviceBackend(name: string, op: string, argument = 'device'): DeviceBackend {
  const backend = backends.get(name);
  if (backend === undefined) {
    throw new DeviceError(
      `no device named '${String(name)}' (devices: ${listDevices().join(', ')}; a backend such as @heed/webgpu registers one)`,
      {
        op,
        argument,
      },
    );
  }
  return backend;
}
