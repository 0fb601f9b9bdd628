// The fuzz report: counts by outcome, StreamcoderError codes, and for each finding what was done
// to which seed and the command that rebuilds and re-runs that one mutant.
import path from 'node:path';
import { AMPLIFICATION } from './amplification';
import type { Finding, Summary } from './campaign';
import { describePass } from './plan';

export interface ReportContext {
  jobs: number;
  maxRssMb: number;
  hangMs: number;
  root: string;
  mallocCheck: boolean;
}

export function reproduceCommand(f: Pick<Finding, 'id'>, summary: Pick<Summary, 'campaignSeed'>, root: string, defaultRoot: string): string {
  const rootArg = path.resolve(root) === path.resolve(defaultRoot) ? '' : ` --root ${root}`;
  return `npm run fuzz -- --seed ${summary.campaignSeed} --only ${f.id} --verbose${rootArg}`;
}

export function formatFinding(f: Finding, summary: Summary, ctx: ReportContext, defaultRoot: string): string {
  return [
    `  ${f.kind.toUpperCase()} mutant ${f.id} of ${f.seedName}: ${f.detail}${f.reproduced ? '' : ' [not reproduced alone]'}`,
    `    mutations: ${f.steps.join('; ') || '(none)'}`,
    `    passes: ${f.passes.map(describePass).join('; ')}`,
    `    file: ${f.file}`,
    `    reproduce: ${reproduceCommand(f, summary, ctx.root, defaultRoot)}`,
  ].join('\n');
}

export function formatSummary(summary: Summary, ctx: ReportContext, defaultRoot: string): string {
  const count = (kind: string) => summary.findings.filter((f) => f.kind === kind).length;
  const codes = Object.entries(summary.errorCodes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
  const rate = summary.seconds > 0 ? (summary.mutants / summary.seconds).toFixed(1) : '-';
  const lines = [
    `fuzz: campaign seed ${summary.campaignSeed} (fuzz v${summary.fuzzVersion}, seeds ${summary.seedsDigest}), ${summary.mutants} mutants in ${summary.seconds.toFixed(1)} s (${rate}/s, ${ctx.jobs} jobs${ctx.mallocCheck ? ', glibc malloc checks' : ''})${summary.skipped ? `, ${summary.skipped} not run (time box)` : ''}`,
    `  decoded without error     ${summary.ok}`,
    `  StreamcoderError          ${summary.errored}${codes ? `  (mutants per code: ${codes})` : ''}`,
    `  crashes                   ${count('crash')}`,
    `  hangs (> ${ctx.hangMs} ms, 3x alone) ${count('hang')}`,
    `  unbounded memory (> ${ctx.maxRssMb} MB) ${count('memory')}`,
    `  amplification             ${count('amplification')}  (past ${AMPLIFICATION.floorMs / 1000} s or ${AMPLIFICATION.floorRssBytes / 2 ** 20} MB, and over ${AMPLIFICATION.timeRatio}x the ffmpeg CLI's time or ${AMPLIFICATION.memoryRatio}x its memory on the same file)`,
    `  other failures            ${count('failure')}  (a thrown error that is not a StreamcoderError, or a frame unlike what the decoder declared)`,
    `  slow but finished alone   ${summary.slow.length}${summary.slow.length ? `  (${summary.slow.slice(0, 10).join(', ')})` : ''}`,
    `  frames decoded            ${summary.frames}  (and copied video packets)`,
    `  audio items               ${summary.audioItems}  (AudioFrames and copied audio packets; ${summary.audioSkipped} dropped and counted by the frame methods)`,
    `  peak child RSS            ${Math.round(summary.peakRss.bytes / 2 ** 20)} MB (mutant ${summary.peakRss.id}); slowest mutant ${(summary.slowest.ms / 1000).toFixed(1)} s (mutant ${summary.slowest.id})`,
    `  most per KB of input      ${summary.perKb.ms.toFixed(0)} ms (mutant ${summary.perKb.msId}), ${summary.perKb.mb.toFixed(1)} MB of resident memory added (mutant ${summary.perKb.mbId})`,
  ];
  if (summary.findings.length > 0) {
    lines.push('findings:');
    for (const f of summary.findings.slice(0, 40)) lines.push(formatFinding(f, summary, ctx, defaultRoot));
    if (summary.findings.length > 40) lines.push(`  ... and ${summary.findings.length - 40} more`);
  }
  return lines.join('\n');
}

export function formatPerSeed(summary: Summary): string {
  const rows = Object.entries(summary.perSeed).sort((a, b) => a[0].localeCompare(b[0]));
  return ['per seed (mutants / clean / StreamcoderError / findings):', ...rows.map(([name, s]) => `  ${name.padEnd(24)} ${String(s.mutants).padStart(6)} ${String(s.ok).padStart(6)} ${String(s.errored).padStart(6)} ${String(s.findings).padStart(4)}`)].join('\n');
}
