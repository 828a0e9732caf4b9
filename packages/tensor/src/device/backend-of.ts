import { DeviceError } from '../errors/device-error';
import { formatShape } from '../errors/heed-error';
import { stridesOf } from '../shape';
import type { Tensor } from '../tensor';
import type { DeviceBackend, DeviceStorage, StridedOperand } from './device-backend';
import { deviceBackend } from './device-registry';

// How an op finds where to run: null when every input is on the CPU (the existing path, one property read per
// input), else the backend of their common device. Tensors of two devices in one op are a DeviceError, with one
// exception, as in PyTorch: a rank-0 CPU tensor that tracks no gradient (e.g. a number argument, `mul(g, -1)`)
// goes along with a device tensor.

/** The backend `inputs` live on (null: the CPU); a DeviceError naming `op` and the arguments when devices differ. */
export function backendOf(op: string, names: readonly string[], ...inputs: readonly Tensor[]): DeviceBackend | null {
  let device: string | null = null;
  let first = -1;
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!;
    const storage = t.storage;
    if (storage === null) continue;
    if (device === null) {
      device = storage.device;
      first = i;
    } else if (storage.device !== device) throw mixedDevices(op, names, inputs, first, i);
  }
  if (device === null) return null;
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!;
    if (t.storage === null && !isPortableScalar(t)) throw mixedDevices(op, names, inputs, first, i);
  }
  return deviceBackend(device, op);
}

/** A rank-0 CPU tensor without gradient: goes with any device. */
function isPortableScalar(t: Tensor): boolean {
  return t.rank === 0 && !t.requiresGrad;
}

function mixedDevices(op: string, names: readonly string[], inputs: readonly Tensor[], i: number, j: number): DeviceError {
  const [a, b] = [inputs[i]!, inputs[j]!];
  const [nameA, nameB] = [names[i] ?? `inputs[${i}]`, names[j] ?? `inputs[${j}]`];
  return new DeviceError(
    `${nameA} ${formatShape(a.shape)} is on '${a.device}' but ${nameB} ${formatShape(b.shape)} is on '${b.device}': move one with \`await toDevice(t, '${a.device === 'cpu' ? b.device : a.device}')\``,
    { op, argument: nameB, shapes: { [nameA]: a.shape, [nameB]: b.shape } },
  );
}

const scalars = new WeakMap<DeviceBackend, Map<number, DeviceStorage>>();

/** The storage of `t` on `backend`: its own, or (a portable CPU scalar) a cached upload of its value. */
export function storageOn(backend: DeviceBackend, t: Tensor): DeviceStorage {
  const storage = t.storage;
  if (storage !== null) return storage;
  const value = t.data[0]!;
  let cache = scalars.get(backend);
  if (cache === undefined) {
    cache = new Map();
    scalars.set(backend, cache);
  }
  let uploaded = cache.get(value);
  if (uploaded === undefined) {
    if (cache.size >= 1024) cache.clear();
    uploaded = backend.upload(new Float32Array([value]));
    cache.set(value, uploaded);
  }
  return uploaded;
}

/** `t` read contiguously (its own strides, offset 0). */
export function contiguous(backend: DeviceBackend, t: Tensor): StridedOperand {
  return { storage: storageOn(backend, t), offset: 0, strides: stridesOf(t.shape) };
}
