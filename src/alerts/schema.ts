/** Alert state in the state store: the tables of alert_state.sql (see docs/alerts.md). */
import { ensureSchema } from '../db/stateStore';
import { sqlText } from '../db/sqlFiles';

export const ALERT_SCHEMA_SQL = sqlText('alerts/alert_state.sql');

const ready = new Set<string>();

/** Creates the alert tables once per database file and process (idempotent). */
export async function ensureAlertSchema(dbPath: string): Promise<void> {
  if (ready.has(dbPath)) return;
  await ensureSchema(dbPath, ALERT_SCHEMA_SQL);
  ready.add(dbPath);
}
