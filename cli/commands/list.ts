/** `pagerace list [--json]`: scenarios, parameters with defaults, bug variants, monitors. */
import { scenarios } from '../../systems/index.ts';
import type { Scenario } from '../../core/model/scenario.ts';
import { describe } from '../params.ts';

/** What `list --json` prints and the library's list() returns. */
export function listReport() {
  return { scenarios: Object.values(scenarios).map(describeScenario) };
}

export function describeScenario(s: Scenario) {
  return {
    name: s.name,
    description: s.description,
    parameters: Object.fromEntries(
      s.parameters.map((p) => [p.name, { default: p.default, type: p.type, allowed: describe(p), description: p.description }]),
    ),
    bugs: s.bugs.map((b) => ({ name: b.name, summary: b.summary, reference: b.reference })),
    monitors: s.monitors.map((m) => ({ name: m.name, kind: m.kind, description: m.description, observes: m.observes })),
    ...(s.workload ? { workload: s.workload.vocabulary } : {}),
  };
}

export function listCommand(opts: { json?: boolean }): number {
  const all = listReport().scenarios;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ scenarios: all }, null, 2) + '\n');
    return 0;
  }
  for (const s of all) {
    const out: string[] = [`${s.name}: ${s.description}`, '  parameters (--set key=value):'];
    for (const [k, p] of Object.entries(s.parameters)) out.push(`    ${k} = ${p.default}  (${p.allowed}) ${p.description}`);
    out.push('  bugs (--bug NAME):');
    for (const b of s.bugs) out.push(`    ${b.name}: ${b.summary} [${b.reference}]`);
    out.push('  monitors:');
    for (const m of s.monitors) out.push(`    ${m.name} (${m.kind}): ${m.description}`);
    if (s.workload) out.push('  workload (--workload FILE.json):', `    ${s.workload}`);
    process.stdout.write(out.join('\n') + '\n');
  }
  return 0;
}
