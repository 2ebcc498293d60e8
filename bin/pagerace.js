#!/usr/bin/env -S node --single-threaded-gc
// Entry point. Runs the JavaScript built at install (dist/, `npm run build`; `prepare` builds it
// on `npm install`, `npm ci` and `npm pack`). In a source checkout without dist/, or with
// PAGERACE_SOURCES=1 (working on pagerace itself without rebuilding), it loads the TypeScript
// sources through tsx, a development dependency: an installed package never needs it.
// The shebang's V8 flag is workers/v8flags.ts's COMMAND_LINE_V8_FLAGS (why: there); the npm
// scripts give it too.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (!process.env.PAGERACE_SOURCES && existsSync(built)) {
  ({ main } = await import(built.href));
} else {
  const sources = new URL('../cli/main.ts', import.meta.url);
  let register;
  try {
    if (!existsSync(sources)) throw new Error('no sources');
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('pagerace: the built files (dist/) are missing; run `npm run build` in the pagerace folder (or `npm install`, which builds)\n');
    process.exit(2);
  }
  register();
  ({ main } = await import(sources.href));
}
process.exitCode = await main(process.argv.slice(2));
