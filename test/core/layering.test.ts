/**
 * The architecture as import rules (DESIGN.md "One engine, many systems"):
 * - the engine (core/) imports nothing outside core/: no system, no kernel piece;
 * - the API systems build against (core/model/) imports only itself;
 * - kernel pieces (kernel/) import the API, the seeded PRNG and each other, never a system;
 * - a system imports the API, the PRNG, kernel pieces and itself, never another system or engine internals;
 * - cli/, inspect/, workers/ reach systems only through the registry (systems/index.ts).
 * Adding a system therefore touches no engine file.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.ts';

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir))) {
    const p = join(dir, e);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...files(p));
    else if (/\.(ts|js)$/.test(e)) out.push(p);
  }
  return out;
}

/** Relative imports of a file (static, dynamic, `new URL(...)` worker entries), resolved to repo paths. */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from\s*|import\s*\(\s*|new URL\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

function violations(dirs: string[], allowed: (from: string, to: string) => boolean): string[] {
  const out: string[] = [];
  for (const d of dirs) for (const f of files(d)) for (const to of imports(f)) if (!allowed(f, to)) out.push(`${f} imports ${to}`);
  return out;
}

const systemOf = (p: string) => p.split('/')[1];

describe('import rules', () => {
  it('the engine imports no system and no kernel piece', () => {
    expect(violations(['core'], (_, to) => to.startsWith('core/'))).toEqual([]);
  });

  it('the API systems build against imports only itself', () => {
    expect(violations(['core/model'], (_, to) => to.startsWith('core/model/'))).toEqual([]);
  });

  it('kernel pieces import the API, the PRNG and each other (and the thread loader), never a system', () => {
    const ok = (to: string) => to.startsWith('core/model/') || to === 'core/prng.ts' || to.startsWith('kernel/') || to === 'workers/tsx.ts';
    expect(violations(['kernel'], (_, to) => ok(to))).toEqual([]);
  });

  it('a system imports the API, the PRNG, kernel pieces and itself only', () => {
    const ok = (from: string, to: string) =>
      to.startsWith('core/model/') || to === 'core/prng.ts' || to.startsWith('kernel/') || (to.startsWith('systems/') && systemOf(to) === systemOf(from));
    const dirs = readdirSync(join(ROOT, 'systems')).filter((d) => statSync(join(ROOT, 'systems', d)).isDirectory());
    expect(violations(dirs.map((d) => `systems/${d}`), ok)).toEqual([]);
  });

  it('the CLI, the inspector and the workers reach systems only through the registry', () => {
    const ok = (_: string, to: string) => !to.startsWith('systems/') || to === 'systems/index.ts';
    expect(violations(['cli', 'inspect', 'workers'], ok)).toEqual([]);
  });
});
