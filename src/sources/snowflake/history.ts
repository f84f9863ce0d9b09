/**
 * The status history from Snowflake (contract 6.3, SNOWFLAKE_HISTORY_TABLE): the same way
 * as the cases (typePlan.ts, extract.ts, stream.ts), with the columns case_id, status and
 * changed_at mapped by KPI_HISTORY_COLUMN_MAP (and KPI_COLUMN_MAP's case_id and status), and
 * only the changes up to as_of (plus undated ones, which data quality counts) fetched.
 */
import type { Column } from 'snowflake-sdk';
import type { Settings } from '../../config/settings';
import { historySelect } from '../columns';
import type { SourceScope } from '../types';
import { selectExpr, wallClock } from './extract';
import { quoteColumn } from './identifiers';
import type { Kind, Plan } from './typePlan';

/** The history's type plan from the column probe. */
export function planHistory(columns: Column[], settings: Settings, table: string): Plan[] {
  const names = columns.map((c) => c.getName());
  // historySelect checks and maps the names; its select items are `"source" AS name`.
  const items = historySelect(names, settings.historyColumnMap, `Snowflake table ${table}`, (n) => JSON.stringify(n)).split(', ');
  return items.map((item) => {
    const m = /^("(?:[^"\\]|\\.)*") AS (\w+)$/.exec(item)!;
    const source = JSON.parse(m[1]) as string;
    const contract = m[2] as Plan['contract'];
    const sfType = String(columns.find((c) => c.getName() === source)!.getType()).toLowerCase();
    let kind: Kind = 'text';
    if (contract === 'changed_at') {
      if (sfType === 'timestamp_ltz' || sfType === 'timestamp_tz') kind = 'instant';
      else if (sfType === 'timestamp_ntz' || sfType === 'date') kind = 'wall';
    }
    return { contract, source, sfType, kind };
  });
}

/** The history extraction: changes at or before as_of, and those without a time. */
export function historyExtractionSql(plan: Plan[], table: string, scope: SourceScope, sourceTz: string): { sql: string; binds: string[] } {
  const select = plan.map((p) => `${selectExpr(p)} AS ${quoteColumn(p.contract)}`).join(', ');
  const changed = plan.find((p) => p.contract === 'changed_at')!;
  if (changed.kind === 'text') return { sql: `SELECT ${select} FROM ${table}`, binds: [] };
  const c = quoteColumn(changed.source);
  const bind = changed.kind === 'instant' ? scope.asOf.toISOString() : wallClock(scope.asOf, sourceTz);
  return { sql: `SELECT ${select} FROM ${table} WHERE ${c} IS NULL OR (${c} <= TO_TIMESTAMP_${changed.kind === 'instant' ? 'TZ' : 'NTZ'}(?))`, binds: [bind] };
}
