import { moveInPlace } from '../device/to-device';
import { StateDictError } from '../errors/state-dict-error';
import type { Tensor } from '../tensor';
import { checkStateDictEntry, type StateDictValue, type StateDictValueOptions } from './check-state-dict-entry';
import { Parameter } from './parameter';

/**
 * Base class of every layer: parameters and sub-modules are plain fields (arrays of them too);
 * `namedParameters()` walks them in declaration order with dotted names (`attention.query.weight`).
 */
export abstract class Module {
  /** Training mode (dropout on). `eval()` turns it off for this module and all below. */
  training = true;

  /** `[name, parameter]` pairs, walking fields, sub-modules and arrays. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    const visit = (value: unknown, name: string): void => {
      if (value instanceof Parameter) {
        if (!seen.has(value)) {
          seen.add(value);
          out.push([name, value]);
        }
      } else if (value instanceof Module) {
        for (const [n, p] of value.namedParameters(`${name}.`)) {
          if (!seen.has(p)) {
            seen.add(p);
            out.push([n, p]);
          }
        }
      } else if (Array.isArray(value)) {
        value.forEach((item, i) => visit(item, `${name}.${i}`));
      }
    };
    for (const [key, value] of Object.entries(this)) visit(value, `${prefix}${key}`);
    return out;
  }

  /** Every learnable parameter, once each. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Direct and nested sub-modules. */
  modules(): Module[] {
    const out: Module[] = [this];
    const visit = (value: unknown): void => {
      if (value instanceof Module) out.push(...value.modules());
      else if (Array.isArray(value)) value.forEach(visit);
    };
    for (const value of Object.values(this)) visit(value);
    return out;
  }

  /** Sets training mode here and below; returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (no dropout); returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter (with its gradient) to `device` — 'cpu' or a registered backend such as 'webgpu' — in
   * place: the same Parameter objects, so an optimizer made before keeps working. Resolves to this.
   */
  async toDevice(device: string): Promise<this> {
    for (const p of this.parameters()) await moveInPlace(p, device);
    return this;
  }

  /** Clears the gradient of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Copies of every parameter, by dotted name. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, p] of this.namedParameters()) out[name] = p.clone();
    return out;
  }

  /**
   * Copies values into the parameters by name. Every key must exist and every shape match; every value
   * must be a Tensor or `{ shape, data }` of finite numbers (NaN/±Infinity only with `allowNonFinite`).
   * Nothing is written unless all of them pass (a failed load leaves the module unchanged).
   */
  loadStateDict(state: Record<string, Tensor | StateDictValue>, options: { strict?: boolean } & StateDictValueOptions = {}): void {
    const strict = options.strict ?? true;
    const own = new Map(this.namedParameters());
    const op = `${this.constructor.name}.loadStateDict`;
    if (typeof state !== 'object' || state === null) {
      throw new StateDictError(`state must be an object of tensors by name, got ${state === null ? 'null' : typeof state}`, {
        op,
        argument: 'state',
        keys: [],
      });
    }
    const missing = [...own.keys()].filter((k) => !(k in state));
    const extra = Object.keys(state).filter((k) => !own.has(k));
    if (strict && (missing.length > 0 || extra.length > 0)) {
      const parts = [];
      if (missing.length) parts.push(`missing keys: ${missing.join(', ')}`);
      if (extra.length) parts.push(`unexpected keys: ${extra.join(', ')}`);
      throw new StateDictError(`${parts.join('; ')} (module has: ${[...own.keys()].join(', ')})`, {
        op,
        argument: 'state',
        keys: [...missing, ...extra],
      });
    }
    const checked: [Tensor, StateDictValue][] = [];
    for (const [key, value] of Object.entries(state)) {
      const p = own.get(key);
      if (p) checked.push([p, checkStateDictEntry(op, key, value, p.shape, options)]);
    }
    for (const [p, value] of checked) p.data.set(value.data);
  }
}
