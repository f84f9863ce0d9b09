/**
 * `/kpi explain CASE_ID` in Slack: a CaseExplanation (kpi/explain.ts) as Block Kit. The
 * same facts as the terminal text (render/text/explain.ts): the policies tried and why, the
 * calendar, each clock's stretches (a code block, times in the calendar's zone), target,
 * clock, due, outcome, state and stage.
 */
import { durationText, zonedText, type CaseExplanation, type ExplainClock } from '../../kpi/explain';
import { attributesText, clockSummary, policyTriedText, stretchLines } from '../text/explain';
import { context, divider, esc, fields, header, section, truncate, type Block, type Reply } from './format';

/** Stretches in a code block, cut to stay inside a section's 3000 characters. */
function stretchBlock(c: ExplainClock, tz: string): string {
  const lines = stretchLines(c, tz);
  if (!lines.length) return '_no stretch: the clock has not run_';
  const MAX = 2800;
  const out: string[] = [];
  let len = 0;
  for (let i = 0; i < lines.length; i++) {
    if (len + lines[i].length + 1 > MAX) {
      out.push(`… ${lines.length - i} more stretch(es): run kpi explain on the terminal`);
      break;
    }
    out.push(lines[i]);
    len += lines[i].length + 1;
  }
  return '```\n' + esc(out.join('\n')).replace(/```/g, "'''") + '\n```';
}

const outcomeEmoji: Record<string, string> = { met: ':white_check_mark:', breached: ':red_circle:', pending: ':hourglass_flowing_sand:' };

function clockBlocks(title: string, c: ExplainClock, e: CaseExplanation, kind: 'resolution' | 'first_response', tz: string): Block[] {
  const pairs: [string, string][] = [
    ['Target', c.targetS != null ? durationText(c.targetS) : 'none'],
    ['On the clock', c.clockS != null ? `${durationText(c.clockS)}${c.elapsedPct != null ? ` (${(Math.round(c.elapsedPct * 10) / 10).toFixed(1)}%)` : ''}` : 'none'],
    ['Due', c.dueAtMs != null ? esc(zonedText(c.dueAtMs, tz)) : kind === 'resolution' && c.clockState === 'paused' ? 'none while paused' : 'none'],
    ['Outcome', c.outcome ? `${outcomeEmoji[c.outcome]} ${c.outcome}` : 'none'],
  ];
  if (kind === 'resolution') {
    pairs.push(['Paused', c.pausedS != null ? durationText(c.pausedS) : 'none']);
    if (e.open) {
      pairs.push(['Clock', c.clockState ?? 'none']);
      if (c.targetS != null) pairs.push(['Stage', c.riskStage != null ? `${c.riskStage}%` : 'below the lowest']);
    }
  }
  if (c.hoursToBreach != null) pairs.push(['Hours to breach', (Math.round(c.hoursToBreach * 100) / 100).toFixed(2)]);
  return [
    section(`*${title}*`),
    fields(pairs),
    section(stretchBlock(c, tz)),
    context(esc(clockSummary(c, e, kind, tz).join(' · '))),
  ];
}

export function renderExplainBlocks(e: CaseExplanation): Reply {
  const tz = e.calendar?.timezone ?? 'UTC';
  const blocks: Block[] = [header(`Case ${truncate(e.caseId, 80)}: SLA clocks explained`)];
  const state = e.open ? 'open' : e.resolvedAtMs != null ? `resolved ${zonedText(e.resolvedAtMs, tz)}` : 'closed without resolved_at';
  blocks.push(section(esc(`${attributesText(e)}\ncreated ${zonedText(e.createdAtMs, tz)}, ${state}`)));
  const tried = e.policiesTried.map((p) => `${p.matched ? ':white_check_mark:' : ':x:'} *${esc(p.name)}*${p.line != null ? ` (line ${p.line})` : ''}: ${esc(policyTriedText(p))}`);
  blocks.push(section(`*Policy:* ${e.policy ? `*${esc(e.policy)}*` : 'none (NO_POLICY)'}\n${tried.join('\n')}`.slice(0, 3000)));
  if (e.calendar) {
    const c = e.calendar;
    const lines = [`*Calendar:* ${esc(c.name)}${c.is24x7 ? ' (every hour counts)' : `, ${esc(c.timezone)}`}`];
    for (const w of c.weekly) lines.push(`• \`${w.days}\` ${w.hours}`);
    if (!c.is24x7) lines.push(`Holidays in the case's span: ${c.holidaysInSpan.length ? c.holidaysInSpan.join(', ') : 'none'}`);
    lines.push(`Pauses on: ${e.pauseOn.length ? esc(e.pauseOn.join(', ')) : 'nothing'} · Risk stages: ${e.riskStages.join(', ')}%`);
    blocks.push(section(lines.join('\n')));
  }
  if (e.noTargetReason) blocks.push(section(`:information_source: No SLA target: ${esc(e.noTargetReason)}`));
  blocks.push(divider());
  blocks.push(...clockBlocks('Resolution clock', e.resolution, e, 'resolution', tz));
  blocks.push(divider());
  blocks.push(...clockBlocks('First response clock', e.firstResponse, e, 'first_response', tz));
  blocks.push(context(`As of ${esc(zonedText(e.asOfMs, 'UTC'))} · times in ${esc(tz)} · ${e.policyFile ? `policies from ${esc(e.policyFile)}` : 'built-in default policy'}`));
  const r = e.resolution;
  const text = `Case ${e.caseId}: policy ${e.policy ?? 'none'}, resolution ${r.clockS != null ? durationText(r.clockS) : 'n/a'}` +
    `${r.targetS != null ? ` of ${durationText(r.targetS)}` : ''}, ${r.outcome ?? 'no outcome'}`;
  return { text, blocks };
}

/** The answer when the case is not among the run's cases. */
export function renderExplainNotFound(message: string): Reply {
  return { text: message, blocks: [section(`:mag: ${esc(message)}`)] };
}
