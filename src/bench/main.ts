// npm run bench: snap against native git, ostree, umoci and tar on the same work and the same
// trees; medians, ratios snap / peer, snap's peak RSS, the targets; a table on stdout and the same
// as JSON. See docs/BENCHMARKS.md.

import fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Fixtures } from './fixtures.js';
import { Inputs, inputSizes } from './inputs.js';
import { describeMachine, formatMachine, loadAverage, type Machine } from './machine.js';
import { measure, type Sample } from './measure.js';
import { failedSide, growth, markdownTable, sideResult, summaryLines, tableLines, textTable, type Report, type RowResult, type SideResult } from './report.js';
import { allRows, scratchMaker, type Prepared, type Row, type RowContext } from './rows.js';
import { remove, syncDisks, warm } from './shell.js';
import { benchEnv, checkTools, Git, Ostree, Snap, snapBin, Umoci } from './tools.js';

const USAGE = `Usage: npm run bench -- [options]

Measures snap and its peers (git, ostree, umoci, tar) doing the same work on the same trees and
prints medians, ratios snap / peer, snap's peak RSS and the targets. Needs root.

Options:
  --runs N          runs of each fast row (default 5; 1 with --quick)
  --runs-big N      runs of the rows on the large synthetic trees (default 2; 1 with --quick)
  --only PATTERN    only rows whose id or title matches PATTERN (a case-insensitive regex)
  --quick           small synthetic trees (10k files, 1k-10k for scaling, a 256 MiB file): a smoke run
  --json FILE       write the results as JSON to FILE (default bench-results.json)
  --workdir DIR     put trees and stores in DIR (default a new /var/tmp/snap-bench.XXXXXX)
  --keep            keep the work directory; with --workdir, a later run reuses its input trees
  --markdown        print the machine and the table as Markdown (for docs/BENCHMARKS.md)
  --from-json FILE  print the table of an earlier run's JSON, measuring nothing
  --list            list the rows and exit
  -h, --help        this help

Environment: SNAP_HISTORY, the real history (default /var/tmp/snap-rootfs-history; built with
test/real/make-history.sh when missing).`;

