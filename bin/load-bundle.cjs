// Loads the bundled CLI (dist/cli/snap.cjs, written by scripts/bundle-cli.mjs) with the V8 code
// cache that the build writes beside it (snap.cjs.cache). From the cache V8 takes the compiled
// bytecode of the functions a run of the common commands used, instead of parsing and compiling
// them again on every start.
//
// V8 checks that a cache came from the same V8 version and flags and from a source of the same
// length, not the same text. So a cache is used only when it is newer than the bundle: the build
// deletes it before bundling and writes it last. A rejected or missing cache costs time, never
// correctness.

'use strict';

const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

/** The CommonJS module wrapper, as Node's own loader applies it. */
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'];

/**
 * Compiles and runs the bundle at `bundle`, with the cache at `cache` when it is newer than the
 * bundle. Returns the bundle's exports and the compiled script (whose createCachedData writes a
 * new cache).
 */
function loadBundle(bundle, cache = `${bundle}.cache`) {
  const source = WRAPPER[0] + fs.readFileSync(bundle, 'utf8') + WRAPPER[1];
  const cachedData = readCache(cache, fs.statSync(bundle).mtimeMs);
  const script = new vm.Script(source, { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
  return { exports: module.exports, script };
}

/** Returns the cache at `cache` when it is a readable file not older than `bundleTime`, else undefined. */
function readCache(cache, bundleTime) {
  try {
    const stat = fs.statSync(cache, { throwIfNoEntry: false });
    return stat?.isFile() && stat.mtimeMs >= bundleTime ? fs.readFileSync(cache) : undefined;
  } catch {
    // An unreadable cache (permissions, say) only costs the time it would have saved.
    return undefined;
  }
}

module.exports = { loadBundle };
