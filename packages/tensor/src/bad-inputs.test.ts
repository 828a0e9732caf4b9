import { afterAll, describe, expect, it } from 'vitest';
import { expectHeedError } from './testing/expect-heed-error';
import { arange, full, ones, onesLike, rand, randn, tensor, zeros, zerosLike } from './creation';
import { ArgumentError } from './errors/argument-error';
import { ConfigError } from './errors/config-error';
import type { HeedError } from './errors/heed-error';
import { ShapeError } from './errors/shape-error';
import { StateDictError } from './errors/state-dict-error';
import { expectTensor } from './expect-tensor';
// The kernel switches through the barrel, wherever the kernel files live.
import { plainKernels, setKernels, useJsKernels, useWasmKernels } from './index';
import { Embedding } from './nn/embedding';
import { Linear } from './nn/linear';
import { Parameter } from './nn/parameter';
import { add, div, maximum, mul, pow, sub } from './ops/binary';
import { broadcastTo } from './ops/broadcast-to';
import { concat } from './ops/concat';
import { dropout } from './ops/dropout';
import { embedding, gather } from './ops/gather';
import { linear } from './ops/linear';
import { scaledDotProductAttention } from './ops/scaled-dot-product-attention';
import { crossEntropy, mseLoss } from './ops/losses';
import { matmul } from './ops/matmul';
import { permute, transpose } from './ops/permute';
import { max, mean, min, sum } from './ops/reduce';
import { reshape, squeeze, unsqueeze } from './ops/reshape';
import { slice, split } from './ops/slice';
import { logSoftmax, softmax } from './ops/softmax';
import { sumToShape } from './ops/sum-to-shape';
import { abs, exp, log, neg, relu, sigmoid, sqrt, tanh } from './ops/unary';
import { maskedFill, where } from './ops/where';
import { Adam } from './optim/adam';
import { clipGradNorm } from './optim/clip-grad-norm';
import { SGD } from './optim/sgd';
import { Rng } from './rng';
import { Tensor } from './tensor';

// Every public entry point of @heed/tensor given what a hurried user passes: nested arrays where a
// Tensor goes, null, strings, options left out, no rng. Each row must end in the named HeedError
// subclass with the call's own name as `op` and the argument at fault — never a TypeError or
// RangeError from deep inside, never NaN — and on every kernel set.

// Loose on purpose: the rows pass wrong types through the typed API, as JavaScript callers can.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;
const bad = (x: unknown): Loose => x;

const t = (shape: number[]): Tensor => randn(shape, new Rng(0));
const nested = [
  [1, 2],
  [3, 4],
];

interface Row {
  call: () => unknown;
  error: abstract new (...args: never[]) => HeedError;
  op: string;
  argument: string;
  shapes?: Record<string, readonly number[]>;
}

