/**
 * Parsers that never crash (fast-check): random and mutated inputs to every parser the command
 * reads (repro files, traces, workload files, checkpoints, `--set` values, a scenario module's
 * parameters and declaration) go through the command itself, in this process (cli/main.ts's
 * main(), what bin/pagerace.js runs), with stdout and stderr captured. Each input is accepted
 * (exit 0, 1 or 3) or rejected with exit 2 and exactly one line "pagerace: ..."; main() never
 * throws (bin/pagerace.js would print a stack trace) and never takes more than a few seconds.
 *
 * The mutations start from real files (a repro and a trace of a real run, the example workload,
 * a checkpoint explore wrote), so most inputs get past the first checks and reach the deeper ones.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { REPRO_FORMAT, REPRO_VERSION } from '../../core/repro.ts';
import { ScenarioError, defineScenario } from '../../core/model/define.ts';
import { scenarios } from '../../systems/index.ts';
import { ROOT, iopfDefaults, iopfRun } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'pagerace-fuzz-'));
let fileNo = 0;
const file = (text: string, ext = '.json') => {
  const f = join(dir, `in${fileNo++}${ext}`);
  writeFileSync(f, text);
  return f;
};

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command in this process, its output captured. */
async function run(argv: string[]): Promise<Outcome> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof out;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof err;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Accepted, or one line naming the problem with exit 2. */
function wellBehaved(o: Outcome, argv: string[]): void {
  expect([0, 1, 2, 3], `${argv.join(' ')}: exit ${o.code}\n${o.stderr}`).toContain(o.code);
  if (o.code === 2) {
    const lines = o.stderr.split('\n').filter((l) => l !== '');
    expect(lines, `${argv.join(' ')}: ${o.stderr}`).toHaveLength(1);
    expect(lines[0]).toMatch(/^pagerace( \w+)?: \S/);
    expect(lines[0]).not.toMatch(/\n\s+at |TypeError|ReferenceError|Cannot read properties/);
  }
}

const timeout = (ms: number) => ({ plugins: [fc.timeout(ms)] });

// ---- mutations of a JSON value: replace or delete what one path holds ------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (out.length > 400) return out;
  if (Array.isArray(v)) v.slice(0, 8).forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k], [...at, k], out);
  return out;
}

