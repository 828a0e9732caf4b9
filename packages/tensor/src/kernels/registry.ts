import { ArgumentError } from '../errors/argument-error';
import type { AttentionBackwardKernel, AttentionForwardKernel, AttentionWeightsBackwardKernel, AttentionWeightsKernel } from './attention';
import type { BinaryKernel, UnaryKernel } from './elementwise';
import { jsKernelSet } from './js/kernel-set';
import type { MatmulKernel } from './matmul';
import type { ReduceKernel } from './reduce';
import type { SoftmaxKernel } from './softmax';

// The kernel seam: every loop an op runs over Float32Arrays is reached through getKernels(), and a
// kernel set (the plain TypeScript one, WebAssembly, later WebGPU) is a value registered here by name.

/** The kernels ops reach through. A faster implementation replaces an entry without touching ops. */
export interface Kernels {
  matmul: MatmulKernel;
  /** Fused scaled-dot-product attention, forward (see `AttentionProblem`). */
  attentionForward: AttentionForwardKernel;
  /** Fused scaled-dot-product attention, backward (recomputes the weights tile by tile). */
  attentionBackward: AttentionBackwardKernel;
  /** Exact attention weights of chosen query rows, from the fused forward's log-sum-exp. */
  attentionWeights: AttentionWeightsKernel;
  /** Gradient of `attentionWeights`. */
  attentionWeightsBackward: AttentionWeightsBackwardKernel;
  /** Softmax or log-softmax along one axis. */
  softmax: SoftmaxKernel;
  /** Broadcasting binary ops (add, sub, mul, div, pow, maximum). */
  binary: BinaryKernel;
  /** Elementwise unary ops (neg, exp, log, tanh, sigmoid, relu, sqrt, abs). */
  unary: UnaryKernel;
  /** Sum, max or min along one axis. */
  reduceAxis: ReduceKernel;
}

/**
 * A named set of kernels. `kernels` overrides any subset; the plain TypeScript kernels ('js') fill in
 * the rest. `dispose` releases what the set holds (worker threads): the registry calls it when the set
 * is unregistered or replaced by another set of the same name.
 */
export interface KernelSet {
  readonly name: string;
  readonly kernels: Readonly<Partial<Kernels>>;
  dispose?(): void;
}

const KERNEL_NAMES = Object.keys(jsKernelSet.kernels) as readonly (keyof Kernels)[];

const sets = new Map<string, KernelSet>([[jsKernelSet.name, jsKernelSet]]);
let current: KernelSet = jsKernelSet;
/** The kernels `current` provides (filled in from 'js'): what a switch replaces. */
let provided: Readonly<Kernels> = jsKernelSet.kernels;
const active: Kernels = { ...jsKernelSet.kernels };

/** The kernels in use now (one object, updated in place when kernels change). */
export function getKernels(): Readonly<Kernels> {
  return active;
}

/** The plain TypeScript kernels (the reference every faster kernel is tested against). */
export function plainKernels(): Readonly<Kernels> {
  return jsKernelSet.kernels;
}

/** The complete kernels of a set: its own, and the plain TypeScript ones for the rest. */
export function resolveKernelSet(set: KernelSet): Readonly<Kernels> {
  return { ...jsKernelSet.kernels, ...set.kernels };
}

/** The names of the registered kernel sets, 'js' first. */
export function listKernelSets(): string[] {
  return [...sets.keys()];
}

/** The name of the kernel set in use. */
export function activeKernelSet(): string {
  return current.name;
}

