// The machine a benchmark ran on: CPU, memory, kernel, file system, and the versions of node, snap
// and every peer, printed above the table and stored in the JSON.

import fs from 'node:fs';
import os from 'node:os';
import { toolVersion } from './tools.js';

export interface Machine {
  cpu: string;
  nproc: number;
  memoryGiB: number;
  kernel: string;
  filesystem: string;
  node: string;
  snap: string;
  git: string;
  ostree: string;
  umoci: string;
  tar: string;
  date: string;
  /** 1-minute load average when the run started and when it ended: other work on the machine skews figures. */
  load: { start: number; end?: number };
}

/** Describes this machine; `workdir` is where the trees and stores live. */
export function describeMachine(repoRoot: string, workdir: string): Machine {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const fsType = toolVersion(['df', '--output=fstype', workdir], (out) => out.trim().split('\n').pop() ?? '?');
  const pkg = JSON.parse(fs.readFileSync(`${repoRoot}/package.json`, 'utf8')) as { name: string; version: string };
  const commit = toolVersion(['git', '-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
  const dirty = toolVersion(['git', '-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'], (out) => (out.trim() ? ' + uncommitted changes' : ''));
  return {
    cpu,
    nproc: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()} ${os.machine()}`,
    filesystem: `${fsType} (${workdir})`,
    node: process.version,
    snap: `${pkg.name} ${pkg.version}${commit === 'missing' ? '' : ` at ${commit}${dirty === 'missing' ? '' : dirty}`}`,
    git: toolVersion(['git', '--version']),
    ostree: toolVersion(['ostree', '--version'], (out) => `ostree ${/Version:\s*'?([^'\s]+)/.exec(out)?.[1] ?? out.trim().split('\n')[0]}`),
    umoci: toolVersion(['umoci', '--version']),
    tar: toolVersion(['tar', '--version']),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    load: { start: loadAverage() },
  };
}

/** The 1-minute load average. */
export function loadAverage(): number {
  return Math.round(os.loadavg()[0] * 100) / 100;
}

/** The machine block: one "key: value" line each. */
export function formatMachine(m: Machine): string[] {
  return [
    `cpu:        ${m.cpu}, ${m.nproc} CPUs (nproc), ${m.memoryGiB} GiB memory`,
    `kernel:     ${m.kernel}; file system ${m.filesystem}`,
    `software:   node ${m.node}, ${m.git}, ${m.ostree}, ${m.umoci}, ${m.tar}`,
    `snap:       ${m.snap}`,
    `date:       ${m.date}; load average ${m.load.start} at start${m.load.end !== undefined ? `, ${m.load.end} at end` : ''} (${m.nproc} CPUs)`,
  ];
}
