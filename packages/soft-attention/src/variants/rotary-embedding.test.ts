import { ArgumentError, ConfigError, randn, Rng, ShapeError, Tensor } from '@heed/tensor';
import { DotScorer } from '@heed/scorers';
import { describe, expect, it } from 'vitest';
import {
  assertClose,
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  loadVariantFixture,
  toHeed,
  toleranceOf,
} from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { causalMask } from '../masks';
import { applyRotaryEmbedding, rotaryAngles, type RotaryStyle } from './rotary-embedding';
import { RotaryScorer, rotaryScorer } from './rotary-scorer';

const styleOf = (convention: unknown): RotaryStyle => (convention === 'interleaved' ? 'interleaved' : 'rotate-half');

describe('applyRotaryEmbedding and RotaryScorer against the PyTorch fixtures', () => {
  for (const name of ['rope_rotate_half', 'rope_interleaved', 'rope_decode_offset']) {
    it(`${name}: rotations, angles, weights, output and the gradients of q, k, v`, () => {
      const fixture = loadVariantFixture(name);
      const base = configNumber(fixture, 'base');
      const style = styleOf(fixture.config.rope_convention);
      const queryPositions = fixture.config.q_positions as number[];
      const keyPositions = fixture.config.k_positions as number[];
      const q = toHeed(fixture.inputs.q!, true);
      const k = toHeed(fixture.inputs.k!, true);
      const v = toHeed(fixture.inputs.v!, true);
      const Lq = q.shape[2]!;
      const Lk = k.shape[2]!;
      const d = q.shape[3]!;

      checkOutput(fixture, 'q_rot', applyRotaryEmbedding(q, { base, style, positions: queryPositions }));
      checkOutput(fixture, 'k_rot', applyRotaryEmbedding(k, { base, style, positions: keyPositions }));
      assertClose(
        `${name} angles`,
        { shape: [keyPositions.length, d / 2], data: rotaryAngles(keyPositions, d, base) },
        fixture.outputs.angles!,
        toleranceOf(fixture),
      );

      // queries at P..P+Lq−1 over keys 0..Lk−1: the offset is Lk − Lq ('bottom-right'), and so is the causal mask
      const offset = queryPositions[0]!;
      expect(offset).toBe(Lk - Lq);
      const scorer = new RotaryScorer({ base, style, queryPositionOffset: offset === 0 ? 0 : 'bottom-right' });
      const { context, weights } = attend({
        query: q,
        keys: k,
        values: v,
        scorer,
        attentionMask: causalMask(Lq, Lk, { align: 'bottom-right' }),
      });
      checkOutput(fixture, 'attn_weights', weights);
      checkOutput(fixture, 'output', context);
      backwardFromFixture(fixture, 'output', context);
      checkGrads(fixture, 'inputs', { q, k, v });
    });
  }

  it('rotaryScorer(inner) scores the rotated q and k with the inner scorer (here dot, no scale)', () => {
    const fixture = loadVariantFixture('rope_rotate_half');
    const q = toHeed(fixture.inputs.q!);
    const k = toHeed(fixture.inputs.k!);
    const scores = rotaryScorer(new DotScorer(), { base: configNumber(fixture, 'base') }).score(q, k); // [B, H, L, L]
    const qRot = fixture.outputs.q_rot!;
    const kRot = fixture.outputs.k_rot!;
    const [B, H, L, d] = q.shape as [number, number, number, number];
    const expected = new Float64Array(B * H * L * L);
    for (let bh = 0; bh < B * H; bh++)
      for (let i = 0; i < L; i++)
        for (let j = 0; j < L; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += Number(qRot.data[(bh * L + i) * d + c]) * Number(kRot.data[(bh * L + j) * d + c]);
          expected[(bh * L + i) * L + j] = s;
        }
    assertClose('dot of the reference rotations', scores, { shape: [B, H, L, L], data: expected }, toleranceOf(fixture));
  });

  it('a dot product after RoPE depends only on the distance: shifting every position changes nothing', () => {
    const rng = new Rng(3);
    const q = randn([2, 5, 8], rng);
    const k = randn([2, 5, 8], rng);
    for (const style of ['rotate-half', 'interleaved'] as const) {
      const at0 = new RotaryScorer({ style, inner: new DotScorer() }).score(q, k);
      const at7 = new DotScorer().score(
        applyRotaryEmbedding(q, { style, positionOffset: 7 }),
        applyRotaryEmbedding(k, { style, positionOffset: 7 }),
      );
      assertClose(style, at7, at0, { rtol: 1e-4, atol: 1e-5 });
    }
  });

  it('refuses an odd feature size, bad options and a bad configuration, naming the argument', () => {
    expect(() => applyRotaryEmbedding(new Tensor(new Float32Array(6), [2, 3]))).toThrow(ShapeError);
    expect(() => applyRotaryEmbedding(new Tensor(new Float32Array(8), [2, 4]), { positions: [0, 1, 2] })).toThrow(
      /positions has 3 entries/,
    );
    expect(() => applyRotaryEmbedding(new Tensor(new Float32Array(8), [2, 4]), { positions: [0, 1], positionOffset: 2 })).toThrow(
      ArgumentError,
    );
    expect(() => applyRotaryEmbedding(new Tensor(new Float32Array(8), [2, 4]), { style: 'gptj' as RotaryStyle })).toThrow(/style/);
    expect(() => new RotaryScorer({ headDim: 7 })).toThrow(ConfigError);
    expect(() => new RotaryScorer({ headDim: 7 })).toThrow(/RotaryScorer.*headDim|headDim/);
    expect(() => new RotaryScorer({ base: 0 })).toThrow(ConfigError);
    expect(() => rotaryScorer(new RotaryScorer())).toThrow(/rotating q and k twice/);
    expect(() => new RotaryScorer({ queryPositionOffset: 1.5 })).toThrow(ConfigError);
    expect(() => new RotaryScorer({ base: -1 })).toThrow(expect.objectContaining({ op: 'RotaryScorer', argument: 'base' }));
  });
});