function checkKernelSet(set: KernelSet): void {
  const op = 'registerKernelSet';
  if (typeof set !== 'object' || set === null)
    throw new ArgumentError(`set must be an object { name, kernels, dispose? }, got ${String(set)}`, { op, argument: 'set' });
  if (typeof set.name !== 'string' || set.name === '')
    throw new ArgumentError(`set.name must be a non-empty string, got ${String(set.name)}`, { op, argument: 'set.name' });
  if (set.name === jsKernelSet.name && set !== jsKernelSet)
    throw new ArgumentError(`the name 'js' belongs to the plain TypeScript kernels`, { op, argument: 'set.name' });
  if (typeof set.kernels !== 'object' || set.kernels === null)
    throw new ArgumentError(`set.kernels of '${set.name}' must be an object, got ${String(set.kernels)}`, { op, argument: 'set.kernels' });
  for (const [key, kernel] of Object.entries(set.kernels)) {
    if (!KERNEL_NAMES.includes(key as keyof Kernels)) {
      throw new ArgumentError(`set '${set.name}' has an unknown kernel '${key}' (known: ${KERNEL_NAMES.join(', ')})`, {
        op,
        argument: `set.kernels.${key}`,
      });
    }
    if (typeof kernel !== 'function')
      throw new ArgumentError(`kernel '${key}' of set '${set.name}' must be a function, got ${typeof kernel}`, {
        op,
        argument: `set.kernels.${key}`,
      });
  }
  if (set.dispose !== undefined && typeof set.dispose !== 'function')
    throw new ArgumentError(`set.dispose of '${set.name}' must be a function`, { op, argument: 'set.dispose' });
}

/** Replaces the kernels the current set provided with those of `next` (kernels installed with setKernels stay). */
function switchTo(next: KernelSet): void {
  const nextKernels = resolveKernelSet(next);
  for (const key of KERNEL_NAMES) {
    if (active[key] === provided[key]) Object.assign(active, { [key]: nextKernels[key] });
  }
  current = next;
  provided = nextKernels;
}

/**
 * Registers a kernel set under its name (checked: known kernel names, functions). A set registered
 * again under the same name replaces the old one, which is disposed — and if it was in use, the new one
 * takes its place at once.
 */
export function registerKernelSet(set: KernelSet): void {
  checkKernelSet(set);
  const old = sets.get(set.name);
  if (old === set) return;
  sets.set(set.name, set);
  if (old === undefined) return;
  if (old === current) switchTo(set);
  old.dispose?.();
}

/**
 * Puts a registered set in use: ops reach its kernels (and the plain TypeScript ones for the rest)
 * from now on. Kernels installed with `setKernels` stay. The set it replaces stays registered (and
 * keeps what it holds) until it is unregistered or replaced under its name.
 */
export function useKernelSet(name: string): void {
  const next = sets.get(name);
  if (next === undefined) {
    throw new ArgumentError(`no kernel set named '${String(name)}' (registered: ${listKernelSets().join(', ')})`, {
      op: 'useKernelSet',
      argument: 'name',
    });
  }
  if (next !== current) switchTo(next);
}

/**
 * Forgets a registered set and disposes it (its workers stop); if it was in use, the plain TypeScript
 * kernels take its place. Unknown names are ignored; 'js' cannot be unregistered.
 */
export function unregisterKernelSet(name: string): void {
  if (name === jsKernelSet.name)
    throw new ArgumentError(`the plain TypeScript kernels ('js') cannot be unregistered`, { op: 'unregisterKernelSet', argument: 'name' });
  const set = sets.get(name);
  if (set === undefined) return;
  if (set === current) switchTo(jsKernelSet);
  sets.delete(name);
  set.dispose?.();
}

/**
 * Replaces some kernels on top of the set in use (e.g. a spy in a test); returns a function that puts
 * back what each of them replaced, where it is still in place.
 */
export function setKernels(kernels: Partial<Kernels>): () => void {
  const installed = { ...kernels };
  const previous: Partial<Kernels> = {};
  for (const key of Object.keys(installed) as (keyof Kernels)[]) Object.assign(previous, { [key]: active[key] });
  Object.assign(active, installed);
  return () => {
    for (const key of Object.keys(installed) as (keyof Kernels)[]) {
      if (active[key] === installed[key]) Object.assign(active, { [key]: previous[key] });
    }
  };
}
