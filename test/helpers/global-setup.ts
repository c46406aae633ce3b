// Builds dist/ once before any test file runs, because the end-to-end tests run bin/snap, which
// loads the compiled JavaScript bundled into dist/cli/snap.cjs.

import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** Compiles and bundles the project with `npm run build`; a compile error stops the run. */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: resolve(import.meta.dirname, '../..'), stdio: 'inherit' });
}
