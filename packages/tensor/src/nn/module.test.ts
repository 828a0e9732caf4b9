import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { StateDictError } from '../errors/state-dict-error';
import { sum } from '../ops/reduce';
import { tanh } from '../ops/unary';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectThrows } from '../testing/expect-throws';
import { Embedding } from './embedding';
import { Linear } from './linear';
import { Module } from './module';
import { Parameter } from './parameter';

// Shape letters: x [N, I]; the MLP maps [N, 3] -> [N, 2].

class Mlp extends Module {
  readonly layers: Linear[];
  readonly scale: Parameter;

  constructor(rng: Rng) {
    super();
    this.layers = [new Linear(3, 4, { rng }), new Linear(4, 2, { rng })];
    this.scale = new Parameter(new Float32Array([1, 1]), [2]);
  }

  /** [N, 3] -> [N, 2] */
  forward(x: Tensor): Tensor {
    const h = tanh(this.layers[0]!.forward(x)); // [N, 4]
    return this.layers[1]!.forward(h).mul(this.scale); // [N, 2]
  }
}

class Block extends Module {
  readonly attention: Linear;
  readonly gains: Parameter[];
  readonly notAParameter = { weight: new Parameter(new Float32Array(1), [1]) }; // plain objects are not walked
  readonly label = 'block';

  constructor(rng: Rng) {
    super();
    this.attention = new Linear(2, 2, { rng });
    this.gains = [new Parameter(new Float32Array(2), [2]), new Parameter(new Float32Array(2), [2])];
  }
}

class Net extends Module {
  readonly embed: Embedding;
  readonly blocks: Block[];
  readonly grid: Linear[][];
  readonly head: Linear;
  readonly tied: Parameter; // the embedding weight again (weight tying): listed once

  constructor(rng: Rng) {
    super();
    this.embed = new Embedding(5, 2, { rng });
    this.blocks = [new Block(rng), new Block(rng)];
    this.grid = [
      [new Linear(2, 2, { rng, bias: false })],
      [new Linear(2, 2, { rng, bias: false }), new Linear(2, 2, { rng, bias: false })],
    ];
    this.head = new Linear(2, 5, { rng });
    this.tied = this.embed.weight;
  }
}

describe('Module.namedParameters', () => {
  test('dotted names for nested modules and arrays, in declaration order', () => {
    const net = new Net(new Rng(0));
    expect(net.namedParameters().map(([name]) => name)).toEqual([
      'embed.weight',
      'blocks.0.attention.weight',
      'blocks.0.attention.bias',
      'blocks.0.gains.0',
      'blocks.0.gains.1',
      'blocks.1.attention.weight',
      'blocks.1.attention.bias',
      'blocks.1.gains.0',
      'blocks.1.gains.1',
      'grid.0.0.weight',
      'grid.1.0.weight',
      'grid.1.1.weight',
      'head.weight',
      'head.bias',
    ]);
  });

  test('an array of modules gives layers.0.weight, layers.1.bias, ...', () => {
    const mlp = new Mlp(new Rng(0));
    expect(mlp.namedParameters().map(([name, p]) => [name, p.shape])).toEqual([
      ['layers.0.weight', [4, 3]],
      ['layers.0.bias', [4]],
      ['layers.1.weight', [2, 4]],
      ['layers.1.bias', [2]],
      ['scale', [2]],
    ]);
    expect(mlp.namedParameters()[0]![1]).toBe(mlp.layers[0]!.weight);
  });

  test('a prefix is prepended', () => {
    expect(new Linear(2, 2, { rng: new Rng(0) }).namedParameters('encoder.').map(([n]) => n)).toEqual(['encoder.weight', 'encoder.bias']);
  });

  test('parameters() lists each parameter once, even when shared', () => {
    const net = new Net(new Rng(0));
    const params = net.parameters();
    expect(params.length).toBe(14);
    expect(new Set(params).size).toBe(14);
    expect(params.filter((p) => p === net.embed.weight).length).toBe(1);

    class Shared extends Module {
      readonly a: Linear;
      readonly b: Linear;
      constructor() {
        super();
        this.a = new Linear(2, 2, { rng: new Rng(0) });
        this.b = this.a; // same module twice
      }
    }
    expect(new Shared().namedParameters().map(([n]) => n)).toEqual(['a.weight', 'a.bias']);
  });
});

