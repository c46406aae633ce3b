// The results of a benchmark run: per row the samples and medians of snap and each peer; the
// table (one line per row and peer: medians, ratio snap / peer, snap's peak RSS, target, verdict)
// as text or Markdown; the 10k -> 100k growth of the scaling rows; and the JSON of all of it.

import { label } from './inputs.js';
import { median, type Sample } from './measure.js';
import type { Machine } from './machine.js';
import { RSS_LIMIT_BYTES, type Target } from './rows.js';

/** The measurements of snap or of one peer in one row. */
export interface SideResult {
  name: string;
  does: string;
  seconds: number[];
  rssKB: number[];
  medianSeconds: number;
  maxRssMB: number;
  /** True when the samples were taken for another row doing the very same peer work. */
  shared?: boolean;
  /** Why this side has no figures. */
  error?: string;
}

export interface RowResult {
  id: string;
  title: string;
  runs: number;
  /** Wall time of the whole row, preparation included. */
  elapsedSeconds?: number;
  snap?: SideResult;
  peers: SideResult[];
  target?: Target;
  error?: string;
}

/** How snap's cost grows from the smallest to the largest scaling tree. */
export interface Growth {
  fromFiles: number;
  toFiles: number;
  snap: number;
  git: number;
  max: number;
  ok: boolean;
}

/** One line of the table. */
export interface Line {
  id: string;
  row: string;
  runs: string;
  snap: string;
  peer: string;
  peerSeconds: string;
  ratio: string;
  rss: string;
  target: string;
  verdict: string;
}

export interface Report {
  machine: Machine;
  settings: Record<string, unknown>;
  inputs: Record<string, unknown>;
  rows: RowResult[];
  growth?: Growth;
  lines: Line[];
  summary: { met: number; missed: string[]; errors: string[] };
  totalSeconds: number;
}

export const GROWTH_MAX = 12;

/** Builds a side's result from its samples. */
export function sideResult(name: string, does: string, samples: Sample[], shared = false): SideResult {
  return {
    name,
    does,
    seconds: samples.map((s) => round(s.seconds, 4)),
    rssKB: samples.map((s) => s.rssKB),
    medianSeconds: round(median(samples.map((s) => s.seconds)), 4),
    maxRssMB: round((Math.max(...samples.map((s) => s.rssKB)) * 1024) / 1e6, 1),
    ...(shared ? { shared } : {}),
  };
}

/** A side that failed: no figures, the error. */
export function failedSide(name: string, does: string, error: string): SideResult {
  return { name, does, seconds: [], rssKB: [], medianSeconds: NaN, maxRssMB: NaN, error };
}

/** Growth of snap's (and git's) first-commit time between the first and last scaling row. */
export function growth(rows: RowResult[], scaling: number[]): Growth | undefined {
  const first = rows.find((r) => r.id === `scale.${label(scaling[0])}`);
  const last = rows.find((r) => r.id === `scale.${label(scaling[scaling.length - 1])}`);
  if (!first?.snap || !last?.snap || first.peers.length === 0 || last.peers.length === 0) return undefined;
  const snap = last.snap.medianSeconds / first.snap.medianSeconds;
  const git = last.peers[0].medianSeconds / first.peers[0].medianSeconds;
  return { fromFiles: scaling[0], toFiles: scaling[scaling.length - 1], snap: round(snap, 2), git: round(git, 2), max: GROWTH_MAX, ok: snap <= GROWTH_MAX };
}

