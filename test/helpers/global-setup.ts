// Builds dist/ once before any test file runs, because the end-to-end tests run bin/snap, which
// loads the compiled JavaScript.

import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** Compiles the project with `npx tsc -p .`; a compile error stops the run. */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', '.'], { cwd: resolve(import.meta.dirname, '../..'), stdio: 'inherit' });
}
