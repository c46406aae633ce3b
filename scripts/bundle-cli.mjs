// Bundles the compiled CLI (dist/cli/main.js) and the modules it imports, dependencies included,
// into one CommonJS file, dist/cli/snap.cjs, which bin/snap loads. Node then reads and compiles
// one file at start-up instead of about 60, without its ES module loader. Then it writes the V8
// code cache for the bundle (scripts/train-code-cache.cjs). The library (dist/index.js) is not
// bundled. Run by `npm run build` after tsc, because it bundles tsc's output.

import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = 'dist/cli/snap.cjs';

// A cache left from an earlier bundle must not outlive it (see bin/load-bundle.cjs).
rmSync(`${root}/${bundle}.cache`, { force: true });
// The ES module bundle that earlier builds wrote.
rmSync(`${root}/dist/cli/snap.js`, { force: true });

await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli/main.js'],
  // Beside main.js, so the paths that dist/cli/main.js and dist/native/index.js resolve at run
  // time against import.meta.url (package.json, the native addon) are the same from the bundle.
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // A script compiled by vm.Script, as bin/load-bundle.cjs compiles the bundle, cannot run import(),
  // so import() of a module outside the bundle (a Node built-in) becomes require().
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': 'bundleUrl' },
  banner: { js: "var bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});

// The cache only saves start-up time, so a failure to write it is a warning, not a failed build.
// The training runs without the caller's SNAP_* and GIT_* variables, which could point it at
// another store or set dates it rejects.
const env = { PATH: process.env.PATH, NO_COLOR: '1' };
const training = spawnSync(process.execPath, ['scripts/train-code-cache.cjs', bundle], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (training.status !== 0) {
  const reason = training.stderr.trim() || training.error?.message || `exit ${training.status ?? training.signal}`;
  process.stderr.write(`warning: no code cache for ${bundle}, so snap starts slower (${reason})\n`);
}
