// Bundles the compiled CLI (dist/cli/main.js) and the modules it imports, dependencies included,
// into one ES module, dist/cli/snap.js, which bin/snap loads. Node then resolves, reads and
// compiles one file at start-up instead of about 60. The library (dist/index.js) is not bundled.
// Run by `npm run build` after tsc, because it bundles tsc's output.

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli/main.js'],
  // Beside main.js, so the paths that dist/cli/main.js and dist/native/index.js resolve at run
  // time against import.meta.url (package.json, the native addon) are the same from the bundle.
  outfile: 'dist/cli/snap.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies (commander) require() Node's built-in modules, and an ES module has a
  // require function only through createRequire.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module';\nconst require = createRequireForBundle(import.meta.url);" },
  logLevel: 'warning',
});