interface Options {
  runs: number;
  runsBig: number;
  only?: RegExp;
  quick: boolean;
  json: string;
  workdir?: string;
  keep: boolean;
  markdown: boolean;
  fromJson?: string;
  list: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      'runs-big': { type: 'string' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string', default: 'bench-results.json' },
      workdir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      'from-json': { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return undefined;
  }
  const count = (value: string | undefined, fallback: number, flag: string): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a whole number of runs, at least 1, not '${value}'`);
    return n;
  };
  return {
    runs: count(values.runs, values.quick ? 1 : 5, '--runs'),
    runsBig: count(values['runs-big'], values.quick ? 1 : 2, '--runs-big'),
    only: values.only !== undefined ? new RegExp(values.only, 'i') : undefined,
    quick: values.quick,
    json: resolve(values.json),
    workdir: values.workdir !== undefined ? resolve(values.workdir) : undefined,
    keep: values.keep,
    markdown: values.markdown,
    fromJson: values['from-json'],
    list: values.list,
  };
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Prints the machine block, the table and the summary, as text or Markdown. */
function printReport(report: Report, markdown: boolean): void {
  const machine = formatMachine(report.machine);
  const settings = `runs ${report.settings.runs} (fast rows), ${report.settings.runsBig} (large-tree rows), 1 (large file)${report.settings.quick ? '; --quick' : ''}${report.settings.only ? `; --only ${report.settings.only}` : ''}`;
  if (markdown) {
    const [total, ...details] = summaryLines(report);
    const list = details.map((line) => `- ${line.trim().replace(/\n\s*/g, ' ')}`);
    process.stdout.write(`${['```', ...machine, `settings:   ${settings}`, '```', '', markdownTable(report.lines), '', `${total}${list.length ? ':' : ''}`, '', ...list].join('\n')}\n`);
  } else {
    process.stdout.write(`${['', ...machine, `settings:   ${settings}`, '', textTable(report.lines), '', ...summaryLines(report)].join('\n')}\n`);
  }
}

/**
 * Measures one row: for each run, snap then each peer, each prepared, flushed, warmed, timed and
 * cleaned up. A side that fails is not run again in this row; the other sides still are.
 */
async function measureRow(row: Row, shared: Map<string, Sample[]>, timeFile: string): Promise<RowResult> {
  const sides = [row.snap, ...row.peers];
  const reused = sides.map((side) => side.shareKey !== undefined && (shared.get(side.shareKey)?.length ?? 0) >= row.runs);
  const samples: Sample[][] = sides.map((side, k) => (reused[k] ? shared.get(side.shareKey!)!.slice(0, row.runs) : []));
  const errors: (string | undefined)[] = sides.map(() => undefined);
  for (let run = 0; run < row.runs; run++) {
    for (const [k, side] of sides.entries()) {
      if (reused[k] || errors[k] !== undefined) continue;
      let prepared: Prepared | undefined;
      try {
        prepared = side.prepare(run);
        syncDisks();
        warm(prepared.warm);
        const sample = await measure(prepared.command, timeFile);
        samples[k].push(sample);
        log(`    ${side.name.padEnd(16)} run ${run + 1}/${row.runs}: ${sample.seconds.toFixed(3)} s, peak RSS ${((sample.rssKB * 1024) / 1e6).toFixed(0)} MB`);
      } catch (error) {
        errors[k] = error instanceof Error ? error.message : String(error);
      }
      try {
        prepared?.after?.(errors[k] === undefined);
      } catch (error) {
        errors[k] ??= `cleanup after the run: ${error instanceof Error ? error.message : String(error)}`;
      }
      if (errors[k] !== undefined) log(`    ${side.name.padEnd(16)} FAILED: ${errors[k]!.split('\n').join('\n      ')}`);
    }
  }
  for (const [k, side] of sides.entries()) {
    if (side.shareKey && !reused[k] && errors[k] === undefined) shared.set(side.shareKey, samples[k]);
  }
  const result = (k: number): SideResult =>
    errors[k] !== undefined ? failedSide(sides[k].name, sides[k].does, errors[k]!) : sideResult(sides[k].name, sides[k].does, samples[k], reused[k]);
  return {
    id: row.id,
    title: row.title,
    runs: row.runs,
    ...(errors[0] === undefined ? { snap: result(0) } : { error: `snap: ${errors[0]}` }),
    peers: row.peers.map((_, i) => result(i + 1)),
    ...(row.target ? { target: row.target } : {}),
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return 0;
  if (options.fromJson) {
    const report = JSON.parse(fs.readFileSync(options.fromJson, 'utf8')) as Report;
    const table = tableLines(report.rows, report.growth);
    printReport({ ...report, lines: table.lines, summary: { met: table.met, missed: table.missed, errors: table.errors } }, options.markdown);
    return 0;
  }

  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const env = benchEnv();
  const snap = new Snap(process.execPath, snapBin(repoRoot), env);
  const tools = { snap, git: new Git(env), ostree: new Ostree(env), umoci: new Umoci(env) };
  const workdir = options.workdir ?? join('/var/tmp', `snap-bench.${process.pid}.${Date.now().toString(36)}`);
  const sizes = inputSizes(options.quick);
  const inputs = new Inputs(workdir, repoRoot, sizes, log);
  const fixtures = new Fixtures(workdir, tools, log);
  const context: RowContext = { ...tools, inputs, fixtures, scratch: scratchMaker(join(workdir, 'scratch')), runs: options.runs, runsBig: options.runsBig };
  const rows = allRows(context).filter((row) => !options.only || options.only.test(row.id) || options.only.test(row.title));

  if (options.list) {
    for (const row of rows) process.stdout.write(`${row.id.padEnd(24)} ${String(row.runs).padStart(2)} run(s)  ${row.title}\n`);
    return 0;
  }
  if (rows.length === 0) throw new Error('--only matches no row; see --list');
  if (process.getuid?.() !== 0) throw new Error('run the benchmark as root: the real rootfs has device nodes and files of many owners, and ostree bare mode stores owners');
  checkTools();
  if (!fs.existsSync(join(repoRoot, 'dist/cli/main.js'))) throw new Error('snap is not built; run npx tsc -p . first');

  const ownWorkdir = options.workdir === undefined;
  fs.mkdirSync(workdir, { recursive: true });
  const cleanup = (): void => {
    if (options.keep) return;
    if (ownWorkdir) remove(workdir);
    else for (const sub of ['inputs', 'fixtures', 'scratch', 'time.out']) remove(join(workdir, sub));
  };
  const interrupted = (): void => {
    log('interrupted; cleaning up');
    cleanup();
    process.exit(130);
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);

  const started = Date.now();
  const machine: Machine = describeMachine(repoRoot, workdir);
  for (const line of formatMachine(machine)) log(line);
  log(`work directory ${workdir}${options.keep ? ' (kept)' : ''}`);

  const results: RowResult[] = [];
  const shared = new Map<string, Sample[]>();
  try {
    for (const [index, row] of rows.entries()) {
      log(`[${index + 1}/${rows.length}] ${row.title} (${row.id}), ${row.runs} run(s)`);
      const rowStarted = Date.now();
      try {
        const result = await measureRow(row, shared, join(workdir, 'time.out'));
        result.elapsedSeconds = Math.round((Date.now() - rowStarted) / 1000);
        results.push(result);
        log(`    (${result.elapsedSeconds} s for this row, preparation included)`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`    FAILED: ${message}`);
        results.push({ id: row.id, title: row.title, runs: row.runs, peers: [], ...(row.target ? { target: row.target } : {}), error: message });
      }
    }
  } finally {
    cleanup();
  }

  machine.load.end = loadAverage();
  const g = growth(results, sizes.scaling);
  const table = tableLines(results, g);
  const report: Report = {
    machine,
    settings: { runs: options.runs, runsBig: options.runsBig, quick: options.quick, only: options.only?.source ?? null, rssLimitMB: 200 },
    inputs: { sizes, ...inputs.notes },
    rows: results,
    ...(g ? { growth: g } : {}),
    lines: table.lines,
    summary: { met: table.met, missed: table.missed, errors: table.errors },
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  fs.writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report, options.markdown);
  log(`results written to ${options.json}`);
  return table.errors.length > 0 ? 1 : 0;
}

// `npm run bench -- --list | head` closes stdout early: not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
