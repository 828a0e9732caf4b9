import { ConfigError } from '@heed/tensor';

/** Throws a ConfigError unless the temperature is a finite number > 0; returns it. */
export function checkTemperature(op: string, temperature: number): number {
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw new ConfigError(`temperature must be a finite number > 0, got ${temperature}`, { op, argument: 'temperature' });
  }
  return temperature;
}
