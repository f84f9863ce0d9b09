import { existsSync } from 'node:fs';
import type { Settings, SourceKind } from '../config/settings';
import { createCsvSource } from './csv';
import { DuckDbFileSource } from './duckdb';
import { SourceError, type CaseSource } from './types';
import { seedDemo, demoSeededAt } from './demo/seed';

export interface SourceOverrides {
  kind?: SourceKind;
  csvPath?: string;
  dbPath?: string;
}

export function createSource(settings: Settings, o: SourceOverrides = {}): CaseSource {
  const kind = o.kind ?? settings.KPI_SOURCE;
  const db = o.dbPath ?? settings.KPI_DB_PATH;
  switch (kind) {
    case 'csv':
      return createCsvSource(settings, o.csvPath ?? settings.KPI_CSV_PATH);
    case 'duckdb':
      return new DuckDbFileSource('duckdb', db, settings.KPI_DUCKDB_TABLE, settings.columnMap, undefined,
        { table: settings.KPI_HISTORY_TABLE, columnMap: settings.historyColumnMap });
    case 'demo':
      // The embedded default: created and filled with demo data on first use, and
      // regenerated when it is more than a day old (demo data is relative to now).
      return new DuckDbFileSource('demo', db, 'support_cases', {}, async (log) => {
        const seededAt = existsSync(db) ? await demoSeededAt(db) : null;
        if (!seededAt || Date.now() - seededAt.getTime() > 86_400_000) {
          log.info({ stage: 'extract', db }, seededAt ? 'demo data is more than a day old: regenerating' : 'no demo data yet: generating');
          await seedDemo({ dbPath: db, cases: settings.KPI_DEMO_CASES, seed: settings.KPI_DEMO_SEED });
        }
      }, { table: 'case_status_history', columnMap: {} });
    case 'snowflake': {
      // Loaded lazily: the driver is only needed by people who use it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require('./snowflake') as { createSnowflakeSource(s: Settings): CaseSource };
      return mod.createSnowflakeSource(settings);
    }
    default:
      throw new SourceError(`Unknown source "${String(kind)}": allowed values are demo, duckdb, csv, snowflake`);
  }
}
