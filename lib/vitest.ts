/**
 * `pagerace/vitest`: assertions for a test suite (vitest, or any runner: they throw an
 * AssertionError-like Error with the violation and the repro to replay).
 *
 *   import { expectClean, expectFinds } from 'pagerace/vitest';
 *   it('my protocol is race-free', () => expectClean({ scenario: './my-scenario.ts', runs: 2000 }));
 *   it('the old ordering races', () => expectFinds('get-after-unlock', { scenario: './my-scenario.ts' }));
 */
import { type ExploreOptions, type ExploreReport, explore, scenarios } from './index.ts';

export class PageraceAssertionError extends Error {
  override name = 'AssertionError';
}

/** The exploration finds no violation and no run errors; resolves to its report. */
export async function expectClean(options: ExploreOptions): Promise<ExploreReport> {
  const r = await explore({ ...options, bug: options.bug ?? null });
  const v = r.firstViolation;
  if (v) {
    throw new PageraceAssertionError(
      `expected no violation in ${r.runs} run(s) of ${nameOf(options)}, but ${v.monitor} failed in run ${v.run} at step ${v.step}: ${v.message}` +
        (v.repro ? `\n  replay: npx pagerace replay ${v.repro}` : '\n  (give `out` or `repro` to write the repro file)'),
    );
  }
  if (r.errored.length) throw new PageraceAssertionError(`expected no errored run, but ${r.errored.length} run(s) threw; first: run ${r.errored[0].run}: ${r.errored[0].error}`);
  return r;
}

/**
 * With the variant `bug` switched on, the exploration finds a violation (by `monitor`, when
 * given; else by one of the monitors the variant says catch it). Resolves to its report.
 */
export async function expectFinds(bug: string, options: ExploreOptions & { monitor?: string }): Promise<ExploreReport> {
  const { monitor, ...o } = options;
  const r = await explore({ ...o, bug });
  const v = r.firstViolation;
  if (!v) throw new PageraceAssertionError(`expected variant ${bug} of ${nameOf(options)} to be found, but ${r.runs} run(s) found no violation; give more runs or another seed`);
  const scenario = typeof options.scenario === 'string' ? scenarios[options.scenario] : options.scenario;
  const allowed = monitor ? [monitor] : scenario?.bugs.find((b) => b.name === bug)?.caughtBy;
  if (allowed && !allowed.includes(v.monitor)) {
    throw new PageraceAssertionError(`expected variant ${bug} to be caught by ${allowed.join(' or ')}, but ${v.monitor} failed first: ${v.message}`);
  }
  return r;
}

function nameOf(o: ExploreOptions): string {
  return typeof o.scenario === 'string' ? o.scenario : o.scenario.name;
}
