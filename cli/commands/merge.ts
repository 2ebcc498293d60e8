/**
 * `pagerace merge FILES...`: the shards' `explore --shard I/N --json` outputs combined into the
 * unsharded exploration's digest, coverage and first violation (core/merge.ts). Human summary on
 * stderr, `--json` on stdout. Exit codes as explore's: 0 clean, 1 a violation, 2 bad input.
 */
import { readFileSync } from 'node:fs';
import { coverageLines } from '../../core/coverage.ts';
import { MergeError, type ShardOutput, mergeShards } from '../../core/merge.ts';
import { findScenario } from '../params.ts';
import { fail } from '../usage.ts';

export async function mergeCommand(files: string[], f: { json?: boolean }): Promise<number> {
  const outs = files.map((name) => {
    let text: string;
    try {
      text = readFileSync(name, 'utf8');
    } catch (e) {
      return fail(`cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    // A shard's stdout is one JSON line; take the last non-empty line.
    const line = text.trim().split('\n').at(-1) ?? '';
    try {
      return { name, out: JSON.parse(line) as ShardOutput };
    } catch {
      return fail(`${name} is not an explore --json output (not JSON)`);
    }
  });
  let m;
  try {
    const scenario = outs[0] ? findScenario(String(outs[0].out.scenario)) : undefined;
    m = mergeShards(outs, scenario?.derive?.bind(scenario));
  } catch (e) {
    if (e instanceof MergeError) fail(e.message);
    throw e;
  }
  if (f.json) process.stdout.write(JSON.stringify(m) + '\n');
  const v = m.firstViolation as { monitor: string; message: string; run: number; repro?: string } | null;
  const lines = [
    `pagerace merge: ${m.shards} shard(s) of explore ${m.scenario}, strategy ${m.strategy}, seed ${m.seed}, bug ${m.bug ?? 'none (fixed model)'}`,
    `  ${m.runs} run(s), ${m.steps} steps, ${m.violations} violation(s)`,
    `  digest ${m.digest}`,
  ];
  if (m.states !== undefined) lines.push(`  search: ${m.states} states (union), ${m.transitions} transitions; ${m.exhausted ? 'every shard exhausted its part' : 'not exhausted'}`);
  if (m.coverage) lines.push(...coverageLines(m.coverage));
  if (v) lines.push(`VIOLATION ${v.monitor} in run ${v.run}`, `  ${v.message}`, ...(v.repro ? [`  repro: ${v.repro}`] : []));
  process.stderr.write(lines.join('\n') + '\n');
  return m.violations ? 1 : 0;
}
