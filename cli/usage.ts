/**
 * Bad input: one line that names the problem and what is allowed, exit code 2, no stack trace.
 */
import { ENGINE_NAMES, type EngineName, defaultEngine, isEngineName } from '../core/engine/engine.ts';

export class UsageError extends Error {}

export function fail(message: string): never {
  throw new UsageError(message);
}

export function parseCount(flag: string, raw: string, min = 0): number {
  if (!/^\d+$/.test(raw.trim())) fail(`${flag} must be a whole number >= ${min}, got "${raw}"`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) fail(`${flag} must be a whole number >= ${min}, got "${raw}"`);
  return n;
}

export function parseSeed(raw: string): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) fail(`--seed must be a whole number from 0 to 4294967295, got "${raw}"`);
  return n;
}

export function parseEngine(raw: string | undefined): EngineName {
  if (raw === undefined) {
    try {
      return defaultEngine();
    } catch (e) {
      fail((e as Error).message);
    }
  }
  if (!isEngineName(raw)) fail(`--engine must be one of ${ENGINE_NAMES.join(', ')}, got "${raw}"`);
  return raw;
}
