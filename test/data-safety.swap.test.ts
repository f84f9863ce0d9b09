/**
 * The report set is replaced as one: a failure or a kill between any two steps leaves the
 * previous set byte-for-byte and, after the next start, no temp file, backup or journal.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPORT_FILES, writeReportFiles } from '../src/render/files/csv';

/** The files of a report set: the contract CSVs and the TXT; with the manifest, the steps' files. */
const FILES = Object.keys(REPORT_FILES).length + 1;
import { MANIFEST, readReportSet, recoverReportSet } from '../src/render/files/reportSet';
import { makeReport } from './fixtures/report';
import { tmpDir } from './helpers/kpi';

const ROOT = resolve(__dirname, '..');
const older = () => makeReport({ meta: { ...makeReport().meta, runId: 'run-old', asOf: '2026-11-23T09:00:00Z' } });
const newer = () => makeReport({ meta: { ...makeReport().meta, runId: 'run-new', asOf: '2030-01-01T00:00:00Z' }, atRiskCases: [] });

const snapshot = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

/** Every step of a commit, in order (recorded from a run without faults). */
function steps(): string[] {
  const dir = tmpDir('kpi-swap-');
  const seen: string[] = [];
  writeReportFiles(older(), dir);
  writeReportFiles(newer(), dir, (s) => { seen.push(s); });
  return seen;
}

describe('the report set swap', () => {
  const all = steps();

  test('the steps: every file staged, the backup, the journal, every rename, the commit', () => {
    expect(all).toHaveLength((FILES + 1) + 1 + 1 + (FILES + 1) + 1);
    expect(all[all.length - 2]).toBe(`renamed:${MANIFEST}`);
  });

  test('a manifest with run id, as_of and a sha256 per file that readers check', () => {
    const dir = tmpDir('kpi-swap-');
    writeReportFiles(older(), dir);
    const set = readReportSet(dir)!;
    expect(set.manifest).toMatchObject({ runId: 'run-old', asOf: '2026-11-23T09:00:00Z' });
    expect(Object.keys(set.manifest.files)).toHaveLength(FILES);
    writeFileSync(join(dir, 'sla_summary.csv'), 'tampered');
    expect(readReportSet(dir, 2)).toBeNull();
  });

  test.each(all.filter((s) => s !== 'committed'))('a failure after %s leaves the previous set and nothing else', (step) => {
    const dir = tmpDir('kpi-swap-');
    writeReportFiles(older(), dir);
    const before = snapshot(dir);
    expect(() => writeReportFiles(newer(), dir, (s) => { if (s === step) throw new Error(`fault at ${s}`); })).toThrow(`fault at ${step}`);
    expect(snapshot(dir)).toEqual(before);
    expect(readReportSet(dir)!.manifest.runId).toBe('run-old');
  });

  test('a failure after the commit keeps the new set whole', () => {
    const dir = tmpDir('kpi-swap-');
    writeReportFiles(older(), dir);
    expect(() => writeReportFiles(newer(), dir, (s) => { if (s === 'committed') throw new Error('late'); })).toThrow('late');
    expect(readReportSet(dir)!.manifest.runId).toBe('run-new');
    expect(readdirSync(dir).filter((f) => f.startsWith('.kpi') || f.endsWith('.tmp'))).toEqual([]);
  });

  test('a first run that fails leaves no file at all', () => {
    const dir = join(tmpDir('kpi-swap-'), 'out');
    expect(() => writeReportFiles(newer(), dir, (s) => { if (s === 'renamed:volume_trend.csv') throw new Error('x'); })).toThrow('x');
    expect(readdirSync(dir)).toEqual([]);
  });

  // A real kill: a child process SIGKILLs itself after a step (the first staged file, the
  // backup, the journal, a rename in the middle, the manifest's rename); the next start
  // (recoverReportSet, which every run calls) restores the previous set and cleans up.
  test('a process killed between steps: the next start restores the previous set, no leftovers', async () => {
    const dir = tmpDir('kpi-swap-kill-');
    const kills = [all[0], 'backup', 'journal', 'renamed:volume_trend.csv', `renamed:${MANIFEST}`];
    await Promise.all(kills.map(async (step) => {
      const out = join(dir, step.replace(/[^a-z0-9]/gi, '_'));
      writeReportFiles(older(), out);
      const before = snapshot(out);
      const r = await new Promise<{ code: number | null; signal: string | null; stdout: string }>((done) => {
        const c = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'test/fixtures/reportSetKill.ts'), out, step]);
        let stdout = '';
        c.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
        c.on('close', (code, signal) => done({ code, signal, stdout }));
      });
      // tsx runs the script in a child of its own: the kill shows as a signal or as exit 137.
      expect(r.stdout).not.toContain('completed');
      expect(r.signal === 'SIGKILL' || r.code === 137).toBe(true);
      expect(readdirSync(out).some((f) => f.startsWith('.kpi') || f.endsWith('.tmp'))).toBe(true); // the kill left work behind
      recoverReportSet(out);
      expect([step, snapshot(out)]).toEqual([step, before]);
    }));
  }, 120_000);
});
