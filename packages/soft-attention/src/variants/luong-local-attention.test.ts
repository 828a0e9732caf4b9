import { ConfigError, randn, Rng, StateDictError } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import {
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  integers,
  loadVariantFixture,
  toHeed,
} from '../../../../fixtures/variants/load-variant-fixture';
import { LuongLocalAttention } from './luong-local-attention';

describe('LuongLocalAttention against the PyTorch fixtures', () => {
  for (const name of ['luong_local_p', 'luong_local_m', 'luong_local_m_gaussian']) {
    it(`${name}: window bounds exactly, positions, align, weights, context and every gradient`, () => {
      const fixture = loadVariantFixture(name);
      const mode = fixture.config.mode as 'local-m' | 'local-p';
      const layer = new LuongLocalAttention({
        dim: configNumber(fixture, 'd'),
        mode,
        window: configNumber(fixture, 'D'),
        gaussian: fixture.config.gaussian === true,
        ...(mode === 'local-p' ? { predictorDim: configNumber(fixture, 'd_p') } : {}),
      });
      layer.loadTorchStateDict(Object.fromEntries(Object.entries(fixture.params).map(([k, t]) => [k, toHeed(t)])));
      const h = toHeed(fixture.inputs.h!, true);
      const hs = toHeed(fixture.inputs.hs!, true);
      const result = layer.forward(h, hs);
      expect(Array.from(result.windowStart.data)).toEqual(integers(fixture.outputs.window_start!));
      expect(Array.from(result.windowEnd.data)).toEqual(integers(fixture.outputs.window_end!));
      if (fixture.outputs.p) checkOutput(fixture, 'p', result.positions);
      if (fixture.outputs.align) checkOutput(fixture, 'align', result.align);
      checkOutput(fixture, 'attn_weights', result.weights);
      checkOutput(fixture, 'context', result.context);
      backwardFromFixture(fixture, 'context', result.context);
      checkGrads(fixture, 'inputs', { h, hs });
      const named = new Map(layer.namedParameters());
      checkGrads(fixture, 'params', {
        'W_a.weight': named.get('scoreProjection.weight'),
        'W_p.weight': named.get('positionProjection.weight'),
        v_p: named.get('positionVector'),
      });
    });
  }

  it('refuses bad configurations and foreign weights, naming the argument', () => {
    expect(() => new LuongLocalAttention({ dim: 4, mode: 'local-x' as 'local-m', window: 2 })).toThrow(ConfigError);
    expect(() => new LuongLocalAttention({ dim: 4, mode: 'local-p', window: 0 })).toThrow(
      expect.objectContaining({ op: 'LuongLocalAttention', argument: 'window' }),
    );
    expect(() => new LuongLocalAttention({ dim: 4, mode: 'local-m', window: 2, predictorDim: 3 })).toThrow(/local-m has none/);
    const layer = new LuongLocalAttention({ dim: 4, mode: 'local-m', window: 2, rng: new Rng(1) });
    expect(() => layer.loadTorchStateDict({ v_p: randn([4], new Rng(2)) })).toThrow(StateDictError);
    expect(() => layer.loadTorchStateDict({ 'W_a.weight': randn([4, 3], new Rng(2)) })).toThrow(
      /'W_a.weight' has shape \[4, 3\], this layer expects \[4, 4\]/,
    );
    expect(() => layer.forward(randn([1, 2, 4], new Rng(3)), randn([2, 5, 4], new Rng(4)))).toThrow(/must be \[B, T, d\] and \[B, S, d\]/);
  });
});
