/**
 * What the buttons on each alerted case do to the alert state: Acknowledge records who and
 * when; Snooze 1 h holds escalation reminders for that case for an hour. The Bolt listener
 * (bot/listeners/actions) calls these and edits the message.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../support/log';
import { alertTx } from './db';
import type { ChannelPacer } from '../slack-api/pacer';
import { SNOOZE_MS, type CaseRow } from '../render/slack/alerts';
import { isoSeconds } from '../support/time';
import { isAlertLevel } from '../contract/alertLevels';

export interface AlertActionDeps {
  dbPath: string;
  /** Zone for times in messages (KPI_TZ, default UTC). */
  tz?: string;
  log?: Logger;
  now?: () => Date;
  /** Edits go through the alert job's pacer when given (same channel budget). */
  pacer?: ChannelPacer;
  /** Default: the client Bolt hands the listener. */
  client?: WebClient;
}

export type AlertActionKind = 'ack' | 'snooze';

export interface AlertActionResult {
  ok: boolean;
  case?: CaseRow;
  reason?: string;
}

/** The case and level a button carries in its value, or null when it is not one of ours. */
export function parseButtonValue(v: string | undefined): { c: string; l: string } | null {
  if (!v) return null;
  try {
    const o = JSON.parse(v) as { c?: unknown; l?: unknown };
    if (typeof o.c === 'string' && isAlertLevel(o.l)) return { c: o.c, l: o.l };
  } catch { /* not ours */ }
  return null;
}

/**
 * Records an acknowledgement or a snooze in the alert state. The first acknowledgement
 * wins (a second click keeps who acknowledged first); a snooze runs an hour from the click.
 * Both apply to the case, every step of it: an acknowledgement carries over to later steps.
 */
export async function recordAlertAction(dbPath: string, kind: AlertActionKind, caseId: string, level: string, user: string, at: Date): Promise<AlertActionResult> {
  const now = isoSeconds(at);
  return alertTx(dbPath, async (tx) => {
    const rows = kind === 'ack'
      ? await tx.q<CaseRow>(
        `UPDATE alert_case SET acked_by = coalesce(acked_by, $2), acked_at = coalesce(acked_at, $3::TIMESTAMP), version = version + 1
         WHERE case_id = $1 RETURNING *`, [caseId, user, now])
      : await tx.q<CaseRow>(
        `UPDATE alert_case SET snoozed_by = $2, snoozed_until = $3::TIMESTAMP, version = version + 1
         WHERE case_id = $1 RETURNING *`, [caseId, user, isoSeconds(new Date(at.getTime() + SNOOZE_MS))]);
    const clicked = rows.find((r) => r.level === level);
    if (!clicked) return { ok: false, reason: 'This alert is no longer known (it was resolved long ago and forgotten).' };
    return { ok: true, case: clicked };
  });
}

/** Records that Slack now shows version `version` of the case's reply. */
export async function markShown(dbPath: string, c: CaseRow): Promise<void> {
  await alertTx(dbPath, (tx) => tx.x(
    `UPDATE alert_case SET shown_version = greatest(shown_version, $3) WHERE case_id = $1 AND level = $2`, [c.case_id, c.level, c.version],
  ));
}
