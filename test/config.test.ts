import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadSettings, parseAsOf } from '../src/config/settings';

describe('settings', () => {
  test('defaults match the contract', () => {
    const s = loadSettings({});
    expect(s).toMatchObject({ KPI_SOURCE: 'demo', KPI_WINDOW_DAYS: 30, KPI_TZ: 'UTC', KPI_RISK_THRESHOLD_PCT: 80, KPI_SPIKE_THRESHOLD_PCT: 20, KPI_SPIKE_BASELINE_DAYS: 7 });
    expect(s.slaTargets).toEqual({
      P1: { responseHours: 0.5, resolutionHours: 4 }, P2: { responseHours: 1, resolutionHours: 8 },
      P3: { responseHours: 4, resolutionHours: 24 }, P4: { responseHours: 8, resolutionHours: 72 },
    });
  });

  test('a bad value names the variable and what is allowed', () => {
    expect(() => loadSettings({ KPI_WINDOW_DAYS: 'ten' })).toThrow(/KPI_WINDOW_DAYS \(got "ten"\)/);
    expect(() => loadSettings({ KPI_SLA_P1_RESOLUTION_HOURS: '-4' })).toThrow(/KPI_SLA_P1_RESOLUTION_HOURS \(got "-4"\): must be a positive number of hours/);
    expect(() => loadSettings({ KPI_SPIKE_BASELINE_DAYS: '30' })).toThrow(/KPI_SPIKE_BASELINE_DAYS \(30\) must be smaller than KPI_WINDOW_DAYS/);
    expect(() => loadSettings({ KPI_COLUMN_MAP: 'opened_at:opened' })).toThrow(/"opened" is not a contract column/);
    expect(() => loadSettings({ KPI_DIGEST_CRON: 'daily' })).toThrow(/KPI_DIGEST_CRON/);
    expect(() => loadSettings({ KPI_MEMORY_LIMIT: '50%' })).toThrow(/KPI_MEMORY_LIMIT \(got "50%"\): must be a size like 1GB/);
  });

  test('secrets are never echoed in errors', () => {
    expect.assertions(3);
    try {
      loadSettings({ SLACK_API_URL: 'not a url', SNOWFLAKE_RETRIES: 'many', SNOWFLAKE_AUTHENTICATOR: 'hunter2-secret' , SNOWFLAKE_PASSWORD: 'hunter2-secret' });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toMatch(/SLACK_API_URL/);
      expect((e as Error).message).not.toContain('hunter2-secret');
    }
  });

  test('the column map takes source:contract pairs or JSON', () => {
    expect(loadSettings({ KPI_COLUMN_MAP: 'opened_at:created_at, ticket:case_id' }).columnMap).toEqual({ opened_at: 'created_at', ticket: 'case_id' });
    expect(loadSettings({ KPI_COLUMN_MAP: '{"Opened At":"created_at"}' }).columnMap).toEqual({ 'Opened At': 'created_at' });
  });

  test('as_of: ISO 8601 with or without offset, whole seconds', () => {
    expect(parseAsOf('2026-11-23T09:00:00.750+01:00').toISOString()).toBe('2026-11-23T08:00:00.000Z');
    expect(parseAsOf('2026-11-23 09:00').toISOString()).toBe('2026-11-23T09:00:00.000Z');
    expect(parseAsOf('2026-11-23').toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(() => parseAsOf('23/11/2026')).toThrow(/not an ISO 8601 time/);
  });

  test('.env.example lists every setting the code reads', () => {
    const example = readFileSync(join(__dirname, '../.env.example'), 'utf8');
    const src = readFileSync(join(__dirname, '../src/config/settings.ts'), 'utf8');
    const keys = new Set([...src.matchAll(/^\s+((?:KPI|SLACK|SNOWFLAKE)_[A-Z0-9_]+|PORT):/gm)].map((m) => m[1]));
    for (const p of ['P1', 'P2', 'P3', 'P4']) { keys.add(`KPI_SLA_${p}_RESPONSE_HOURS`); keys.add(`KPI_SLA_${p}_RESOLUTION_HOURS`); }
    expect(keys.size).toBeGreaterThan(50);
    for (const k of keys) expect(example).toMatch(new RegExp(`^${k}=`, 'm'));
  });
});
