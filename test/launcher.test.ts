/**
 * The installed `kpi` command: bin/kpi.js loading the bundle that `npm run build` makes
 * (scripts/bundle.js), with its V8 code cache. Built into a temp folder; real processes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FIXTURES, runCli } from './helpers/cli';
import { tmpDir } from './helpers/kpi';
import { startFakeSlack } from './fakes/slackServer';
import { BOT_TOKEN, postSlash, SIGNING_SECRET, slashBody } from './slack-app.helpers';

const ROOT = resolve(__dirname, '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('bin/kpi.js with the bundle', () => {
  const app = tmpDir('kpi-bin-');
  const cache = join(app, 'cache');
  const cacheFiles = () => (existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith('.v8cache')) : []);

  function kpi(args: string[], env: Record<string, string> = {}, cwd = app) {
    const r = spawnSync(process.execPath, [join(app, 'bin/kpi.js'), ...args], {
      cwd, encoding: 'utf8', timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', HOME: app, KPI_CODE_CACHE: cache, NODE_DEBUG: 'kpi', ...env },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  beforeAll(() => {
    mkdirSync(join(app, 'bin'));
    copyFileSync(join(ROOT, 'bin/kpi.js'), join(app, 'bin/kpi.js'));
    copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/bundle.js'), join(app, 'dist/kpi.bundle.js')], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`bundle failed: ${b.stderr}`);
  }, 60_000);

  test('a missing bundle is named, with the command that builds it', () => {
    const bare = tmpDir('kpi-bin-missing-');
    mkdirSync(join(bare, 'bin'));
    copyFileSync(join(ROOT, 'bin/kpi.js'), join(bare, 'bin/kpi.js'));
    const r = spawnSync(process.execPath, [join(bare, 'bin/kpi.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/kpi: cannot read .*dist\/kpi\.bundle\.js \(ENOENT\); run "npm run build" first/);
  });

  test('the first start writes the code cache (owner-only), the next one uses it', () => {
    const first = kpi(['--version']);
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toBe(VERSION);
    expect(first.stderr).toMatch(/code cache .*-other\.v8cache: none/);
    expect(first.stderr).toMatch(/code cache written/);
    expect(cacheFiles()).toHaveLength(1);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(statSync(join(cache, cacheFiles()[0])).mode & 0o777).toBe(0o600);

    const second = kpi(['--version']);
    expect(second.stdout.trim()).toBe(VERSION);
    expect(second.stderr).toMatch(/: used/);
    expect(second.stderr).not.toMatch(/written/);
  });

  test("a new bundle's cache replaces the files of the earlier one for the same command", () => {
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, 'kpi-0123456789abcdef0123-help.v8cache'), 'from an earlier bundle');
    writeFileSync(join(cache, 'kpi-0123456789abcdef0123-other.v8cache'), 'from an earlier bundle');
    writeFileSync(join(cache, 'unrelated.txt'), 'kept');
    const r = kpi(['help']);
    expect(r.stdout).toContain('Usage: kpi');
    expect(r.stderr).toMatch(/code cache written/);
    const files = readdirSync(cache);
    expect(files).not.toContain('kpi-0123456789abcdef0123-help.v8cache');
    expect(files).toContain('kpi-0123456789abcdef0123-other.v8cache');
    expect(files).toContain('unrelated.txt');
    rmSync(join(cache, 'kpi-0123456789abcdef0123-other.v8cache'));
  });

  test('a damaged cache file is rejected by V8, the command still works, and the file is rewritten', () => {
    kpi(['--help']);
    const file = join(cache, cacheFiles().find((f) => f.endsWith('-other.v8cache'))!);
    writeFileSync(file, Buffer.alloc(4096, 7));
    const r = kpi(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: kpi');
    expect(r.stderr).toMatch(/: rejected/);
    expect(r.stderr).toMatch(/code cache written/);
    expect(kpi(['--help']).stderr).toMatch(/: used/);
  });

  test('KPI_CODE_CACHE=off writes nothing; an unusable cache folder only costs the cache', () => {
    const off = tmpDir('kpi-bin-off-');
    const r = kpi(['--version'], { KPI_CODE_CACHE: 'off', HOME: off });
    expect(r.stdout.trim()).toBe(VERSION);
    expect(r.stderr).toMatch(/code cache off: none/);
    expect(readdirSync(off)).toEqual([]);

    const blocker = join(off, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const bad = kpi(['--version'], { KPI_CODE_CACHE: join(blocker, 'cache') });
    expect(bad.code).toBe(0);
    expect(bad.stdout.trim()).toBe(VERSION);
    expect(bad.stderr).toMatch(/code cache not written/);
  });

  test('kpi run from the bundle writes the same files as from the sources, with and without the cache', () => {
    const args = ['run', '--source', 'csv', '--csv', join(FIXTURES, 'cases_small.csv'), '--as-of', '2026-11-23T12:00:00Z', '--tz', 'Europe/Berlin', '--json'];
    const fromSource = tmpDir('kpi-bin-src-');
    expect(runCli(args, fromSource).code).toBe(0);
    for (const round of ['none', 'used']) {
      const cwd = tmpDir('kpi-bin-run-');
      const r = kpi(args, {}, cwd);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`-run\\.v8cache: ${round}`));
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, warnings: [] });
      const files = readdirSync(join(fromSource, 'output')).filter((f) => !f.startsWith('.'));
      expect(files).toHaveLength(10); // the contract CSVs and the TXT
      for (const f of files) {
        expect(readFileSync(join(cwd, 'output', f), 'utf8')).toBe(readFileSync(join(fromSource, 'output', f), 'utf8'));
      }
    }
  });

  test('kpi serve from the bundle starts, answers a signed /kpi command through the fake Slack, and stops on SIGTERM', async () => {
    const fake = await startFakeSlack({ token: BOT_TOKEN });
    const port = await freePort();
    const dir = tmpDir('kpi-bin-serve-');
    const child = spawn(process.execPath, [join(app, 'bin/kpi.js'), 'serve', '--port', String(port)], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '', HOME: app, KPI_CODE_CACHE: cache,
        SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: fake.url,
        KPI_DB_PATH: join(dir, 'kpi.duckdb'), KPI_STATE_PATH: join(dir, 'kpi.duckdb'), KPI_DIGEST_CHANNEL: '#kpi-daily', KPI_DIGEST_CRON: '59 23 31 12 *',
        KPI_ALERT_CHANNEL: '#oncall', KPI_ALERT_CRON: '0 0 1 1 *', KPI_TZ: 'UTC',
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    try {
      const deadline = Date.now() + 20_000;
      let health: { next_runs: { name: string }[] } | undefined;
      while (!health && child.exitCode === null && Date.now() < deadline) {
        health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json() as Promise<typeof health>, () => undefined);
        if (!health) await new Promise((r) => setTimeout(r, 100));
      }
      expect(health?.next_runs.map((n) => n.name)).toEqual(['digest', 'alerts']);
      const res = await postSlash(`http://127.0.0.1:${port}/slack/events`, slashBody({ text: 'status', response_url: fake.responseUrl('s') }));
      expect(res.status).toBe(200);
      await fake.waitFor('respond', 1, 10_000);
      expect(JSON.stringify(fake.responseUrlPosts[0].body.blocks)).toContain('digest:');
    } finally {
      child.kill('SIGTERM');
      const code = await exited;
      await fake.close();
      expect({ code, stderr: stderr.split('\n').filter((l) => /"level":"(error|fatal)"|^kpi:/.test(l)) }).toEqual({ code: 0, stderr: [] });
    }
  }, 40_000);
});

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}
