// The real rootfs history of the benchmark: s0-base (Debian bookworm minbase) and s1-php (s0 +
// php-cli), built once per machine by test/real/make-history.sh, in $SNAP_HISTORY or
// /var/tmp/snap-rootfs-history.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';

/** The two states of the real history the benchmark uses. */
export interface History {
  dir: string;
  s0: string;
  s1: string;
}

/** Where the history is, or will be built. */
export function historyDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SNAP_HISTORY || '/var/tmp/snap-rootfs-history';
}

/**
 * Returns the history, building it first with test/real/make-history.sh when s1-php is missing
 * (needs root, debootstrap and a Debian mirror; about a minute).
 */
export function ensureHistory(repoRoot: string, log: (line: string) => void): History {
  const dir = historyDir();
  const history = { dir, s0: join(dir, 's0-base'), s1: join(dir, 's1-php') };
  if (fs.existsSync(join(history.s1, 'usr/bin')) && fs.existsSync(join(history.s0, 'usr/bin'))) return history;
  log(`building the real history in ${dir} with test/real/make-history.sh (about a minute)`);
  const script = join(repoRoot, 'test/real/make-history.sh');
  const result = spawnSync('bash', [script, dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    throw new Error(`test/real/make-history.sh ${dir} failed (exit ${result.status ?? result.signal}); see the logs in ${dir}`);
  }
  if (!fs.existsSync(join(history.s1, 'usr/bin'))) throw new Error(`make-history.sh did not leave ${history.s1}`);
  return history;
}
