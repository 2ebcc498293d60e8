/** The chart model as versioned JSON: every machine with its full state tree and transitions. */
import type { MachineChart } from './model.ts';

export const CHART_FORMAT = 'pagerace-chart';
export const CHART_VERSION = 1;

export function toChartJson(charts: MachineChart[], name: string): string {
  return JSON.stringify({ format: CHART_FORMAT, version: CHART_VERSION, name, machines: charts }, null, 1) + '\n';
}
