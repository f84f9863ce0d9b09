/**
 * Delivers the outbox: every pending message exactly once, in order, paced per channel;
 * then the edits (chat.update) that bring posted messages up to date.
 *
 * Exactly once:
 * - A row is claimed (claim_id + lease) before it is posted; only its owner posts it. A
 *   sweep takes over rows whose lease ran out (their owner crashed or hung).
 * - `attempts` is raised in the database BEFORE each post. A row found with attempts > 0
 *   may already be in Slack (the process died between Slack's answer and our record), so
 *   it is looked up first: every message carries its msg_id in Slack message metadata
 *   (CSV files: a file name derived from it), found with conversations.history/replies.
 *   Only if it is not there is it posted. When the lookup itself is impossible (no
 *   history scope, channel given by name) the message is posted: a duplicate is the
 *   lesser evil than a lost alert. The window for that is one message wide.
 * - A 429 or an ok:false answer means Slack did not post: the attempt is given back.
 *   Rate limits: the transport (src/slack-api/transport.ts) honours Retry-After in the
 *   shared per-channel pacer and tries the same message again; after its rate-limit budget
 *   the message stays pending for the next sweep. Never dropped.
 * - A post whose answer was lost stays pending with its attempt counted: the next sweep
 *   looks it up before posting (the transport's postOnce).
 */
import type { ChatPostMessageArguments } from '@slack/web-api';
import type { Logger } from '../support/log';
import { alertTx } from './db';
import { definitelyNotPosted, refused, slackErrorText as errText, type SlackTransport } from '../slack-api/transport';
import { renderCaseReply, renderCasesCsv, renderThreadParent, type CaseRow, type RenderedMessage, type ThreadRow } from '../render/slack/alerts';

export { retryAfterOf } from '../slack-api/transport';

export const METADATA_EVENT = 'kpi_alert';

export interface DeliveryDeps {
  dbPath: string;
  /** Every Slack write goes through it (paced, Retry-After, the "already posted?" lookup). */
  transport: SlackTransport;
  log: Logger;
  now: () => Date;
  tz: string;
  /** A pending row claimed longer ago than this may be taken over (default 10 min). */
  leaseMs: number;
}

export interface DeliveryStats {
  posted: number;
  /** Found already in Slack after an interrupted attempt (not posted again). */
  reconciled: number;
  uploads: number;
  updated: number;
  rateLimited: number;
  failed: number;
  /** Still pending after this delivery. */
  pending: number;
  errors: string[];
}

interface OutRow {
  msg_id: string;
  kind: 'parent' | 'reply' | 'csv' | 'notice';
  thread_id: string;
  seq: number;
  channel: string;
  channel_id: string | null;
  case_id: string | null;
  level: string | null;
  text: string | null;
  broadcast: boolean;
  attempts: number;
  created_at: string;
  parent_ts: string | null;
  parent_channel_id: string | null;
  parent_state: string | null;
}

export function csvFilename(threadId: string): string {
  return `kpi-alert-cases-${threadId.replace(/^cases:/, '').replace(/[^A-Za-z0-9_-]/g, '')}.csv`;
}

