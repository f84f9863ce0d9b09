import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../src/config/settings';
import { runPipeline } from '../../src/pipeline/run';
import type { KpiReport } from '../../src/contract/report';

export const HEADER = 'case_id,created_at,first_response_at,resolved_at,status,priority,region,channel,team,assignee,customer_tier,updated_at';

export function tmpDir(prefix = 'kpi-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes rows (CSV lines without header unless given) and runs the real pipeline on them. */
export async function runCsv(lines: string[], asOf: string, env: Record<string, string> = {}, header = HEADER): Promise<KpiReport> {
  const dir = tmpDir();
  const csv = join(dir, 'cases.csv');
  writeFileSync(csv, [header, ...lines].join('\n') + '\n');
  const settings = loadSettings({ KPI_SOURCE: 'csv', KPI_CSV_PATH: csv, KPI_DB_PATH: join(dir, 'kpi.duckdb'), KPI_STATE_PATH: join(dir, 'kpi.duckdb'), ...env });
  const { report } = await runPipeline({ settings, asOf: new Date(asOf), outDir: null, recordHistory: false, trigger: 'test' });
  return report;
}

/** A CSV line from fields (in HEADER order; missing trailing fields are empty). */
export function row(f: Partial<Record<'id' | 'created' | 'fr' | 'resolved' | 'status' | 'priority' | 'region' | 'channel' | 'team' | 'assignee' | 'tier' | 'updated', string>>): string {
  return [f.id ?? '', f.created ?? '', f.fr ?? '', f.resolved ?? '', f.status ?? 'open', f.priority ?? 'P3', f.region ?? 'EMEA', f.channel ?? 'email', f.team ?? 'billing', f.assignee ?? 'a1', f.tier ?? 'pro', f.updated ?? ''].join(',');
}
