/**
 * The buttons on each alerted case (Bolt): Acknowledge records who and when and edits the
 * message; Snooze 1 h holds escalation reminders for that case for an hour. Bolt checks
 * the request signature (x-slack-signature, SLACK_SIGNING_SECRET) before a handler runs.
 *
 *   registerAlertActions(app, { dbPath: settings.KPI_DB_PATH, tz: settings.KPI_TZ, log });
 */
import type { App, BlockButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { silentLogger, type Logger } from '../support/log';
import { alertTx } from './db';
import type { ChannelPacer } from '../slack-api/pacer';
import { ACK_ACTION, SNOOZE_ACTION, SNOOZE_MS, renderCaseReply, type CaseRow } from '../render/slack/alerts';

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

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function parseValue(v: string | undefined): { c: string; l: string } | null {
  if (!v) return null;
  try {
    const o = JSON.parse(v) as { c?: unknown; l?: unknown };
    if (typeof o.c === 'string' && (o.l === 'at_risk' || o.l === 'breached')) return { c: o.c, l: o.l };
  } catch { /* not ours */ }
  return null;
}

/**
 * Records an acknowledgement or a snooze in the alert state. The first acknowledgement
 * wins (a second click keeps who acknowledged first); a snooze runs an hour from the click.
 */
export async function recordAlertAction(dbPath: string, kind: AlertActionKind, caseId: string, level: string, user: string, at: Date): Promise<AlertActionResult> {
  const now = iso(at);
  return alertTx(dbPath, async (tx) => {
    const rows = kind === 'ack'
      ? await tx.q<CaseRow>(
        `UPDATE alert_case SET acked_by = coalesce(acked_by, $3), acked_at = coalesce(acked_at, $4::TIMESTAMP), version = version + 1
         WHERE case_id = $1 AND level = $2 RETURNING *`, [caseId, level, user, now])
      : await tx.q<CaseRow>(
        `UPDATE alert_case SET snoozed_by = $3, snoozed_until = $4::TIMESTAMP, version = version + 1
         WHERE case_id = $1 AND level = $2 RETURNING *`, [caseId, level, user, iso(new Date(at.getTime() + SNOOZE_MS))]);
    if (rows.length === 0) return { ok: false, reason: 'This alert is no longer known (it was resolved long ago and forgotten).' };
    return { ok: true, case: rows[0] };
  });
}

export function registerAlertActions(app: App, deps: AlertActionDeps): void {
  const log = deps.log ?? silentLogger();
  const now = deps.now ?? (() => new Date());
  const tz = deps.tz ?? 'UTC';

  const handle = (kind: AlertActionKind) => async (args: {
    ack: () => Promise<void>; body: BlockButtonAction; action: BlockButtonAction['actions'][number]; client: WebClient;
  }) => {
    await args.ack();
    const { body, action } = args;
    const client = deps.client ?? args.client;
    const v = parseValue(action.value);
    const channel = body.channel?.id ?? body.container?.channel_id;
    const ts = body.message?.ts ?? body.container?.message_ts;
    if (!v) {
      log.warn({ actionId: action.action_id }, 'alert button with an unknown value');
      return;
    }
    const res = await recordAlertAction(deps.dbPath, kind, v.c, v.l, body.user.id, now());
    log.info({ kind, caseId: v.c, level: v.l, user: body.user.id, ok: res.ok }, 'alert button');
    if (!res.ok || !res.case || !channel || !ts) {
      if (channel && res.reason) {
        await client.chat.postEphemeral({ channel, user: body.user.id, text: res.reason, ...(ts ? { thread_ts: ts } : {}) }).catch(() => undefined);
      }
      return;
    }
    const c = res.case;
    const msg = renderCaseReply(c, tz);
    try {
      const edit = () => client.chat.update({ channel, ts, text: msg.text, blocks: msg.blocks ?? [] });
      if (deps.pacer) await deps.pacer.run(channel, edit);
      else await edit();
      await alertTx(deps.dbPath, (tx) => tx.x(
        `UPDATE alert_case SET shown_version = greatest(shown_version, $3) WHERE case_id = $1 AND level = $2`, [c.case_id, c.level, c.version],
      ));
    } catch (e) {
      // The next sweep's edit pass brings the message up to date (version > shown_version).
      log.warn({ caseId: c.case_id, error: e instanceof Error ? e.message : String(e) }, 'alert button: message edit failed; the next sweep retries it');
    }
  };

  app.action<BlockButtonAction>(ACK_ACTION, handle('ack') as never);
  app.action<BlockButtonAction>(SNOOZE_ACTION, handle('snooze') as never);
}