describe('Module modes and gradients', () => {
  test('modules() walks nested modules and arrays', () => {
    const net = new Net(new Rng(0));
    const modules = net.modules();
    expect(modules[0]).toBe(net);
    expect(modules).toContain(net.blocks[1]!.attention);
    expect(modules).toContain(net.grid[1]![1]);
    expect(modules.length).toBe(1 + 1 + 2 * 2 + 3 + 1);
  });

  test('train() and eval() propagate to every sub-module and return the module', () => {
    const net = new Net(new Rng(0));
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    expect(net.train()).toBe(net);
    expect(net.modules().every((m) => m.training)).toBe(true);
    net.train(false);
    expect(net.grid[1]![0]!.training).toBe(false);
  });

  test('zeroGrad clears every gradient', () => {
    const mlp = new Mlp(new Rng(1));
    sum(mlp.forward(randn([3, 3], new Rng(2)))).backward();
    expect(mlp.parameters().every((p) => p.grad !== null)).toBe(true);
    mlp.zeroGrad();
    expect(mlp.parameters().every((p) => p.grad === null)).toBe(true);
  });
});

describe('stateDict and loadStateDict', () => {
  test('stateDict holds copies keyed by name', () => {
    const mlp = new Mlp(new Rng(1));
    const state = mlp.stateDict();
    expect(Object.keys(state)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'scale']);
    expect(Array.from(state['layers.0.weight']!.data)).toEqual(Array.from(mlp.layers[0]!.weight.data));
    state['layers.0.weight']!.data[0] = 123;
    expect(mlp.layers[0]!.weight.data[0]).not.toBe(123);
  });

  test('round trip: a differently seeded model gives identical outputs after loading', () => {
    const source = new Mlp(new Rng(1));
    const target = new Mlp(new Rng(2));
    const x = randn([5, 3], new Rng(3)); // [N, 3]
    expect(Array.from(target.forward(x).data)).not.toEqual(Array.from(source.forward(x).data));
    target.loadStateDict(source.stateDict());
    expect(Array.from(target.forward(x).data)).toEqual(Array.from(source.forward(x).data));
    // loading copies: later changes to the source do not leak into the target
    source.layers[0]!.weight.data[0] = 99;
    expect(target.layers[0]!.weight.data[0]).not.toBe(99);
  });

  test('accepts plain { shape, data } records', () => {
    const lin = new Linear(2, 1, { rng: new Rng(0) });
    lin.loadStateDict({ weight: { shape: [1, 2], data: [3, 4] }, bias: { shape: [1], data: [5] } });
    expect(lin.forward(tensor([[1, 1]])).toArray()).toEqual([[12]]);
  });

  test('a wrong shape throws a StateDictError naming the key and both shapes, and changes nothing', () => {
    const mlp = new Mlp(new Rng(1));
    const before = mlp.stateDict();
    const state = new Mlp(new Rng(2)).stateDict();
    state['layers.1.weight'] = randn([4, 2], new Rng(0)); // transposed by mistake
    const error = expectThrows(() => mlp.loadStateDict(state), StateDictError);
    expect(error.message).toContain("'layers.1.weight'");
    expect(error.message).toContain('[4, 2]');
    expect(error.message).toContain('[2, 4]');
    expect(error.op).toBe('Mlp.loadStateDict');
    expect(error.argument).toBe('layers.1.weight');
    expect(error.keys).toEqual(['layers.1.weight']);
    expect(error.shapes).toEqual({ expected: [2, 4], got: [4, 2] });
    // keys before the bad one (layers.0.*) were not written either
    for (const [name, p] of mlp.namedParameters()) expect(Array.from(p.data)).toEqual(Array.from(before[name]!.data));
  });

  test('same size, different shape is still refused', () => {
    const lin = new Linear(2, 3, { rng: new Rng(0) });
    const error = expectThrows(
      () => lin.loadStateDict({ weight: randn([2, 3], new Rng(0)), bias: randn([3], new Rng(0)) }),
      StateDictError,
    );
    expect(error.keys).toEqual(['weight']);
  });

  test('missing and unexpected keys are named', () => {
    const mlp = new Mlp(new Rng(1));
    const before = mlp.stateDict();
    const state = mlp.stateDict();
    delete state['layers.0.bias'];
    state['layers.2.weight'] = randn([2, 2], new Rng(0));
    state['layers.0.weight'] = randn([4, 3], new Rng(9)); // a valid entry, must not be written
    const error = expectThrows(() => mlp.loadStateDict(state), StateDictError);
    expect(error.message).toContain('missing keys: layers.0.bias');
    expect(error.message).toContain('unexpected keys: layers.2.weight');
    expect(error.keys).toEqual(['layers.0.bias', 'layers.2.weight']);
    expect(Array.from(mlp.layers[0]!.weight.data)).toEqual(Array.from(before['layers.0.weight']!.data));

    const onlyMissing = expectThrows(() => mlp.loadStateDict({}), StateDictError);
    expect(onlyMissing.keys).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'scale']);
    expect(onlyMissing.message).not.toContain('unexpected');
  });

  test('strict: false loads what matches, skips unknown keys, still checks shapes', () => {
    const mlp = new Mlp(new Rng(1));
    mlp.loadStateDict({ scale: tensor([2, 3]), extra: tensor([1]) }, { strict: false });
    expect(Array.from(mlp.scale.data)).toEqual([2, 3]);
    expect(() => mlp.loadStateDict({ scale: tensor([1, 2, 3]) }, { strict: false })).toThrow(StateDictError);
  });

  test('null, undefined, {} and string entries are refused by key in strict mode, before anything is written', () => {
    for (const bad of [
      null,
      undefined,
      {},
      'abc',
      { shape: [2], data: 'ab' },
      { shape: [2], data: ['1', '2'] },
      { shape: null, data: [1, 2] },
    ]) {
      const mlp = new Mlp(new Rng(1));
      const before = mlp.stateDict();
      const state: Record<string, unknown> = { ...new Mlp(new Rng(2)).stateDict(), scale: bad };
      const error = expectThrows(() => mlp.loadStateDict(state as Parameters<Mlp['loadStateDict']>[0]), StateDictError);
      expect([error.op, error.argument, error.keys]).toEqual(['Mlp.loadStateDict', 'scale', ['scale']]);
      expect(error.message).toContain("key 'scale'");
      for (const [name, p] of mlp.namedParameters()) expect(Array.from(p.data)).toEqual(Array.from(before[name]!.data));
    }
    const mlp = new Mlp(new Rng(1));
    expect(expectThrows(() => mlp.loadStateDict(null as unknown as Record<string, Tensor>), StateDictError).argument).toBe('state');
    // strict: false skips unknown keys whatever they hold, but not a bad value under a known key
    mlp.loadStateDict({ scale: tensor([2, 3]), extra: null as unknown as Tensor }, { strict: false });
    expect(() => mlp.loadStateDict({ scale: null as unknown as Tensor }, { strict: false })).toThrow(StateDictError);
  });

  test('NaN and ±Infinity weights are refused, naming key and index, unless allowNonFinite', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const mlp = new Mlp(new Rng(1));
      const before = mlp.stateDict();
      const state = new Mlp(new Rng(2)).stateDict();
      state['layers.1.bias']!.data[1] = bad;
      const error = expectThrows(() => mlp.loadStateDict(state), StateDictError);
      expect([error.op, error.argument]).toEqual(['Mlp.loadStateDict', 'layers.1.bias']);
      expect(error.message).toContain(`holds ${bad} at index 1`);
      expect(error.message).toContain('allowNonFinite');
      for (const [name, p] of mlp.namedParameters()) expect(Array.from(p.data)).toEqual(Array.from(before[name]!.data));
      mlp.loadStateDict(state, { allowNonFinite: true });
      expect(mlp.layers[1]!.bias!.data[1]).toBe(bad);
    }
    const lin = new Linear(2, 1, { rng: new Rng(0) });
    expect(() => lin.loadStateDict({ weight: { shape: [1, 2], data: [3, NaN] }, bias: { shape: [1], data: [5] } })).toThrow(
      "key 'weight' holds NaN at index 1",
    );
  });
});
