/**
 * The `pagerace` command. Exit codes: 0 nothing found, 1 a violation found (or reproduced),
 * 2 bad input (one line, no stack trace).
 */
import { Command, CommanderError, Option } from 'commander';
import { tuneV8ForExploration } from '../workers/v8flags.ts';
import { UsageError } from './usage.ts';
import { DEFAULT_ENGINE, ENGINE_NAMES } from '../core/engine/engine.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('pagerace')
    .description('race-condition explorer for the Linux kernel IOMMU fault-handling and DMA-page protocols')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`pagerace: ${s.replace(/^error: /, '')}`) })
    .showSuggestionAfterError(true);

  program
    .command('list')
    .description('scenarios, their parameters with defaults, bug variants and monitors')
    .option('--json', 'machine-readable output')
    .action(async (o) => setExit((await import('./commands/list.ts')).listCommand(o)));

  program
    .command('explore')
    .description('run many schedules; stop at the first violation and write a repro file')
    .argument('[scenario]', 'scenario name (see `pagerace list`) or the path of your own scenario module (./my-scenario.ts); optional with --workload or --resume')
    .option('--runs <n>', 'number of runs (default 1000; dfs: workloads to search, default 1; --fail-nth: schedules to sweep, default 1)')
    .option('--seed <s>', 'exploration seed', '1')
    .addOption(new Option('--strategy <name>', 'random, pct, delay (delay bounding) or dfs (exhaustive search)').default('random'))
    .option('--depth <d>', 'PCT depth d', '3')
    .option('--delays <k>', 'delay bounding: deviations from the default order per run', '2')
    .option('--max-states <n>', 'dfs: stop after this many distinct states (then not exhausted)')
    .option('--branch-workload', "dfs: branch on the workload's draws too (default: the workload of each run seed)")
    .option('--fail-nth', 'sweep fault injection: fail the 1st, 2nd, ... fault draw of each schedule')
    .option('--until-coverage <n>', 'stop when no new (machine, state, event) triple was seen for n runs')
    .option('--shard <I/N>', 'run shard I (from 0) of N: a disjoint part of the runs (dfs: of the subtrees); combine with pagerace merge')
    .option('--bug <name>', 'switch on a historical bug variant')
    .option('--set <key=value>', 'set a scenario parameter (repeatable)', collect, [])
    .option('--max-steps <k>', 'step bound per run', '20000')
    .option('--out <dir>', 'where repro files go', 'repros')
    .option('--repro <file>', 'write the repro of a violation to exactly this file (the inspector beside it, .html)')
    .option('--workload <file>', 'a hand-written workload (JSON naming its scenario): fixes what each actor does; the schedule is still explored')
    .option('--checkpoint <file>', 'save progress to this file every few seconds and on Ctrl-C')
    .option('--resume <file>', 'continue the exploration a checkpoint file holds (to the same result as an uninterrupted one)')
    .option('--quiet', 'no progress line on the terminal')
    .option('--mode <mode>', 'where handle_mm_fault runs: inline, turnstile (threads granted turns; same trace as inline) or free (threads without turns; history checked after each run)', 'inline')
    .option('--workers <n>', 'worker threads running runs in parallel (same results as 1)', '1')
    .option('--engine <name>', `what advances the machines: ${ENGINE_NAMES.join(' or ')} (the same runs, step for step; fast is faster; default ${DEFAULT_ENGINE}, or $PAGERACE_ENGINE)`)
    .option('--json', 'print one JSON object on stdout')
    .action(async (scenario, o, cmd) => setExit(await (await import('./commands/explore.ts')).exploreCommand(scenario, o, cmd)));

  program
    .command('merge')
    .description("combine shards' explore --json outputs into the unsharded exploration's digest, coverage and first violation")
    .argument('<files...>', 'the shards\' --json outputs (every shard of one exploration)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (files, o) => setExit(await (await import('./commands/merge.ts')).mergeCommand(files, o)));

  program
    .command('replay')
    .description('re-execute a repro file exactly')
    .argument('<repro>', 'repro JSON file written by explore')
    .option('--trace <file>', 'write the trace as JSON Lines')
    .option('--engine <name>', `what advances the machines: ${ENGINE_NAMES.join(' or ')} (the same trace; default ${DEFAULT_ENGINE}, or $PAGERACE_ENGINE)`)
    .option('--json', 'print one JSON object on stdout')
    .action(async (file, o) => setExit(await (await import('./commands/replay.ts')).replayCommand(file, o)));

  // Visual inspection (inspect/): statecharts from the machine definitions, and the HTML inspector.
  program
    .command('chart')
    .description('draw the statecharts of a scenario (one cluster per machine) or of one machine')
    .argument('<target>', 'scenario name or machine id (see `pagerace list`)')
    .option('--format <format>', 'svg, dot, mermaid or json (default: from --out\'s extension, else svg)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (target, o) => setExit(await (await import('./commands/chart.ts')).chartCommand(target, o)));

  program
    .command('inspect')
    .description('write a self-contained HTML inspector for a repro file or a trace')
    .argument('<file>', 'repro JSON (from explore) or trace JSON Lines (from replay --trace)')
    .option('--out <file>', 'the HTML file to write (default: beside the input, .html)')
    .action(async (file, o) => setExit(await (await import('./commands/inspect.ts')).inspectCommand(file, o)));

  return program;
}
// Each command's module is imported when that command runs: `pagerace list` does not load the
// explorer, the inspector or Graphviz.

export async function main(argv: string[]): Promise<number> {
  tuneV8ForExploration();
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; commander has already printed its one line otherwise.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`pagerace: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
