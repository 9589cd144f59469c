import { InvalidOptionError } from './errors.js'

/** An integer in [min, max]; options are checked once, when a decision object is built. */
export function checkInteger(
  option: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(option, `an integer in [${min}, ${max}]`, value)
  }
  return value
}

/** A finite number in [min, max]. */
export function checkNumber(option: string, value: number, min: number, max = Number.MAX_VALUE): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionError(option, `a number in [${min}, ${max}]`, value)
  }
  return value
}

/** A finite number strictly above zero (durations, intervals). */
export function checkPositive(option: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(option, 'a finite number above 0', value)
  }
  return value
}
