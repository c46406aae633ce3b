// Writes the V8 code cache of the CLI bundle (bin/load-bundle.cjs reads it). It loads the bundle
// the way bin/snap does, runs the common commands once on a small tree in a new temporary
// directory, so that V8 compiles the functions they use, and then saves the compiled code beside
// the bundle. Usage: node scripts/train-code-cache.cjs dist/cli/snap.cjs (scripts/bundle-cli.mjs
// runs it). Exits non-zero, writing no cache, when any command fails.

'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadBundle } = require('../bin/load-bundle.cjs');

const bundle = path.resolve(process.argv[2]);
const cache = `${bundle}.cache`;

/** Makes a small rootfs: a directory tree, an empty directory, a symlink, a hardlink and files. */
function makeTree(root) {
  fs.mkdirSync(path.join(root, 'etc/app'), { recursive: true });
  fs.mkdirSync(path.join(root, 'var/empty'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/app/app.conf'), 'listen 80\nworkers 2\n');
  fs.writeFileSync(path.join(root, 'etc/hostname'), 'box\n');
  fs.writeFileSync(path.join(root, 'etc/app/big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
  fs.symlinkSync('app/app.conf', path.join(root, 'etc/app.conf'));
  fs.linkSync(path.join(root, 'etc/hostname'), path.join(root, 'etc/hostname.link'));
}

/** Changes the tree: an edit, additions (a directory of files among them), a removal, a mode change. */
function changeTree(root) {
  fs.writeFileSync(path.join(root, 'etc/app/app.conf'), 'listen 8080\nworkers 4\n');
  fs.writeFileSync(path.join(root, 'etc/motd'), 'welcome\n');
  fs.mkdirSync(path.join(root, 'usr/share/doc/app'), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(root, `usr/share/doc/app/page${i}.txt`), `page ${i}\n`.repeat(i + 1));
  fs.rmSync(path.join(root, 'etc/hostname.link'));
  fs.chmodSync(path.join(root, 'etc/hostname'), 0o600);
}

async function train(work) {
  const root = path.join(work, 'rootfs');
  const store = path.join(work, 'store');
  const out = path.join(work, 'out');
  fs.mkdirSync(root);
  fs.mkdirSync(out);
  makeTree(root);
  const { exports, script } = loadBundle(bundle, path.join(work, 'no-cache'));
  const snap = async (...args) => {
    process.exitCode = 0;
    await exports.main([process.execPath, 'snap', '--no-pager', '--store', store, '-C', root, ...args]);
    if (process.exitCode !== 0) throw new Error(`'snap ${args.join(' ')}' exited with ${process.exitCode}`);
  };
  await snap('init', root);
  await snap('commit', '-m', 'first');
  changeTree(root);
  await snap('status');
  await snap('status', '--json');
  await snap('diff');
  await snap('diff', '-p');
  await snap('diff', '--export', path.join(out, 'change.tar.gz'));
  await snap('commit', '-m', 'second');
  await snap('status');
  await snap('log');
  await snap('show', 'HEAD');
  await snap('diff', 'HEAD~1', 'HEAD', '--stat');
  await snap('diff', 'HEAD~1', '--export', path.join(out, 'layer.tar'));
  await snap('export', 'HEAD', '-o', path.join(out, 'rootfs.tar'));
  await snap('checkout', 'HEAD~1');
  await snap('checkout', 'main');
  await snap('branch');
  await snap('tag');
  return script.createCachedData();
}

async function run() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'snap-code-cache-'));
  try {
    const data = await train(work);
    const temp = `${cache}.${process.pid}`;
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, cache);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

run().then(() => process.exit(0), (error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
