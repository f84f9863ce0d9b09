/**
 * `kpi policy check [FILE]` prints what it understood of a policy file and exits 0, or names
 * file and line of every mistake and exits 2; `kpi run` refuses a broken KPI_SLA_POLICY_FILE
 * with exit 2; `kpi seed-demo` writes the demo policy file next to the database.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers/cli';
import { POLICY_FILE } from './sla-policy.helpers';
import { tmpDir } from './helpers/kpi';

test('policy check prints calendars, holidays, stages and policies in order', () => {
  const r = runCli(['policy', 'check', POLICY_FILE], tmpDir());
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('emea-office (Europe/Berlin), line 11\n    mon-thu  08:00-12:00, 13:00-18:00\n    fri      08:00-16:00\n    sat-sun  closed\n    44 business hours a week');
  expect(r.stdout).toMatch(/Risk stages: 50%, 75%, 90%/);
  expect(r.stdout).toMatch(/1\. enterprise \(line 25\)\n\s+when:\s+customer_tier in \[enterprise\]\n\s+calendar: 24x7\n\s+pauses:\s+resolution clock paused in status pending\n\s+P1:\s+first response 15m, resolution 4h/);
  expect(r.stdout.indexOf('2. night-berlin')).toBeLessThan(r.stdout.indexOf('5. ny'));
});

test('policy check and kpi run exit 2 on a broken file, naming file and line', () => {
  const dir = tmpDir();
  const bad = join(dir, 'bad.yml');
  writeFileSync(bad, 'version: 1\npolicies:\n  - name: x\n    calendar: nope\n    targets: { P1: { first_response: 1x, resolution: 4h } }\n');
  const r = runCli(['policy', 'check', bad], dir);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`${bad}:4: policy "x" names unknown calendar "nope"`);
  expect(r.stderr).toContain(`${bad}:5: bad duration`);
  const run = runCli(['run', '--source', 'csv', '--csv', join(__dirname, 'fixtures/cases_small.csv')], dir, { KPI_SLA_POLICY_FILE: bad });
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/KPI_SLA_POLICY_FILE: .*bad\.yml:4: /);
  expect(existsSync(join(dir, 'output'))).toBe(false);
});

test('seed-demo writes the demo policy file next to the database, and keeps an edited one', () => {
  const dir = tmpDir();
  const r = runCli(['seed-demo', '--cases', '500'], dir);
  expect(r.code).toBe(0);
  const file = join(dir, 'data/sla_policy.yml');
  expect(readFileSync(file, 'utf8')).toMatch(/amer-office:\n\s+timezone: America\/New_York/);
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n# edited\n`);
  expect(runCli(['seed-demo', '--cases', '500'], dir).stdout).toMatch(/Kept the SLA policy file/);
  expect(readFileSync(file, 'utf8')).toMatch(/# edited/);
  const check = runCli(['policy', 'check'], dir);
  expect(check.code).toBe(0);
  expect(check.stdout).toMatch(/emea-office \(Europe\/London\)/);
});
