#!/usr/bin/env -S node --single-threaded-gc
// Entry point: load the TypeScript sources through tsx, then run the CLI. The shebang's V8 flag
// is workers/v8flags.ts's COMMAND_LINE_V8_FLAGS (why: there); the npm scripts give it too.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
