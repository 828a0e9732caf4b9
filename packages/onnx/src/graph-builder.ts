import { ArgumentError } from '@heed/tensor';
import type { OnnxAttributeValue, OnnxElementType, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo } from './onnx-model';

export interface OpOptions {
  /** '' (ai.onnx, default) or 'com.microsoft'. */
  domain?: string;
  /** Attribute names to write as FLOAT even when their value is an integer (e.g. a scale of 1). */
  floatAttributes?: readonly string[];
  /** A readable prefix for the output names (default: the op type). */
  name?: string;
}

/**
 * Builds an ONNX graph one node at a time: every `op` call returns the name of its (new, unique) output,
 * so the export code reads like the computation. Initializers keep the names they are given (heed's
 * parameter names); constants get generated names.
 */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  /** The operator-set domains the nodes use, besides the default one. */
  readonly domains = new Set<string>();
  readonly #used = new Set<string>();
  readonly #counts = new Map<string, number>();

  constructor(readonly name: string) {}

  /** A name not used yet, from `hint`. */
  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_.:/-]/g, '_');
    let name = base;
    while (this.#used.has(name)) {
      const n = (this.#counts.get(base) ?? 0) + 1;
      this.#counts.set(base, n);
      name = `${base}_${n}`;
    }
    this.#used.add(name);
    return name;
  }

  /** A graph input; `name` is kept as given. */
  input(name: string, type: OnnxElementType, shape: readonly (number | string)[]): string {
    this.#claim(name);
    this.inputs.push({ name, type, shape });
    return name;
  }

  /** Marks `value` as a graph output called `name` (an Identity node renames it when needed). */
  output(value: string, name: string, type: OnnxElementType, shape: readonly (number | string)[]): void {
    if (value !== name) {
      this.#claim(name);
      this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name], name });
    }
    this.outputs.push({ name, type, shape });
  }

  /** A named initializer (a weight under its heed parameter name). */
  initializer(name: string, type: OnnxElementType, dims: readonly number[], data: OnnxTensor['data']): string {
    this.#claim(name);
    return this.#addInitializer(name, type, dims, data);
  }

  /** A float constant (scalar when `dims` is omitted and one value is given). */
  float(values: number | readonly number[], dims?: readonly number[], hint = 'const'): string {
    const list = typeof values === 'number' ? [values] : values;
    const shape = dims ?? (typeof values === 'number' ? [] : [list.length]);
    return this.#addInitializer(this.fresh(hint), 'float', shape, Float32Array.from(list));
  }

  /** A 1-D int64 constant (shapes, axes, indices). */
  int64s(values: readonly number[], hint = 'ints'): string {
    return this.#addInitializer(this.fresh(hint), 'int64', [values.length], values);
  }

  /** A 1-D int32 constant (the lengths ONNX Runtime's contrib ops take). */
  int32s(values: readonly number[], hint = 'ints'): string {
    return this.#addInitializer(this.fresh(hint), 'int32', [values.length], Int32Array.from(values));
  }

  /** A scalar int64 constant. */
  int64(value: number, hint = 'int'): string {
    return this.#addInitializer(this.fresh(hint), 'int64', [], [value]);
  }

  /** One node with one output; returns the output's name. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, OnnxAttributeValue>> = {},
    options: OpOptions = {},
  ): string {
    return this.ops(opType, inputs, 1, attributes, options)[0]!;
  }

  /** One node with `outputCount` outputs; returns their names. */
  ops(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Readonly<Record<string, OnnxAttributeValue>> = {},
    options: OpOptions = {},
  ): string[] {
    const hint = options.name ?? opType;
    const outputs = Array.from({ length: outputCount }, (_, i) => this.fresh(outputCount === 1 ? hint : `${hint}_out${i}`));
    if (options.domain) this.domains.add(options.domain);
    this.nodes.push({
      opType,
      inputs,
      outputs,
      name: outputs[0],
      attributes,
      ...(options.domain ? { domain: options.domain } : {}),
      ...(options.floatAttributes ? { floatAttributes: options.floatAttributes } : {}),
    });
    return outputs;
  }

  build(): OnnxGraph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  #addInitializer(name: string, type: OnnxElementType, dims: readonly number[], data: OnnxTensor['data']): string {
    this.initializers.push({ name, type, dims, data });
    return name;
  }

  #claim(name: string): void {
    if (this.#used.has(name))
      throw new ArgumentError(`the name "${name}" is already used in graph ${this.name}`, { op: 'GraphBuilder', argument: 'name' });
    this.#used.add(name);
  }
}