function csvTitle(thread: ThreadRow | undefined, n: number): string {
  return thread?.payload?.includes('"baseline":true') ? `All ${n} open cases tracked` : `All ${n} newly alerted cases`;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class Deliverer {
  constructor(private readonly d: DeliveryDeps) {}

  async deliver(claimId: string): Promise<DeliveryStats> {
    const stats: DeliveryStats = { posted: 0, reconciled: 0, uploads: 0, updated: 0, rateLimited: 0, failed: 0, pending: 0, errors: [] };
    const rateLimitedBefore = this.d.transport.stats.rateLimited;
    await this.deliverOutbox(claimId, stats);
    await this.applyEdits(stats);
    stats.rateLimited = this.d.transport.stats.rateLimited - rateLimitedBefore;
    const [p] = await alertTx(this.d.dbPath, (tx) => tx.q<{ n: number }>(`SELECT count(*) AS n FROM alert_outbox WHERE state = 'pending'`));
    stats.pending = p.n;
    return stats;
  }

  private async deliverOutbox(claimId: string, stats: DeliveryStats): Promise<void> {
    const now = iso(this.d.now());
    const leaseCutoff = iso(new Date(this.d.now().getTime() - this.d.leaseMs));
    const rows = await alertTx(this.d.dbPath, async (tx) => {
      await tx.x(
        `UPDATE alert_outbox SET claim_id = $1, claimed_at = $2::TIMESTAMP
         WHERE state = 'pending' AND (claim_id = $1 OR claim_id IS NULL OR claimed_at < $3::TIMESTAMP)`,
        [claimId, now, leaseCutoff],
      );
      return tx.q<OutRow>(
        `SELECT o.msg_id, o.kind, o.thread_id, o.seq, o.channel, o.channel_id, o.case_id, o.level, o.text, o.broadcast, o.attempts,
                o.created_at, p.ts AS parent_ts, p.channel_id AS parent_channel_id, p.state AS parent_state
         FROM alert_outbox o LEFT JOIN alert_outbox p ON p.msg_id = 'parent:' || o.thread_id
         WHERE o.state = 'pending' AND o.claim_id = $1 ORDER BY o.seq`,
        [claimId],
      );
    });
    const parents = new Map<string, { ts: string; channelId: string }>();
    const blocked = new Set<string>();
    for (const row of rows) {
      let parent: { ts: string; channelId: string } | undefined;
      if (row.kind !== 'parent') {
        parent = parents.get(row.thread_id)
          ?? (row.parent_state === 'sent' && row.parent_ts && row.parent_channel_id ? { ts: row.parent_ts, channelId: row.parent_channel_id } : undefined);
        if (!parent) {
          // The thread's parent is not in Slack yet: wait for it (next sweep), let others take it.
          await this.release(row, claimId, null, false);
          continue;
        }
      }
      if (blocked.has(row.thread_id)) {
        await this.release(row, claimId, null, false);
        continue;
      }
      const sent = await this.deliverOne(row, claimId, parent, stats);
      if (!sent && row.kind === 'parent') blocked.add(row.thread_id);
      if (sent && row.kind === 'parent' && sent.channelId) parents.set(row.thread_id, { ts: sent.ts, channelId: sent.channelId });
    }
  }

  private async release(row: OutRow, claimId: string, error: string | null, giveBackAttempt: boolean): Promise<void> {
    await alertTx(this.d.dbPath, (tx) => tx.x(
      `UPDATE alert_outbox SET claim_id = NULL, last_error = coalesce($3, last_error),
         attempts = CASE WHEN $4 THEN greatest(attempts - 1, 0) ELSE attempts END
       WHERE msg_id = $1 AND claim_id = $2 AND state = 'pending'`,
      [row.msg_id, claimId, error, giveBackAttempt],
    ));
  }

  /** Claims an attempt, posts (or finds) the message, records its ts. Null when it stays pending. */
  private async deliverOne(row: OutRow, claimId: string, parent: { ts: string; channelId: string } | undefined, stats: DeliveryStats): Promise<{ ts: string; channelId: string | null } | null> {
    const now = iso(this.d.now());
    const begun = await alertTx(this.d.dbPath, async (tx) => {
      const [a] = await tx.q<{ attempts: number }>(
        `UPDATE alert_outbox SET attempts = attempts + 1, claimed_at = $3::TIMESTAMP
         WHERE msg_id = $1 AND claim_id = $2 AND state = 'pending' RETURNING attempts`,
        [row.msg_id, claimId, now],
      );
      if (!a) return null;
      await tx.x(`UPDATE alert_outbox SET claimed_at = $2::TIMESTAMP WHERE claim_id = $1 AND state = 'pending'`, [claimId, now]);
      let thread: ThreadRow | undefined;
      let cases: CaseRow[] = [];
      if (row.kind === 'parent' || row.kind === 'csv') [thread] = await tx.q<ThreadRow>(`SELECT * FROM alert_thread WHERE thread_id = $1`, [row.thread_id]);
      if (row.kind === 'reply') cases = await tx.q<CaseRow>(`SELECT * FROM alert_case WHERE case_id = $1 AND level = $2`, [row.case_id, row.level]);
      if (row.kind === 'csv') cases = await tx.q<CaseRow>(`SELECT * FROM alert_case WHERE thread_id = $1 ORDER BY rank`, [row.thread_id]);
      return { attempts: a.attempts, thread, cases };
    });
    if (!begun) return null; // someone else owns or finished it
    const channel = parent?.channelId ?? row.channel;
    let ts: string | null = null;
    let channelId: string | null = parent?.channelId ?? null;
    let version: number | null = null;
    let reconciled = false;
    const t = this.d.transport;
    try {
      if (row.kind === 'csv') {
        const name = csvFilename(row.thread_id);
        // The CSV's file name is derived from its thread: an interrupted upload is found by it.
        const found = begun.attempts > 1
          ? await t.findPosted(channel, (m) => Boolean(m.files?.some((f) => f.name === name)), { threadTs: parent!.ts })
          : null;
        if (found) {
          ts = `file:${found}`;
          reconciled = true;
        } else {
          const files = await t.upload({
            channel, threadTs: parent!.ts,
            files: [{ filename: name, content: renderCasesCsv(begun.cases), title: csvTitle(begun.thread, begun.cases.length) }],
          });
          ts = `file:${files[0]?.id ?? 'unknown'}`;
          stats.uploads += 1;
        }
      } else {
        let msg: RenderedMessage;
        if (row.kind === 'parent') {
          if (!begun.thread) throw new Error(`alert thread ${row.thread_id} is missing`);
          msg = renderThreadParent(begun.thread, this.d.tz);
          version = begun.thread.version;
        } else if (row.kind === 'reply') {
          const c = begun.cases[0];
          if (!c) throw new Error(`alert case ${row.case_id}/${row.level} is missing`);
          msg = renderCaseReply(c, this.d.tz);
          version = c.version;
        } else {
          msg = { text: row.text ?? '' };
        }
        const args = {
          channel, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}),
          ...(parent ? { thread_ts: parent.ts } : {}), ...(row.broadcast ? { reply_broadcast: true } : {}),
          unfurl_links: false, unfurl_media: false,
        } as ChatPostMessageArguments & { channel: string };
        // A lost answer: keep the message pending with its attempt counted; the next sweep looks first.
        const res = await t.postOnce(args, { eventType: METADATA_EVENT, msgId: row.msg_id }, {
          mayBePosted: begun.attempts > 1, since: new Date(Date.parse(row.created_at)), maxLostAnswers: 0,
        });
        ts = res.ts;
        channelId = res.channel;
        reconciled = res.reconciled;
        if (!reconciled) stats.posted += 1;
      }
      if (reconciled) {
        stats.reconciled += 1;
        this.d.log.warn({ msgId: row.msg_id }, 'alert message found already posted after an interrupted attempt; not posting again');
      }
    } catch (e) {
      stats.failed += 1;
      stats.errors.push(`${row.msg_id}: ${errText(e)}`);
      this.d.log.warn({ msgId: row.msg_id, error: errText(e) }, 'alert message not delivered; it stays pending for the next sweep');
      await this.release(row, claimId, errText(e), definitelyNotPosted(e));
      return null;
    }
    const sentAt = iso(this.d.now());
    await alertTx(this.d.dbPath, async (tx) => {
      await tx.x(
        `UPDATE alert_outbox SET state = 'sent', ts = $2, channel_id = $3, sent_at = $4::TIMESTAMP, claim_id = NULL, last_error = NULL
         WHERE msg_id = $1 AND state = 'pending'`,
        [row.msg_id, ts, channelId, sentAt],
      );
      if (version !== null && !reconciled && row.kind === 'parent') {
        await tx.x(`UPDATE alert_thread SET shown_version = greatest(shown_version, $2) WHERE thread_id = $1`, [row.thread_id, version]);
      }
      if (version !== null && !reconciled && row.kind === 'reply') {
        await tx.x(`UPDATE alert_case SET shown_version = greatest(shown_version, $3) WHERE case_id = $1 AND level = $2`, [row.case_id, row.level, version]);
      }
    });
    return { ts: ts!, channelId };
  }

  /** chat.update for every posted message whose state changed (acknowledged, snoozed, resolved). */
  private async applyEdits(stats: DeliveryStats): Promise<void> {
    const { cases, threads } = await alertTx(this.d.dbPath, async (tx) => ({
      cases: await tx.q<CaseRow & { msg_ts: string; channel_id: string }>(
        `SELECT c.*, o.ts AS msg_ts, o.channel_id FROM alert_case c
         JOIN alert_outbox o ON o.msg_id = 'reply:' || c.thread_id || ':' || c.case_id || ':' || c.level
         WHERE c.has_reply AND c.version > c.shown_version AND o.state = 'sent' ORDER BY c.thread_id, c.rank`,
      ),
      threads: await tx.q<ThreadRow & { msg_ts: string; channel_id: string }>(
        `SELECT t.*, o.ts AS msg_ts, o.channel_id FROM alert_thread t
         JOIN alert_outbox o ON o.msg_id = 'parent:' || t.thread_id
         WHERE t.version > t.shown_version AND o.state = 'sent' ORDER BY t.created_at`,
      ),
    }));
    const doneCases: [string, string, number][] = [];
    const doneThreads: [string, number][] = [];
    const update = async (channelId: string, ts: string, msg: RenderedMessage): Promise<boolean> => {
      try {
        await this.d.transport.update(channelId, ts, msg.text, msg.blocks ?? []);
        stats.updated += 1;
        return true;
      } catch (e) {
        stats.errors.push(`update ${ts}: ${errText(e)}`);
        // Slack refused for good (message deleted, ...): stop trying. Otherwise the next sweep retries.
        const permanent = refused(e);
        this.d.log.warn({ ts, error: errText(e), permanent }, 'alert message edit failed');
        return permanent;
      }
    };
    for (const c of cases) {
      if (await update(c.channel_id, c.msg_ts, renderCaseReply(c, this.d.tz))) doneCases.push([c.case_id, c.level, c.version]);
    }
    for (const t of threads) {
      if (await update(t.channel_id, t.msg_ts, renderThreadParent(t, this.d.tz))) doneThreads.push([t.thread_id, t.version]);
    }
    if (doneCases.length === 0 && doneThreads.length === 0) return;
    await alertTx(this.d.dbPath, async (tx) => {
      for (const [id, level, v] of doneCases) {
        await tx.x(`UPDATE alert_case SET shown_version = greatest(shown_version, $3) WHERE case_id = $1 AND level = $2`, [id, level, v]);
      }
      for (const [id, v] of doneThreads) {
        await tx.x(`UPDATE alert_thread SET shown_version = greatest(shown_version, $2) WHERE thread_id = $1`, [id, v]);
      }
    });
  }
}
