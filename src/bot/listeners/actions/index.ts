/**
 * Button listeners: the Acknowledge and Snooze 1 h buttons on each alerted case. Bolt checks
 * the request signature (x-slack-signature, SLACK_SIGNING_SECRET) before a handler runs; the
 * handler acks, records the click in the alert state (alerts/actions.ts) and edits the
 * message.
 *
 *   register(app, { dbPath: settings.KPI_STATE_PATH, tz: settings.KPI_TZ, log });
 */
import type { App, BlockButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { markShown, parseButtonValue, recordAlertAction, type AlertActionDeps, type AlertActionKind } from '../../../alerts/actions';
import { ACK_ACTION, SNOOZE_ACTION, renderCaseReply } from '../../../render/slack/alerts';
import { errorText } from '../../../support/errors';
import { silentLogger } from '../../../support/log';

export function register(app: App, deps: AlertActionDeps): void {
  const log = deps.log ?? silentLogger();
  const now = deps.now ?? (() => new Date());
  const tz = deps.tz ?? 'UTC';

  const handle = (kind: AlertActionKind) => async (args: {
    ack: () => Promise<void>; body: BlockButtonAction; action: BlockButtonAction['actions'][number]; client: WebClient;
  }) => {
    await args.ack();
    const { body, action } = args;
    const client = deps.client ?? args.client;
    const v = parseButtonValue(action.value);
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
      await markShown(deps.dbPath, c);
    } catch (e) {
      // The next sweep's edit pass brings the message up to date (version > shown_version).
      log.warn({ caseId: c.case_id, error: errorText(e) }, 'alert button: message edit failed; the next sweep retries it');
    }
  };

  app.action<BlockButtonAction>(ACK_ACTION, handle('ack') as never);
  app.action<BlockButtonAction>(SNOOZE_ACTION, handle('snooze') as never);
}
