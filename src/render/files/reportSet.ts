/**
 * The report set replaced as one. The files of a run are staged as temp files beside the
 * current ones, the current ones are hard-linked into a backup folder, a commit journal is
 * written, the files are renamed into place and the manifest `.run.json` (run id, as_of,
 * a sha256 per file) is renamed last. A failure rolls every renamed file back from the
 * backup; a process killed in the middle leaves the journal, and the next writer (or the
 * next run's start) rolls back the same way. Temp files, backups and journals of dead
 * processes are removed then.
 *
 * `output/<file>.csv` stay plain files that BI tools read directly. A reader that must
 * never join two runs reads `.run.json` first and checks each file's sha256 against it
 * (readReportSet): while a set is being replaced, or after a failure, some file's hash
 * differs from the manifest and the reader tries again.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const MANIFEST = '.run.json';
const JOURNAL = '.kpi-commit.json';
const BACKUP_PREFIX = '.kpi-backup-';
const TMP = /^.+\.(\d+)\.\d+\.tmp$/;

export interface RunManifest {
  runId: string;
  asOf: string;
  writtenAt: string;
  /** sha256 (hex) of each file of the set, by file name. */
  files: Record<string, string>;
}

interface Journal {
  pid: number;
  stamp: string;
  backup: string;
  /** Target file name -> whether a previous version was backed up. */
  targets: Record<string, boolean>;
}

/** Called after each step of a commit (fault injection in tests). */
export type FaultHook = (step: string) => void;

