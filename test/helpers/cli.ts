import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs `kpi <args>` (src/app/bin.ts through tsx) in cwd, with a clean environment plus env. */
export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): CliResult {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  const r = spawnSync(process.execPath, [TSX, join(ROOT, 'src/app/bin.ts'), ...args], {
    cwd, env: { ...base, ...env }, encoding: 'utf8', timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export const FIXTURES = join(ROOT, 'test/fixtures');

/**
 * Like runCli, without blocking the event loop: for tests whose fakes (Slack) answer from
 * this process while the command runs.
 */
export function runCliAsync(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [TSX, join(ROOT, 'src/app/bin.ts'), ...args], { cwd, env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => { clearTimeout(timer); resolveRun({ code: code ?? -1, stdout, stderr }); });
  });
}