const rows: Record<string, Row> = {
  // creation
  'tensor(null)': { call: () => tensor(bad(null)), error: ArgumentError, op: 'tensor', argument: 'values' },
  'tensor(undefined)': { call: () => tensor(bad(undefined)), error: ArgumentError, op: 'tensor', argument: 'values' },
  "tensor('abc') (would be NaN)": { call: () => tensor(bad('abc')), error: ArgumentError, op: 'tensor', argument: 'values' },
  'tensor({})': { call: () => tensor(bad({})), error: ArgumentError, op: 'tensor', argument: 'values' },
  "tensor([[1, 'x']])": { call: () => tensor(bad([[1, 'x']])), error: ShapeError, op: 'tensor', argument: 'values' },
  'tensor([[1, 2], [3]]) ragged': { call: () => tensor([[1, 2], [3]]), error: ShapeError, op: 'tensor', argument: 'values' },
  "tensor([1, 2], 'ab')": { call: () => tensor([1, 2], bad('ab')), error: ArgumentError, op: 'tensor', argument: 'shape' },
  'tensor([1, 2], [3])': {
    call: () => tensor([1, 2], [3]),
    error: ShapeError,
    op: 'tensor',
    argument: 'shape',
    shapes: { values: [2], shape: [3] },
  },
  'tensor([1], undefined, null) options': {
    call: () => tensor([1], undefined, bad(null)),
    error: ArgumentError,
    op: 'tensor',
    argument: 'options',
  },
  'new Tensor(plain Array)': { call: () => new Tensor(bad([1, 2]), [2]), error: ArgumentError, op: 'Tensor', argument: 'data' },
  'new Tensor(null)': { call: () => new Tensor(bad(null), [0]), error: ArgumentError, op: 'Tensor', argument: 'data' },
  'new Tensor(Float64Array)': {
    call: () => new Tensor(bad(new Float64Array(2)), [2]),
    error: ArgumentError,
    op: 'Tensor',
    argument: 'data',
  },
  'new Tensor(data, null shape)': {
    call: () => new Tensor(new Float32Array(2), bad(null)),
    error: ArgumentError,
    op: 'Tensor',
    argument: 'shape',
  },
  'new Tensor(data, wrong size)': {
    call: () => new Tensor(new Float32Array(2), [3]),
    error: ShapeError,
    op: 'Tensor',
    argument: 'data',
    shapes: { shape: [3] },
  },
  'zeros(null)': { call: () => zeros(bad(null)), error: ArgumentError, op: 'zeros', argument: 'shape' },
  'zeros([-1])': { call: () => zeros([-1]), error: ArgumentError, op: 'zeros', argument: 'shape', shapes: { shape: [-1] } },
  'ones([2.5])': { call: () => ones([2.5]), error: ArgumentError, op: 'ones', argument: 'shape' },
  "full([2], 'x')": { call: () => full([2], bad('x')), error: ArgumentError, op: 'full', argument: 'value' },
  'zerosLike([[1]])': { call: () => zerosLike(bad([[1]])), error: ArgumentError, op: 'zerosLike', argument: 't' },
  'onesLike(null)': { call: () => onesLike(bad(null)), error: ArgumentError, op: 'onesLike', argument: 't' },
  'arange(0, Infinity)': { call: () => arange(0, Infinity), error: ArgumentError, op: 'arange', argument: 'end' },
  'arange(NaN)': { call: () => arange(NaN), error: ArgumentError, op: 'arange', argument: 'end' },
  "arange('3')": { call: () => arange(bad('3')), error: ArgumentError, op: 'arange', argument: 'end' },
  'arange(0, 1e12)': { call: () => arange(0, 1e12), error: ArgumentError, op: 'arange', argument: 'end' },
  'arange(0, 5, 0)': { call: () => arange(0, 5, 0), error: ArgumentError, op: 'arange', argument: 'step' },
  'randn([2]) without rng': { call: () => randn([2], bad(undefined)), error: ArgumentError, op: 'randn', argument: 'rng' },
  'randn([2], 42)': { call: () => randn([2], bad(42)), error: ArgumentError, op: 'randn', argument: 'rng' },
  'rand([2]) without rng': { call: () => rand([2], bad(undefined)), error: ArgumentError, op: 'rand', argument: 'rng' },
  'rand([2], rng, NaN)': { call: () => rand([2], new Rng(0), NaN), error: ArgumentError, op: 'rand', argument: 'low' },
  'new Rng()': { call: () => new Rng(bad(undefined)), error: ArgumentError, op: 'Rng', argument: 'seed' },
  "new Rng('7')": { call: () => new Rng(bad('7')), error: ArgumentError, op: 'Rng', argument: 'seed' },

  // ops given nested arrays, null, strings
  'matmul(nested, tensor)': { call: () => matmul(bad(nested), t([2, 2])), error: ArgumentError, op: 'matmul', argument: 'a' },
  'matmul(tensor, nested)': { call: () => matmul(t([2, 2]), bad(nested)), error: ArgumentError, op: 'matmul', argument: 'b' },
  'scaledDotProductAttention(q, k, v, null)': {
    call: () => scaledDotProductAttention(t([2, 4]), t([3, 4]), t([3, 4]), bad(null)),
    error: ArgumentError,
    op: 'scaledDotProductAttention',
    argument: 'options',
  },
  'scaledDotProductAttention(nested, k, v)': {
    call: () => scaledDotProductAttention(bad([[1]]), t([3, 4]), t([3, 4])),
    error: ArgumentError,
    op: 'scaledDotProductAttention',
    argument: 'query',
  },
  'matmul(tensor, null)': { call: () => matmul(t([2, 2]), bad(null)), error: ArgumentError, op: 'matmul', argument: 'b' },
  'matmul [2, 3] x [2, 3]': {
    call: () => matmul(t([2, 3]), t([2, 3])),
    error: ShapeError,
    op: 'matmul',
    argument: 'b',
    shapes: { a: [2, 3], b: [2, 3] },
  },
  'matmul rank 1': { call: () => matmul(t([3]), t([3, 2])), error: ShapeError, op: 'matmul', argument: 'a', shapes: { a: [3], b: [3, 2] } },
  'add(nested, 1)': { call: () => add(bad(nested), 1), error: ArgumentError, op: 'add', argument: 'a' },
  "add(tensor, '1')": { call: () => add(t([2]), bad('1')), error: ArgumentError, op: 'add', argument: 'b' },
  'sub(null, tensor)': { call: () => sub(bad(null), t([2])), error: ArgumentError, op: 'sub', argument: 'a' },
  'mul(tensor, undefined)': { call: () => mul(t([2]), bad(undefined)), error: ArgumentError, op: 'mul', argument: 'b' },
  'div([1, 2], tensor)': { call: () => div(bad([1, 2]), t([2])), error: ArgumentError, op: 'div', argument: 'a' },
  'pow(tensor, [2])': { call: () => pow(t([2]), bad([2])), error: ArgumentError, op: 'pow', argument: 'b' },
  'maximum({}, tensor)': { call: () => maximum(bad({}), t([2])), error: ArgumentError, op: 'maximum', argument: 'a' },
  'add [2, 3] + [4]': { call: () => add(t([2, 3]), t([4])), error: ShapeError, op: 'add', argument: 'b', shapes: { a: [2, 3], b: [4] } },
  'neg(nested)': { call: () => neg(bad(nested)), error: ArgumentError, op: 'neg', argument: 'x' },
  'exp(null)': { call: () => exp(bad(null)), error: ArgumentError, op: 'exp', argument: 'x' },
  'log(3)': { call: () => log(bad(3)), error: ArgumentError, op: 'log', argument: 'x' },
  "tanh('x')": { call: () => tanh(bad('x')), error: ArgumentError, op: 'tanh', argument: 'x' },
  'sigmoid(undefined)': { call: () => sigmoid(bad(undefined)), error: ArgumentError, op: 'sigmoid', argument: 'x' },
  'relu(nested)': { call: () => relu(bad(nested)), error: ArgumentError, op: 'relu', argument: 'x' },
  'sqrt(Float32Array)': { call: () => sqrt(bad(new Float32Array(2))), error: ArgumentError, op: 'sqrt', argument: 'x' },
  'abs(nested)': { call: () => abs(bad(nested)), error: ArgumentError, op: 'abs', argument: 'x' },
  'sum(nested)': { call: () => sum(bad(nested)), error: ArgumentError, op: 'sum', argument: 'x' },
  'mean(null)': { call: () => mean(bad(null)), error: ArgumentError, op: 'mean', argument: 'x' },
  'max(nested)': { call: () => max(bad(nested)), error: ArgumentError, op: 'max', argument: 'x' },
  'min(nested)': { call: () => min(bad(nested)), error: ArgumentError, op: 'min', argument: 'x' },
  'sum axis 5': { call: () => sum(t([2, 3]), 5), error: ArgumentError, op: 'sum', argument: 'axes' },
  'softmax(nested)': { call: () => softmax(bad(nested)), error: ArgumentError, op: 'softmax', argument: 'x' },
  'logSoftmax(null)': { call: () => logSoftmax(bad(null)), error: ArgumentError, op: 'logSoftmax', argument: 'x' },
  "softmax axis '1'": { call: () => softmax(t([2, 3]), bad('1')), error: ArgumentError, op: 'softmax', argument: 'axis' },
  'reshape(nested)': { call: () => reshape(bad(nested), [4]), error: ArgumentError, op: 'reshape', argument: 'x' },
  "reshape(x, '4')": { call: () => reshape(t([2, 2]), bad('4')), error: ArgumentError, op: 'reshape', argument: 'shape' },
  'unsqueeze(null)': { call: () => unsqueeze(bad(null), 0), error: ArgumentError, op: 'unsqueeze', argument: 'x' },
  'squeeze(nested)': { call: () => squeeze(bad(nested)), error: ArgumentError, op: 'squeeze', argument: 'x' },
  'permute(nested)': { call: () => permute(bad(nested), [1, 0]), error: ArgumentError, op: 'permute', argument: 'x' },
  'permute(x, null)': { call: () => permute(t([2, 2]), bad(null)), error: ArgumentError, op: 'permute', argument: 'axes' },
  'transpose(nested)': { call: () => transpose(bad(nested)), error: ArgumentError, op: 'transpose', argument: 'x' },
  'broadcastTo(nested)': { call: () => broadcastTo(bad(nested), [2, 2]), error: ArgumentError, op: 'broadcastTo', argument: 'x' },
  'broadcastTo(x, 4)': { call: () => broadcastTo(t([1]), bad(4)), error: ArgumentError, op: 'broadcastTo', argument: 'shape' },
  'concat(null)': { call: () => concat(bad(null)), error: ArgumentError, op: 'concat', argument: 'tensors' },
  'concat([tensor, nested])': { call: () => concat([t([2]), bad([1, 2])]), error: ArgumentError, op: 'concat', argument: 'tensors[1]' },
  'concat([])': { call: () => concat([]), error: ArgumentError, op: 'concat', argument: 'tensors' },
  'slice(nested)': { call: () => slice(bad(nested), 0, 0, 1), error: ArgumentError, op: 'slice', argument: 'x' },
  'split(null)': { call: () => split(bad(null), 1), error: ArgumentError, op: 'split', argument: 'x' },
  "split(x, '1')": { call: () => split(t([2]), bad('1')), error: ArgumentError, op: 'split', argument: 'sizes' },
  'where(nested, 1, 0)': { call: () => where(bad(nested), 1, 0), error: ArgumentError, op: 'where', argument: 'condition' },
  'where(c, nested, 0)': { call: () => where(t([2]), bad([1, 2]), 0), error: ArgumentError, op: 'where', argument: 'a' },
  'maskedFill(nested)': { call: () => maskedFill(bad(nested), t([2, 2]), 0), error: ArgumentError, op: 'maskedFill', argument: 'x' },
  'maskedFill(x, null)': { call: () => maskedFill(t([2]), bad(null), 0), error: ArgumentError, op: 'maskedFill', argument: 'mask' },
  "maskedFill(x, mask, '-inf')": {
    call: () => maskedFill(t([2]), t([2]), bad('-inf')),
    error: ArgumentError,
    op: 'maskedFill',
    argument: 'value',
    shapes: { x: [2] },
  },
  'gather(nested)': { call: () => gather(bad(nested), 0, t([1, 2])), error: ArgumentError, op: 'gather', argument: 'x' },
  'gather(x, 0, [[0]])': { call: () => gather(t([2, 2]), 0, bad([[0]])), error: ArgumentError, op: 'gather', argument: 'index' },
  'embedding(nested)': { call: () => embedding(bad(nested), [0]), error: ArgumentError, op: 'embedding', argument: 'weight' },
  "embedding(w, 'ab')": { call: () => embedding(t([3, 2]), bad('ab')), error: ArgumentError, op: 'embedding', argument: 'indices' },
  'embedding(w, [7])': {
    call: () => embedding(t([3, 2]), [7]),
    error: ArgumentError,
    op: 'embedding',
    argument: 'indices',
    shapes: { weight: [3, 2], indices: [1] },
  },
  'linear(nested, w)': { call: () => linear(bad(nested), t([2, 2])), error: ArgumentError, op: 'linear', argument: 'x' },
  'linear(x, nested)': { call: () => linear(t([1, 2]), bad(nested)), error: ArgumentError, op: 'linear', argument: 'weight' },
  'linear(x, w, [1, 2])': { call: () => linear(t([1, 2]), t([2, 2]), bad([1, 2])), error: ArgumentError, op: 'linear', argument: 'bias' },
  'linear [1, 3] x [2, 2]': {
    call: () => linear(t([1, 3]), t([2, 2])),
    error: ShapeError,
    op: 'linear',
    argument: 'x',
    shapes: { x: [1, 3], weight: [2, 2] },
  },
  'crossEntropy(nested, [0])': {
    call: () => crossEntropy(bad(nested), [0, 1]),
    error: ArgumentError,
    op: 'crossEntropy',
    argument: 'logits',
  },
  "crossEntropy(logits, 'ab')": {
    call: () => crossEntropy(t([2, 3]), bad('ab')),
    error: ArgumentError,
    op: 'crossEntropy',
    argument: 'targets',
  },
  'mseLoss(nested, t)': { call: () => mseLoss(bad(nested), t([2, 2])), error: ArgumentError, op: 'mseLoss', argument: 'prediction' },
  'mseLoss(t, null)': { call: () => mseLoss(t([2, 2]), bad(null)), error: ArgumentError, op: 'mseLoss', argument: 'target' },
  'sumToShape(nested)': { call: () => sumToShape(bad(nested), [2]), error: ArgumentError, op: 'sumToShape', argument: 'grad' },
  'dropout(nested)': { call: () => dropout(bad(nested), 0.5, new Rng(0)), error: ArgumentError, op: 'dropout', argument: 'x' },
  'dropout(x, 0.5) without rng': { call: () => dropout(t([4]), 0.5, bad(undefined)), error: ArgumentError, op: 'dropout', argument: 'rng' },
  'dropout(x, 1.5)': {
    call: () => dropout(t([4]), 1.5, new Rng(0)),
    error: ArgumentError,
    op: 'dropout',
    argument: 'p',
    shapes: { x: [4] },
  },
  "dropout(x, 'x')": {
    call: () => dropout(t([4]), bad('x'), new Rng(0)),
    error: ArgumentError,
    op: 'dropout',
    argument: 'p',
    shapes: { x: [4] },
  },
  'expectTensor(nested)': { call: () => expectTensor('myOp', 'input', nested), error: ArgumentError, op: 'myOp', argument: 'input' },

  // Tensor methods
  'x.backward(nested)': {
    call: () => tensor([1, 2], undefined, { requiresGrad: true }).backward(bad([1, 1])),
    error: ArgumentError,
    op: 'backward',
    argument: 'grad',
    shapes: { this: [2] },
  },
  'x.matmul(nested)': { call: () => t([2, 2]).matmul(bad(nested)), error: ArgumentError, op: 'matmul', argument: 'b' },
  "x.add('1')": { call: () => t([2]).add(bad('1')), error: ArgumentError, op: 'add', argument: 'b' },

  // optimizers
  'SGD(one Parameter)': {
    call: () => new SGD(bad(new Parameter(new Float32Array(2), [2])), { lr: 0.1 }),
    error: ConfigError,
    op: 'SGD',
    argument: 'params',
  },
  'SGD(undefined)': { call: () => new SGD(bad(undefined), { lr: 0.1 }), error: ConfigError, op: 'SGD', argument: 'params' },
  'SGD(params) without options': {
    call: () => new SGD(new Linear(2, 2).parameters(), bad(undefined)),
    error: ConfigError,
    op: 'SGD',
    argument: 'options',
  },
  'SGD(params, {})': { call: () => new SGD(new Linear(2, 2).parameters(), bad({})), error: ConfigError, op: 'SGD', argument: 'lr' },
  'SGD([tensor])': { call: () => new SGD(bad([t([2])]), { lr: 0.1 }), error: ConfigError, op: 'SGD', argument: 'params' },
  'Adam(one Parameter)': {
    call: () => new Adam(bad(new Parameter(new Float32Array(2), [2]))),
    error: ConfigError,
    op: 'Adam',
    argument: 'params',
  },
  'Adam(undefined)': { call: () => new Adam(bad(undefined)), error: ConfigError, op: 'Adam', argument: 'params' },
  'Adam(params, null)': {
    call: () => new Adam(new Linear(2, 2).parameters(), bad(null)),
    error: ConfigError,
    op: 'Adam',
    argument: 'options',
  },
  'Adam betas 0.9': {
    call: () => new Adam(new Linear(2, 2).parameters(), { betas: bad(0.9) }),
    error: ConfigError,
    op: 'Adam',
    argument: 'betas',
  },
  'Adam lr NaN': { call: () => new Adam(new Linear(2, 2).parameters(), { lr: NaN }), error: ConfigError, op: 'Adam', argument: 'lr' },
  "Adam option 'weight_decay'": {
    call: () => new Adam(new Linear(2, 2).parameters(), bad({ lr: 0.1, weight_decay: 0.01 })),
    error: ConfigError,
    op: 'Adam',
    argument: 'weight_decay',
  },
  "SGD option 'momentun'": {
    call: () => new SGD(new Linear(2, 2).parameters(), bad({ lr: 0.1, momentun: 0.9 })),
    error: ConfigError,
    op: 'SGD',
    argument: 'momentun',
  },
  "Linear option 'biased'": { call: () => new Linear(2, 2, bad({ biased: false })), error: ConfigError, op: 'Linear', argument: 'biased' },
  'clipGradNorm(undefined, 1)': { call: () => clipGradNorm(bad(undefined), 1), error: ConfigError, op: 'clipGradNorm', argument: 'params' },
  'clipGradNorm(params, 0)': { call: () => clipGradNorm([], 0), error: ArgumentError, op: 'clipGradNorm', argument: 'maxNorm' },

  // state dicts
  'loadStateDict({ weight: null })': {
    call: () => new Linear(2, 1).loadStateDict(bad({ weight: null, bias: tensor([0]) })),
    error: StateDictError,
    op: 'Linear.loadStateDict',
    argument: 'weight',
  },
  'loadStateDict({ weight: {} })': {
    call: () => new Linear(2, 1).loadStateDict(bad({ weight: {}, bias: tensor([0]) })),
    error: StateDictError,
    op: 'Linear.loadStateDict',
    argument: 'weight',
  },
  'loadStateDict NaN weight': {
    call: () => new Linear(2, 1).loadStateDict({ weight: tensor([[NaN, 1]]), bias: tensor([0]) }),
    error: StateDictError,
    op: 'Linear.loadStateDict',
    argument: 'weight',
  },
  'loadStateDict(null)': {
    call: () => new Linear(2, 1).loadStateDict(bad(null)),
    error: StateDictError,
    op: 'Linear.loadStateDict',
    argument: 'state',
  },
  // module and optimizer options of the wrong type or range (constructors)
  'Linear(2, 3, null)': { call: () => new Linear(2, 3, bad(null)), error: ConfigError, op: 'Linear', argument: 'options' },
  'Linear(2, 3, 5)': { call: () => new Linear(2, 3, bad(5)), error: ConfigError, op: 'Linear', argument: 'options' },
  "Linear bias 'yes'": { call: () => new Linear(2, 3, { bias: bad('yes') }), error: ConfigError, op: 'Linear', argument: 'bias' },
  'Linear rng 5': { call: () => new Linear(2, 3, { rng: bad(5) }), error: ConfigError, op: 'Linear', argument: 'rng' },
  "Linear '2' features": { call: () => new Linear(bad('2'), 3), error: ConfigError, op: 'Linear', argument: 'inFeatures' },
  'Linear 1e9 × 1e9 (no Float32Array holds it)': {
    call: () => new Linear(1e9, 1e9),
    error: ConfigError,
    op: 'Linear',
    argument: 'outFeatures',
  },
  'Embedding(3, 2, null)': { call: () => new Embedding(3, 2, bad(null)), error: ConfigError, op: 'Embedding', argument: 'options' },
  'Embedding rng {}': { call: () => new Embedding(3, 2, { rng: bad({}) }), error: ConfigError, op: 'Embedding', argument: 'rng' },
  'Embedding NaN': { call: () => new Embedding(NaN, 2), error: ConfigError, op: 'Embedding', argument: 'numEmbeddings' },
  'Embedding 1e9 × 1e9': { call: () => new Embedding(1e9, 1e9), error: ConfigError, op: 'Embedding', argument: 'embeddingDim' },
  'SGD lr 0': { call: () => new SGD(new Linear(2, 2).parameters(), { lr: 0 }), error: ConfigError, op: 'SGD', argument: 'lr' },
  'SGD momentum 1.5': {
    call: () => new SGD(new Linear(2, 2).parameters(), { lr: 0.1, momentum: 1.5 }),
    error: ConfigError,
    op: 'SGD',
    argument: 'momentum',
  },
  'SGD dampening 2': {
    call: () => new SGD(new Linear(2, 2).parameters(), { lr: 0.1, dampening: 2 }),
    error: ConfigError,
    op: 'SGD',
    argument: 'dampening',
  },
  "SGD nesterov 'yes'": {
    call: () => new SGD(new Linear(2, 2).parameters(), { lr: 0.1, momentum: 0.9, nesterov: bad('yes') }),
    error: ConfigError,
    op: 'SGD',
    argument: 'nesterov',
  },
  'Adam lr 0': { call: () => new Adam(new Linear(2, 2).parameters(), { lr: 0 }), error: ConfigError, op: 'Adam', argument: 'lr' },
  'Adam lr -1': { call: () => new Adam(new Linear(2, 2).parameters(), { lr: -1 }), error: ConfigError, op: 'Adam', argument: 'lr' },
  'Adam eps 0 (0/0 at a zero gradient)': {
    call: () => new Adam(new Linear(2, 2).parameters(), { eps: 0 }),
    error: ConfigError,
    op: 'Adam',
    argument: 'eps',
  },
  'Adam betas [1, 0.9]': {
    call: () => new Adam(new Linear(2, 2).parameters(), { betas: [1, 0.9] }),
    error: ConfigError,
    op: 'Adam',
    argument: 'betas[0]',
  },
  'Adam betas [0.9, NaN]': {
    call: () => new Adam(new Linear(2, 2).parameters(), { betas: [0.9, NaN] }),
    error: ConfigError,
    op: 'Adam',
    argument: 'betas[1]',
  },
  "Adam decoupledWeightDecay 'yes'": {
    call: () => new Adam(new Linear(2, 2).parameters(), { decoupledWeightDecay: bad('yes') }),
    error: ConfigError,
    op: 'Adam',
    argument: 'decoupledWeightDecay',
  },
};

