/**
 * Maps a source's own column names to the contract's: the configured KPI_COLUMN_MAP first,
 * then a case-insensitive match on the contract name. Missing required columns produce one
 * message listing them and the mapping that would fix it.
 */
import { SourceError } from './types';
import { CONTRACT_COLUMNS, REQUIRED_COLUMNS, type ContractColumn } from '../contract/columns';

export interface ColumnMapping {
  /** contract column -> source column */
  select: Partial<Record<ContractColumn, string>>;
}

export function mapColumns(sourceColumns: string[], configured: Record<string, ContractColumn>, what: string): ColumnMapping {
  const select: Partial<Record<ContractColumn, string>> = {};
  const lower = new Map(sourceColumns.map((c) => [c.toLowerCase(), c]));
  for (const [src, dst] of Object.entries(configured)) {
    const actual = lower.get(src.toLowerCase());
    if (actual) select[dst] = actual;
  }
  for (const c of CONTRACT_COLUMNS) {
    if (select[c]) continue;
    const actual = lower.get(c);
    if (actual && !Object.values(select).includes(actual)) select[c] = actual;
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !select[c]);
  if (missing.length) {
    const unused = sourceColumns.filter((c) => !Object.values(select).includes(c));
    const suggestion = missing
      .map((m) => `${guess(m, unused) ?? '<your_column>'}:${m}`)
      .join(',');
    throw new SourceError(
      `${what} lacks required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. ` +
        `Its columns are: ${sourceColumns.join(', ') || '(none)'}. ` +
        `Map them with KPI_COLUMN_MAP, e.g. KPI_COLUMN_MAP=${suggestion}`,
    );
  }
  return { select };
}

const HINTS: Record<string, string[]> = {
  case_id: ['ticket_id', 'id', 'case_number', 'ticket', 'number', 'case'],
  created_at: ['opened_at', 'created', 'open_date', 'created_date', 'opened', 'creation_date', 'submitted_at'],
  status: ['state', 'ticket_status', 'case_status'],
  priority: ['severity', 'urgency', 'prio', 'ticket_priority'],
};

function guess(contract: string, candidates: string[]): string | undefined {
  const lc = candidates.map((c) => c.toLowerCase());
  for (const h of HINTS[contract] ?? []) {
    const i = lc.indexOf(h);
    if (i >= 0) return candidates[i];
  }
  const stem = contract.split('_')[0];
  return candidates.find((c) => c.toLowerCase().includes(stem));
}

/**
 * The status history's columns (contract 6.3): the configured history map first, then a
 * case-insensitive match on the name. Returns `SELECT` items naming them case_id, status,
 * changed_at; a missing one is a SourceError naming the input and its columns.
 */
export function historySelect(sourceColumns: string[], configured: Record<string, string>, what: string, quote: (name: string) => string): string {
  const select: Record<string, string> = {};
  const lower = new Map(sourceColumns.map((c) => [c.toLowerCase(), c]));
  for (const [src, dst] of Object.entries(configured)) {
    const actual = lower.get(src.toLowerCase());
    if (actual) select[dst] = actual;
  }
  for (const c of ['case_id', 'status', 'changed_at']) {
    if (select[c]) continue;
    const actual = lower.get(c);
    if (actual && !Object.values(select).includes(actual)) select[c] = actual;
  }
  const missing = ['case_id', 'status', 'changed_at'].filter((c) => !select[c]);
  if (missing.length) {
    throw new SourceError(
      `${what} lacks required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. ` +
        `Its columns are: ${sourceColumns.join(', ') || '(none)'}. ` +
        `Map them with KPI_HISTORY_COLUMN_MAP, e.g. KPI_HISTORY_COLUMN_MAP=${missing.map((m) => `<your_column>:${m}`).join(',')}`,
    );
  }
  return ['case_id', 'status', 'changed_at'].map((c) => `${quote(select[c])} AS ${c}`).join(', ');
}
