/**
 * A user's own system: a module (`.js`, `.mjs`, or `.ts`/`.mts` through tsx) whose default export
 * (or export named `scenario`) is a scenario built with the same API as the built-in systems
 * (`defineScenario` from 'pagerace'). Loaded by the CLI, the library and each worker thread; the
 * module is checked (core/model/define.ts) before any run, and every problem is one line.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScenarioError, checkScenario } from '../core/model/define.ts';
import type { Scenario } from '../core/model/scenario.ts';

export class ScenarioModuleError extends Error {}

/** Does a scenario argument name a module file rather than a built-in scenario? */
export function isModulePath(arg: string): boolean {
  return /[\\/]/.test(arg) || /\.(m|c)?(j|t)s$/.test(arg);
}

const loaded = new Map<string, Promise<Scenario>>();

/** Load (once per thread) and check the scenario a module exports. `path` is resolved against the working directory. */
export function loadScenarioModule(path: string): Promise<Scenario> {
  const abs = resolve(path);
  let p = loaded.get(abs);
  if (!p) {
    p = load(abs, path);
    loaded.set(abs, p);
  }
  return p;
}

async function load(abs: string, shown: string): Promise<Scenario> {
  if (!existsSync(abs)) throw new ScenarioModuleError(`cannot read scenario module ${shown}: no such file; give a built-in scenario name or the path of a module (.js, .ts)`);
  const url = pathToFileURL(abs).href;
  let mod: Record<string, unknown>;
  try {
    if (/\.(m|c)?ts$/.test(abs)) {
      let tsImport: (s: string, o: { parentURL: string }) => Promise<Record<string, unknown>>;
      try {
        ({ tsImport } = await import('tsx/esm/api'));
      } catch {
        throw new ScenarioModuleError(`scenario module ${shown} is TypeScript: install tsx beside pagerace (npm install --save-dev tsx), or give the compiled .js`);
      }
      mod = await tsImport(url, { parentURL: import.meta.url });
    } else {
      mod = (await import(url)) as Record<string, unknown>;
    }
  } catch (e) {
    if (e instanceof ScenarioModuleError) throw e;
    throw new ScenarioModuleError(`cannot load scenario module ${shown}: ${firstLine(e)}`);
  }
  const s = mod.default ?? mod.scenario;
  if (s === undefined) throw new ScenarioModuleError(`scenario module ${shown} exports no scenario; end it with \`export default defineScenario({...})\``);
  try {
    checkScenario(s);
  } catch (e) {
    if (e instanceof ScenarioError) throw new ScenarioModuleError(`${shown}: ${e.message}`);
    throw e;
  }
  return s;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
