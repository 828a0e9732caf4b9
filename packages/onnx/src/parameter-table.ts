import { ConfigError } from '@heed/tensor';
import type { Module, Parameter } from '@heed/tensor';
import type { GraphBuilder } from './graph-builder';

/**
 * Weights as initializers under heed's parameter names (`module.namedParameters()`): each parameter is
 * written once, the first time the graph uses it, with its shape and current values.
 */
export class ParameterTable {
  readonly #names = new Map<Parameter, string>();
  readonly #written = new Map<Parameter, string>();

  constructor(
    private readonly graph: GraphBuilder,
    named: readonly [string, Parameter][],
  ) {
    for (const [name, parameter] of named) this.#names.set(parameter, name);
  }

  /** The initializer of `parameter` (named as in the module, or `fallbackName` for one outside it). */
  use(parameter: Parameter, fallbackName: string): string {
    const written = this.#written.get(parameter);
    if (written) return written;
    const name = this.graph.initializer(
      this.#names.get(parameter) ?? fallbackName,
      'float',
      parameter.shape,
      Float32Array.from(parameter.data),
    );
    this.#written.set(parameter, name);
    return name;
  }

  /** `use` for a sub-module's parameter by its path inside that module (e.g. 'W.weight' of a scorer). */
  useIn(owner: Module, path: string, ownerPrefix: string): string {
    const found = owner.namedParameters().find(([name]) => name === path);
    if (!found) throw new ConfigError(`${owner.constructor.name} has no parameter '${path}'`, { op: 'exportToOnnx', argument: 'scorer' });
    return this.use(found[1], `${ownerPrefix}${path}`);
  }
}