const kernelSets = [
  ['JS', () => useJsKernels()],
  ['WASM', async () => expect(await useWasmKernels({ relaxedSimd: false })).toEqual({ simd: 'plain', threads: 1 })],
] as const;

afterAll(() => {
  useJsKernels();
  setKernels(plainKernels());
});

describe.each(kernelSets)('@heed/tensor bad inputs end in a HeedError naming the call (%s kernels)', (_name, install) => {
  it.each(Object.entries(rows))('%s', async (_label, row) => {
    await install();
    // the class, op, argument (and shapes where given), checked by the shared helper
    const error = expectHeedError(row.call, row.error, { op: row.op, argument: row.argument, shapes: row.shapes });
    expect(error.message.startsWith(`${row.op}: `)).toBe(true);
  });
});

describe('a refused call changes no state', () => {
  it('an optimizer refused at construction leaves the parameters alone; a refused state dict writes nothing', () => {
    const layer = new Linear(2, 2, { rng: new Rng(3) });
    const before = layer.parameters().map((p) => Array.from(p.data));
    expect(() => new SGD(layer.parameters(), bad({ lr: -1 }))).toThrow(ConfigError);
    expect(() =>
      layer.loadStateDict(
        bad({
          weight: tensor([
            [1, 2],
            [3, 4],
          ]),
          bias: 'ab',
        }),
      ),
    ).toThrow(StateDictError);
    expect(layer.parameters().map((p) => Array.from(p.data))).toEqual(before);
  });

  it('a refused rng draw consumes nothing from the generator', () => {
    const rng = new Rng(5);
    const reference = new Rng(5);
    expect(() => dropout(t([3]), 2, rng)).toThrow(ArgumentError);
    expect(rng.uniform()).toBe(reference.uniform());
  });
});
