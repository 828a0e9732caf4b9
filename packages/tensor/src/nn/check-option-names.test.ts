import { describe, expect, test } from 'vitest';
import { ArgumentError } from '../errors/argument-error';
import { ConfigError } from '../errors/config-error';
import { checkOptionNames } from './check-option-names';

describe('checkOptionNames', () => {
  const known = ['causal', 'attentionMask', 'needWeights'];

  test('lets known names, undefined values and an empty object through', () => {
    expect(() => checkOptionNames('attend', {}, known)).not.toThrow();
    expect(() => checkOptionNames('attend', { causal: true, needWeights: false }, known)).not.toThrow();
    expect(() => checkOptionNames('attend', { casual: undefined }, known)).not.toThrow();
  });

  test('a typo names the call, the option and the nearest known name', () => {
    let error: unknown;
    try {
      checkOptionNames('attend', { casual: true }, known, 'call', { query: [2, 3] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as ArgumentError).message).toBe(
      "attend: unknown option 'casual' (did you mean 'causal'?); the options are causal, attentionMask, needWeights",
    );
    expect((error as ArgumentError).argument).toBe('casual');
    expect((error as ArgumentError).shapes).toEqual({ query: [2, 3] });
    expect(() => checkOptionNames('attend', { attentionmask: 1 }, known)).toThrow("did you mean 'attentionMask'?");
    expect(() => checkOptionNames('attend', { needWeight: false }, known)).toThrow("did you mean 'needWeights'?");
  });

  test('a name far from every known one gets no suggestion; a constructor gets a ConfigError', () => {
    expect(() => checkOptionNames('attend', { temperature: 2 }, known)).toThrow(
      "attend: unknown option 'temperature'; the options are causal, attentionMask, needWeights",
    );
    expect(() => checkOptionNames('Linear', { biass: false }, ['bias', 'rng'], 'config')).toThrow(ConfigError);
    expect(() => checkOptionNames('Linear', { biass: false }, ['bias', 'rng'], 'config')).toThrow(
      "Linear: unknown option 'biass' (did you mean 'bias'?)",
    );
  });
});
