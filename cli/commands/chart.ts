/**
 * `pagerace chart <scenario|machine>`: statecharts drawn from the machine definitions, as SVG
 * (Graphviz in WebAssembly), DOT, Mermaid or JSON. A scenario gives one cluster per machine.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { machineChart, renderSvg, toChartJson, toDot, toMermaid } from '../../inspect/chart/index.ts';
import { allMachines, resolveChartTarget } from '../../inspect/machines.ts';
import { scenarios } from '../../systems/index.ts';
import { fail } from '../usage.ts';

export const CHART_FORMATS = ['svg', 'dot', 'mermaid', 'json'] as const;
export type ChartFormat = (typeof CHART_FORMATS)[number];

const BY_EXTENSION: Record<string, ChartFormat> = { '.svg': 'svg', '.dot': 'dot', '.gv': 'dot', '.mmd': 'mermaid', '.mermaid': 'mermaid', '.json': 'json' };

export async function chartCommand(name: string, f: { format?: string; out?: string }): Promise<number> {
  const format = f.format ?? (f.out ? BY_EXTENSION[extname(f.out).toLowerCase()] : undefined) ?? 'svg';
  if (!(CHART_FORMATS as readonly string[]).includes(format)) fail(`--format must be one of ${CHART_FORMATS.join(', ')}, got "${format}"`);
  const target = resolveChartTarget(name);
  if (!target) {
    fail(`unknown scenario or machine "${name}"; scenarios: ${Object.keys(scenarios).join(', ')}; machines: ${allMachines().map((m) => m.id).join(', ')}`);
  }
  const text = await chartText(target.machines.map((m) => machineChart(m.machine)), target.name, format as ChartFormat);
  if (!f.out) {
    process.stdout.write(text);
    return 0;
  }
  try {
    writeFileSync(f.out, text);
  } catch (e) {
    fail(`cannot write chart file ${f.out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const what = target.type === 'scenario' ? `scenario ${target.name} (${target.machines.length} machines)` : `machine ${target.name}`;
  process.stderr.write(`pagerace chart ${what}: ${format} written to ${f.out}\n`);
  return 0;
}

export async function chartText(charts: ReturnType<typeof machineChart>[], name: string, format: ChartFormat): Promise<string> {
  switch (format) {
    case 'dot':
      return toDot(charts, { name });
    case 'svg':
      return renderSvg(toDot(charts, { name }));
    case 'mermaid':
      return toMermaid(charts);
    case 'json':
      return toChartJson(charts, name);
  }
}
