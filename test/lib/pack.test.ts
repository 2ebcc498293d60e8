/**
 * The package as a user gets it: `npm pack`, then `npm install` of the tarball in an empty
 * folder (its dependencies from the npm registry, --prefer-offline so npm's cache serves them
 * when it has them). The installed package runs without tsx: the library API (the object
 * `explore --json` prints), its types, pagerace/vitest, and the bin with worker threads.
 *
 * `npm pack --ignore-scripts`: the tests' global setup has just built dist/ from these sources;
 * running `prepare` here would rewrite dist/ while other test files run it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cli } from '../helpers.ts';

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
let app = '';

describe('the packed package, installed', () => {
  beforeAll(() => {
    const packs = mkdtempSync(join(tmpdir(), 'pagerace-pack-'));
    npm(['pack', '--ignore-scripts', '--pack-destination', packs, '--silent'], ROOT);
    const tgz = readdirSync(packs).find((f) => f.endsWith('.tgz'))!;
    app = mkdtempSync(join(tmpdir(), 'pagerace-app-'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(packs, tgz)], app);
  }, 300_000);

  it('ships the build and no sources, and installs without tsx', () => {
    const pkg = join(app, 'node_modules', 'pagerace');
    expect(existsSync(join(pkg, 'dist', 'lib', 'index.js'))).toBe(true);
    expect(existsSync(join(pkg, 'dist', 'inspect', 'html', 'client.js'))).toBe(true);
    expect(existsSync(join(pkg, 'core'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
  });

  it('explore() from the installed package resolves to what explore --json prints', () => {
    writeFileSync(
      join(app, 'run.mjs'),
      `import { explore, list, scenarios, defineScenario, replay } from 'pagerace';
import { expectClean, expectFinds } from 'pagerace/vitest';
const r = await explore({ scenario: 'iopf', runs: 20, seed: 1 });
await expectClean({ scenario: 'iopf', runs: 5 });
const f = await expectFinds('response-after-removal', { scenario: 'iopf', runs: 300 });
console.log(JSON.stringify({ r, list: list().scenarios.length, names: Object.keys(scenarios), define: typeof defineScenario, replay: typeof replay, found: f.firstViolation.monitor }));
`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ['run.mjs'], { cwd: app, encoding: 'utf8' }));
    const json = JSON.parse(cli(['explore', 'iopf', '--runs', '20', '--seed', '1', '--json']).stdout);
    expect({ ...out.r, runsPerSecond: 0 }).toEqual({ ...json, runsPerSecond: 0 });
    expect(out.names).toContain('iopf');
    expect(out.define).toBe('function');
    expect(out.found).toMatch(/one-response-per-last-page|no-response-after-removal/);
  });

  it('its types: a TypeScript user file typechecks against it, and a wrong option does not', () => {
    writeFileSync(
      join(app, 'check.ts'),
      `import { explore, defineScenario, type ExploreReport, type Scenario } from 'pagerace';
import { expectClean } from 'pagerace/vitest';
const r: ExploreReport = await explore({ scenario: 'iopf', runs: 1, params: { prqDepth: 8 } });
const n: number = r.runs;
const s: Scenario = defineScenario({ name: 'x', parameters: [], build: () => ({ actors: [], locks: [] }) });
await expectClean({ scenario: s, runs: 1 });
// @ts-expect-error: runs is a number
await explore({ scenario: 'iopf', runs: '5' });
export { n };
`,
    );
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [], typeRoots: [join(ROOT, 'node_modules', '@types')] }, files: ['check.ts'] }));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', app], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the installed bin: list, and explore with worker threads and thread modes, from the built files', () => {
    const bin = join(app, 'node_modules', '.bin', 'pagerace');
    const run = (args: string[]) => spawnSync(bin, args, { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(run(['list']).stdout).toMatch(/^iopf: /);
    const two = run(['explore', 'iopf', '--runs', '60', '--workers', '2', '--json']);
    expect(two.status, two.stderr).toBe(0);
    expect(JSON.parse(two.stdout).digest).toBe(JSON.parse(cli(['explore', 'iopf', '--runs', '60', '--json']).stdout).digest);
    const turnstile = run(['explore', 'iopf', '--runs', '10', '--mode', 'turnstile', '--json']);
    expect(turnstile.status, turnstile.stderr).toBe(0);
    // A TypeScript scenario module needs tsx, which the user has not installed: one line says so.
    writeFileSync(join(app, 'mine.ts'), 'export default {};\n');
    const ts = run(['explore', './mine.ts']);
    expect(ts.status).toBe(2);
    expect(ts.stderr.trim()).toBe('pagerace: scenario module ./mine.ts is TypeScript: install tsx beside pagerace (npm install --save-dev tsx), or give the compiled .js');
  });
});