/** A third of the picks are among the top-level fields and a third one level below, where most checks are. */
function mutate(v: Json, pick: number, how: 'replace' | 'delete', value: Json): Json {
  const every = paths(v);
  const depth = [Infinity, 2, 1][pick % 3];
  const shallow = every.filter((p) => p.length <= depth);
  const all = shallow.length > 1 ? shallow : every;
  pick = Math.floor(pick / 3);
  const path = all[pick % all.length];
  if (path.length === 0) return how === 'delete' ? {} : value;
  const copy = structuredClone(v);
  let parent = copy as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (how === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = value;
  return copy;
}

/** A real file's text, mutated as JSON (1-3 times) or as text (cut, or one character changed). */
const mutatedJson = (base: Json) =>
  fc.oneof(
    fc
      .array(fc.tuple(fc.nat(), fc.constantFrom('replace' as const, 'delete' as const), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>), { minLength: 1, maxLength: 3 })
      .map((ms) => JSON.stringify(ms.reduce((v, [pick, how, value]) => mutate(v, pick, how, value), base))),
    textMutation(JSON.stringify(base)),
  );

/** Every field down to `depth` deleted, and set to null, a string, a negative number, a list: run first, every time. */
const fieldBreaks = (base: Json, depth: number): [string][] =>
  paths(base)
    .filter((p) => p.length >= 1 && p.length <= depth)
    .flatMap((p) => [setAt(base, p, undefined), ...([null, 'x', -1, []] as Json[]).map((x) => setAt(base, p, x))])
    .map((v) => [JSON.stringify(v)]);

/** `x` undefined: delete the field. */
function setAt(v: Json, path: (string | number)[], x: Json | undefined): Json {
  const copy = structuredClone(v);
  let parent = copy as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (x !== undefined) parent[last] = x;
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
  return copy;
}

const textMutation = (text: string) =>
  fc.oneof(
    fc.nat({ max: text.length }).map((n) => text.slice(0, n)),
    fc.tuple(fc.nat({ max: text.length - 1 }), fc.string({ minLength: 1, maxLength: 3 })).map(([n, s]) => text.slice(0, n) + s + text.slice(n + 1)),
  );

const randomText = fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')));

// ---- the real files the mutations start from --------------------------------------------------

const runRepro = () => {
  const r = iopfRun(3);
  return {
    format: REPRO_FORMAT,
    version: REPRO_VERSION,
    scenario: 'iopf',
    parameters: iopfDefaults(),
    bug: null,
    strategy: 'random',
    depth: 3,
    seed: 1,
    run: 0,
    maxSteps: 20000,
    violation: null,
    foundSteps: r.steps,
    schedule: r.schedule,
  } as unknown as Json;
};

describe('parsers never crash (fast-check; in-process CLI)', () => {
  const repro = runRepro();
  const reproFile = file(JSON.stringify(repro));

  it('repro files: replay', async () => {
    expect((await run(['replay', reproFile])).code).toBe(0);
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: mutatedJson(repro) }, { weight: 1, arbitrary: randomText }), async (text) => {
        const argv = ['replay', file(text), '--json'];
        wellBehaved(await run(argv), argv);
      }),
      { numRuns: 80, examples: fieldBreaks(repro, 1), ...timeout(60_000) },
    );
  });

  it('traces and repros: inspect', async () => {
    const tracePath = join(dir, 'trace.jsonl');
    expect((await run(['replay', reproFile, '--trace', tracePath])).code).toBe(0);
    const lines = readFileSync(tracePath, 'utf8').trim().split('\n');
    // A trace cut down to a few steps keeps the inspector's work small.
    const trace = [...lines.slice(0, 6), lines[lines.length - 1]];
    const lineMutation = fc.oneof(
      // One line mutated as JSON, or as text; a line dropped or repeated.
      fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('replace' as const, 'delete' as const), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>).map(([l, pick, how, value]) => {
        const i = l % trace.length;
        const copy = [...trace];
        copy[i] = JSON.stringify(mutate(JSON.parse(trace[i]), pick, how, value));
        return copy.join('\n');
      }),
      fc.tuple(fc.nat(), fc.boolean()).map(([l, drop]) => {
        const i = l % trace.length;
        const copy = [...trace];
        if (drop) copy.splice(i, 1);
        else copy.splice(i, 0, trace[i]);
        return copy.join('\n');
      }),
      textMutation(trace.join('\n')),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: lineMutation }, { weight: 1, arbitrary: randomText }), async (text) => {
        const argv = ['inspect', file(text, '.jsonl'), '--out', join(dir, 'out.html')];
        wellBehaved(await run(argv), argv);
      }),
      { numRuns: 40, ...timeout(60_000) },
    );
  });

  it('workload files: explore --workload', async () => {
    const example = JSON.parse(readFileSync(join(ROOT, 'examples', 'iopf-enomem-partial-leak.workload.json'), 'utf8')) as Json;
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: mutatedJson(example) }, { weight: 1, arbitrary: randomText }), async (text) => {
        const argv = ['explore', '--workload', file(text), '--runs', '1', '--out', dir, '--quiet'];
        wellBehaved(await run(argv), argv);
      }),
      { numRuns: 60, examples: fieldBreaks(example, 2), ...timeout(60_000) },
    );
  });

  it('checkpoints: explore --resume', async () => {
    const cp = join(dir, 'cp.json');
    expect((await run(['explore', 'iopf', '--runs', '4', '--checkpoint', cp, '--quiet'])).code).toBe(0);
    const base = JSON.parse(readFileSync(cp, 'utf8')) as Json;
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: mutatedJson(base) }, { weight: 1, arbitrary: randomText }), async (text) => {
        // An accepted checkpoint asking for a huge exploration would run it: keep those small.
        let parsed: { exploration?: { runs?: unknown } } | null = null;
        try {
          parsed = JSON.parse(text);
        } catch {}
        fc.pre(!(typeof parsed?.exploration?.runs === 'number' && parsed.exploration.runs > 50));
        const argv = ['explore', '--resume', file(text), '--quiet', '--out', dir];
        wellBehaved(await run(argv), argv);
      }),
      { numRuns: 60, examples: fieldBreaks(base, 2), ...timeout(60_000) },
    );
  });

  it('--set values, for every scenario and an own module', async () => {
    const targets = [...Object.values(scenarios).map((s) => ({ arg: s.name, names: s.parameters.map((p) => p.name) })), { arg: './examples/refcount/scenario.ts', names: ['readers'] }];
    const value = fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String), fc.constantFrom('true', 'false', '', ' 1', '1e3', '0x10', 'NaN', '-0'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...targets).chain((t) =>
          fc.tuple(fc.constant(t.arg), fc.array(fc.oneof(fc.tuple(fc.constantFrom(...t.names, 'nope'), value).map(([k, v]) => `${k}=${v}`), fc.string()), { minLength: 1, maxLength: 3 })),
        ),
        async ([arg, sets]) => {
          const argv = ['explore', arg, ...sets.flatMap((s) => ['--set', s]), '--runs', '0', '--quiet'];
          wellBehaved(await run(argv), argv);
        },
      ),
      { numRuns: 80, ...timeout(60_000) },
    );
  });

  it('a scenario module\'s declaration and parameters: defineScenario names the first problem in one line', () => {
    const param = fc.record(
      {
        name: fc.oneof(fc.constantFrom('n', 'depth', 'x_1'), fc.string()),
        description: fc.oneof(fc.string(), fc.integer()),
        type: fc.oneof(fc.constantFrom('int', 'number', 'boolean', 'enum'), fc.string()),
        default: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.boolean(), fc.string(), fc.double()),
        min: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.double()),
        max: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.double()),
        values: fc.array(fc.string(), { maxLength: 3 }),
      },
      { requiredKeys: ['name', 'type'] },
    );
    fc.assert(
      fc.property(
        fc.record({ name: fc.oneof(fc.constantFrom('mine', 'my-lock'), fc.string()), parameters: fc.oneof(fc.array(param, { maxLength: 3 }), fc.jsonValue()) }),
        fc.oneof(fc.constant({}), fc.record({ bugs: fc.jsonValue() }), fc.record({ monitors: fc.jsonValue() }), fc.record({ build: fc.jsonValue() })),
        (decl, extra) => {
          try {
            defineScenario({ build: () => ({ actors: [], locks: [] }), ...decl, ...extra } as never);
          } catch (e) {
            expect(e).toBeInstanceOf(ScenarioError);
            expect((e as Error).message).not.toContain('\n');
            expect((e as Error).message).toMatch(/^scenario/);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
