/**
 * The type plan: for each contract column, which Snowflake column feeds it and how its
 * values land in DuckDB.
 *
 * - 'instant': TIMESTAMP_LTZ / TIMESTAMP_TZ. Snowflake sends the instant's epoch
 *   milliseconds; DuckDB reads them as that UTC instant.
 * - 'wall': TIMESTAMP_NTZ / DATE. Snowflake sends the epoch of the wall clock read as UTC;
 *   DuckDB reads that wall clock in KPI_SOURCE_TZ, exactly like a naive CSV timestamp, so
 *   every timestamp column of the relation is TIMESTAMPTZ and the normaliser never has to
 *   guess. A wall-clock time in a DST gap or overlap is resolved the way ICU resolves it.
 * - 'text': everything else, as text (numbers, booleans and semi-structured values arrive
 *   as TO_VARCHAR: no precision loss on 19-digit ids).
 *
 * Timestamps travel as numbers because the driver's own per-value timestamp conversion
 * (BigNumber + moment) is its slowest path; this way the driver does no date work at all.
 */
import type { Column } from 'snowflake-sdk';
import { UNUSED_COLUMNS, type ContractColumn } from '../../contract/columns';
import type { Settings } from '../../config/settings';
import { ident, lit } from '../../db/engine';
import { mapColumns } from '../columns';

/** How a source column lands in DuckDB. */
export type Kind = 'text' | 'instant' | 'wall';

export interface Plan {
  /** A case column, or the status history's changed_at (history.ts). */
  contract: ContractColumn | 'changed_at';
  /** The Snowflake column name, as Snowflake reports it. */
  source: string;
  /** Snowflake's type name, lower case (`timestamp_ntz`, `text`, `fixed`...). */
  sfType: string;
  kind: Kind;
}

const TIMESTAMP_COLUMNS: ReadonlySet<ContractColumn> = new Set(['created_at', 'first_response_at', 'resolved_at', 'updated_at']);

/** The plan from the column probe's metadata; KPI_COLUMN_MAP maps the names. */
export function planColumns(columns: Column[], settings: Settings, table: string): Plan[] {
  const names = columns.map((c) => c.getName());
  const { select } = mapColumns(names, settings.columnMap, `Snowflake table ${table}`);
  const plan: Plan[] = [];
  for (const [contract, source] of Object.entries(select) as [ContractColumn, string][]) {
    // Not fetched at all: every value costs network, parsing and memory (unless an SLA
    // policy's `when` tests it).
    if (UNUSED_COLUMNS.includes(contract) && !policyConditionKeys(settings).has(contract)) continue;
    const col = columns.find((c) => c.getName() === source)!;
    const sfType = String(col.getType()).toLowerCase();
    let kind: Kind = 'text';
    if (TIMESTAMP_COLUMNS.has(contract)) {
      if (sfType === 'timestamp_ltz' || sfType === 'timestamp_tz') kind = 'instant';
      else if (sfType === 'timestamp_ntz' || sfType === 'date') kind = 'wall';
    }
    plan.push({ contract, source, sfType, kind });
  }
  return plan;
}

/** The case columns the SLA policies' `when` conditions test. */
function policyConditionKeys(settings: Settings): Set<string> {
  return new Set((settings.slaPolicies?.policies ?? []).flatMap((p) => Object.keys(p.when)));
}

/** The raw staging table's columns: epoch milliseconds as DOUBLE, text as VARCHAR. */
export function rawTableColumns(plan: Plan[]): string {
  return plan.map((p) => `${ident(p.contract)} ${p.kind === 'text' ? 'VARCHAR' : 'DOUBLE'}`).join(', ');
}

/**
 * The view's select list over the raw table. Explicit zones only: the normaliser reads the
 * view under another session TimeZone.
 */
export function viewSelect(plan: Plan[], sourceTz: string): string {
  return plan.map((p) => {
    const c = ident(p.contract);
    const ts = `epoch_ms(CAST(${c} AS BIGINT))`;
    if (p.kind === 'instant') return `timezone('UTC', ${ts}) AS ${c}`;
    if (p.kind === 'wall') return `timezone(${lit(sourceTz)}, ${ts}) AS ${c}`;
    return c;
  }).join(', ');
}