/** Directories this process is committing to right now (their journal is not stale). */
const active = new Set<string>();

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function writeDurable(path: string, content: string | Buffer, flag = 'w'): void {
  const fd = openSync(path, flag);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Rolls back a commit that a dead process (or a failed one in this process) left behind, and
 * removes temp files, backups and journals of processes that no longer run. Returns what it did.
 */
export function recoverReportSet(outDir: string): string[] {
  const done: string[] = [];
  if (!existsSync(outDir) || active.has(outDir)) return done;
  const jpath = join(outDir, JOURNAL);
  if (existsSync(jpath)) {
    let j: Journal | null = null;
    try { j = JSON.parse(readFileSync(jpath, 'utf8')) as Journal; } catch { j = null; }
    // This process's own journal is stale when no commit of it is running (a failed rollback).
    if (j && j.pid !== process.pid && pidAlive(j.pid)) return done;
    if (j) {
      const backup = join(outDir, j.backup);
      for (const [name, had] of Object.entries(j.targets)) {
        const b = join(backup, name);
        if (had && existsSync(b)) renameSync(b, join(outDir, name));
        else if (!had) rmSync(join(outDir, name), { force: true });
      }
      done.push(`rolled back an unfinished report set (process ${j.pid})`);
    }
    rmSync(jpath, { force: true });
    for (const f of j ? readdirSync(outDir) : []) {
      if (f.endsWith(`.${j!.stamp}.tmp`) || f === j!.backup) rmSync(join(outDir, f), { recursive: true, force: true });
    }
  }
  for (const f of readdirSync(outDir)) {
    const m = TMP.exec(f);
    const pid = m ? Number(m[1]) : f.startsWith(BACKUP_PREFIX) ? Number(f.slice(BACKUP_PREFIX.length).split('.')[0]) : NaN;
    if (!Number.isFinite(pid) || pidAlive(pid)) continue;
    rmSync(join(outDir, f), { recursive: true, force: true });
    done.push(`removed ${f}`);
  }
  return done;
}

/** Takes the commit journal (the lock on the folder's set): waits while a live process holds it. */
function takeJournal(outDir: string, j: Journal, fault?: FaultHook): void {
  const jpath = join(outDir, JOURNAL);
  const start = Date.now();
  for (;;) {
    try {
      writeDurable(jpath, JSON.stringify(j), 'wx');
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      recoverReportSet(outDir);
      if (!existsSync(jpath)) continue;
      if (Date.now() - start > 30_000) throw new Error(`${outDir}: another process has been replacing the reports for 30 s (${JOURNAL}); try again later`);
      fault?.('wait');
      sleepSync(25);
    }
  }
}

/**
 * Writes the files of one run as one set: the previous set stays whole until the new one
 * is whole. Returns the paths written (the manifest not included).
 */
export function writeReportSet(outDir: string, files: [string, string][], meta: { runId: string; asOf: string }, fault?: FaultHook): string[] {
  mkdirSync(outDir, { recursive: true });
  recoverReportSet(outDir);
  const stamp = `${process.pid}.${Date.now()}`;
  const manifest: RunManifest = { runId: meta.runId, asOf: meta.asOf, writtenAt: new Date().toISOString(), files: {} };
  // Each file encoded once: its bytes are both hashed and written.
  const encoded: [string, Buffer][] = files.map(([name, content]) => [name, Buffer.from(content)]);
  for (const [name, bytes] of encoded) manifest.files[name] = sha256(bytes);
  const all: [string, Buffer][] = [...encoded, [MANIFEST, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]];
  const staged: { tmp: string; name: string }[] = [];
  const backupName = `${BACKUP_PREFIX}${stamp}`;
  const backup = join(outDir, backupName);
  let journal = false;
  let committed = false;
  const renamed: string[] = [];
  const targets: Record<string, boolean> = {};
  active.add(outDir);
  try {
    for (const [name, content] of all) {
      const tmp = join(outDir, `${name}.${stamp}.tmp`);
      staged.push({ tmp, name });
      writeDurable(tmp, content);
      fault?.(`staged:${name}`);
    }
    mkdirSync(backup);
    for (const [name] of all) {
      const cur = join(outDir, name);
      targets[name] = existsSync(cur);
      if (!targets[name]) continue;
      try { linkSync(cur, join(backup, name)); } catch { copyFileSync(cur, join(backup, name)); }
    }
    fault?.('backup');
    takeJournal(outDir, { pid: process.pid, stamp, backup: backupName, targets }, fault);
    journal = true;
    fault?.('journal');
    // The manifest is last: until it is in place, the old manifest's hashes do not match.
    for (const s of staged) {
      renameSync(s.tmp, join(outDir, s.name));
      renamed.push(s.name);
      fault?.(`renamed:${s.name}`);
    }
    unlinkSync(join(outDir, JOURNAL));
    journal = false;
    committed = true;
    fault?.('committed');
    rmSync(backup, { recursive: true, force: true });
  } catch (e) {
    if (committed) {
      rmSync(backup, { recursive: true, force: true });
      throw e;
    }
    // Roll back what was renamed, then remove everything this commit created.
    for (const name of renamed) {
      const b = join(backup, name);
      if (targets[name] && existsSync(b)) renameSync(b, join(outDir, name));
      else if (!targets[name]) rmSync(join(outDir, name), { force: true });
    }
    if (journal) rmSync(join(outDir, JOURNAL), { force: true });
    for (const s of staged) rmSync(s.tmp, { force: true });
    rmSync(backup, { recursive: true, force: true });
    throw e;
  } finally {
    active.delete(outDir);
  }
  return files.map(([name]) => join(outDir, name));
}

/**
 * Reads a report set as one: the manifest, then every file, each checked against its
 * sha256. Retries while a set is being replaced; null when there is no consistent set.
 */
export function readReportSet(outDir: string, attempts = 20): { manifest: RunManifest; files: Record<string, string> } | null {
  for (let i = 0; i < attempts; i++) {
    try {
      const manifest = JSON.parse(readFileSync(join(outDir, MANIFEST), 'utf8')) as RunManifest;
      const files: Record<string, string> = {};
      let ok = true;
      for (const [name, hash] of Object.entries(manifest.files)) {
        const b = readFileSync(join(outDir, name));
        if (sha256(b) !== hash) { ok = false; break; }
        files[name] = b.toString('utf8');
      }
      if (ok) return { manifest, files };
    } catch {
      // missing or half-replaced: try again
    }
    sleepSync(10);
  }
  return null;
}