/** The lines of the table, and which targets were met and missed. */
export function tableLines(rows: RowResult[], g: Growth | undefined): { lines: Line[]; met: number; missed: string[]; errors: string[] } {
  const lines: Line[] = [];
  const missed: string[] = [];
  const errors: string[] = [];
  let met = 0;
  const rssLimitMB = RSS_LIMIT_BYTES / 1e6;
  for (const row of rows) {
    const snap = row.snap;
    if (row.error || !snap) errors.push(`${row.id}: ${row.error ?? 'no result'}`);
    for (const peer of row.peers) if (peer.error) errors.push(`${row.id} (${peer.name}): ${peer.error}`);
    const rssOk = snap !== undefined && snap.maxRssMB < rssLimitMB;
    if (snap) {
      if (rssOk) met++;
      else missed.push(`${row.title}: snap peak RSS ${snap.maxRssMB.toFixed(0)} MB, not < ${rssLimitMB} MB`);
    }
    const peers: (SideResult | undefined)[] = row.peers.length > 0 ? row.peers : [undefined];
    for (const peer of peers) {
      const targeted = peer !== undefined && row.target?.peer === peer.name;
      const target = targeted ? `<= ${row.target!.max.toFixed(1)}x, RSS < ${rssLimitMB} MB` : `RSS < ${rssLimitMB} MB`;
      const line: Line = {
        id: row.id,
        row: row.title,
        runs: String(row.runs),
        snap: snap ? seconds(snap.medianSeconds) : '-',
        peer: peer ? peer.name : '-',
        peerSeconds: peer && !peer.error ? seconds(peer.medianSeconds) : '-',
        ratio: '-',
        rss: snap ? snap.maxRssMB.toFixed(0) : '-',
        target,
        verdict: 'ERROR',
      };
      lines.push(line);
      if (!snap || peer?.error) continue;
      const ratio = peer ? snap.medianSeconds / peer.medianSeconds : NaN;
      const ratioOk = !targeted || ratio <= row.target!.max;
      if (peer) line.ratio = `${ratio.toFixed(2)}x`;
      line.verdict = rssOk && ratioOk ? 'ok' : 'MISS';
      if (!targeted) continue;
      if (ratioOk) met++;
      else missed.push(`${row.title}: ${ratio.toFixed(2)}x ${peer!.name}, not <= ${row.target!.max.toFixed(1)}x`);
    }
  }
  if (g) {
    if (g.ok) met++;
    else missed.push(`growth ${label(g.fromFiles)} -> ${label(g.toFiles)} files: ${g.snap.toFixed(2)}x, not <= ${g.max}x`);
    lines.push({
      id: 'scale.growth',
      row: `scaling: growth ${label(g.fromFiles)} -> ${label(g.toFiles)} files (x${g.toFiles / g.fromFiles} files)`,
      runs: '-',
      snap: `${g.snap.toFixed(2)}x`,
      peer: 'git',
      peerSeconds: `${g.git.toFixed(2)}x`,
      ratio: '-',
      rss: '-',
      target: `snap <= ${g.max}x`,
      verdict: g.ok ? 'ok' : 'MISS',
    });
  }
  return { lines, met, missed, errors };
}

const HEADERS: Record<keyof Omit<Line, 'id'>, string> = {
  row: 'row',
  runs: 'runs',
  snap: 'snap s',
  peer: 'peer',
  peerSeconds: 'peer s',
  ratio: 'snap/peer',
  rss: 'snap RSS MB',
  target: 'target',
  verdict: 'verdict',
};

const COLUMNS = Object.keys(HEADERS) as (keyof typeof HEADERS)[];
const RIGHT = new Set<keyof typeof HEADERS>(['runs', 'snap', 'peerSeconds', 'ratio', 'rss']);

/** The table as aligned plain text. */
export function textTable(lines: Line[]): string {
  const widths = COLUMNS.map((c) => Math.max(HEADERS[c].length, ...lines.map((l) => l[c].length)));
  const fmt = (cells: string[]): string =>
    cells.map((cell, i) => (RIGHT.has(COLUMNS[i]) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(COLUMNS.map((c) => HEADERS[c])), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map((l) => fmt(COLUMNS.map((c) => l[c])))].join('\n');
}

/** The table as Markdown. */
export function markdownTable(lines: Line[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const head = `| ${COLUMNS.map((c) => HEADERS[c]).join(' | ')} |`;
  const rule = `|${COLUMNS.map((c) => (RIGHT.has(c) ? '---:' : '---')).join('|')}|`;
  return [head, rule, ...lines.map((l) => `| ${COLUMNS.map((c) => esc(l[c])).join(' | ')} |`)].join('\n');
}

/** The summary below the table. */
export function summaryLines(report: Report): string[] {
  const out = [`targets: ${report.summary.met} met, ${report.summary.missed.length} missed${report.summary.errors.length ? `, ${report.summary.errors.length} row(s) failed` : ''}; total ${(report.totalSeconds / 60).toFixed(1)} min`];
  for (const m of report.summary.missed) out.push(`  missed: ${m}`);
  for (const e of report.summary.errors) out.push(`  error:  ${e.split('\n').join('\n          ')}`);
  return out;
}

function seconds(s: number): string {
  return s < 1 ? s.toFixed(3) : s < 100 ? s.toFixed(2) : s.toFixed(1);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
