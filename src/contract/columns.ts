/**
 * The input contract (section 1): column names, which are required, the timestamp columns,
 * and the fixed vocabularies (priority aliases, status families).
 */
export const CONTRACT_COLUMNS = [
  'case_id', 'created_at', 'first_response_at', 'resolved_at', 'status', 'priority',
  'region', 'channel', 'team', 'assignee', 'customer_tier', 'updated_at',
] as const;
export type ContractColumn = (typeof CONTRACT_COLUMNS)[number];
/**
 * Input columns no report uses: a source may have them, the run does not read them (fewer
 * strings to copy).
 */
export const UNUSED_COLUMNS: readonly ContractColumn[] = ['channel', 'customer_tier'];
export const REQUIRED_COLUMNS: ContractColumn[] = ['case_id', 'created_at', 'status', 'priority'];

export const TIMESTAMP_COLUMNS = ['created_at', 'first_response_at', 'resolved_at', 'updated_at'] as const;
export type TimestampColumn = (typeof TIMESTAMP_COLUMNS)[number];

/** Status families (case-insensitive); statuses that start with a prefix are open too. */

export const OPEN_STATUSES = ['new', 'open', 'pending', 'on_hold', 'on-hold', 'hold', 'active', 'in_progress'];
export const OPEN_PREFIXES = ['awaiting', 'waiting'];
export const CLOSED_STATUSES = ['solved', 'resolved', 'closed', 'done', 'cancelled'];

/** Priority aliases (case-insensitive), by priority. */
export const PRIORITY_ALIASES: Record<string, string[]> = {
  P1: ['p1', '1', 'urgent', 'critical', '1 - critical'],
  P2: ['p2', '2', 'high', '2 - high'],
  P3: ['p3', '3', 'normal', 'medium', 'moderate', '3 - moderate'],
  P4: ['p4', '4', 'low', '4 - low'],
};

/** The contract priority of a raw value (a code or an alias, any case, trimmed), or undefined. */
export function priorityOf(raw: string): 'P1' | 'P2' | 'P3' | 'P4' | undefined {
  const k = raw.trim().toLowerCase();
  for (const [p, aliases] of Object.entries(PRIORITY_ALIASES)) if (aliases.includes(k)) return p as 'P1' | 'P2' | 'P3' | 'P4';
  return undefined;
}
