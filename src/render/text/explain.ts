/**
 * `kpi explain` on the terminal: a CaseExplanation (kpi/explain.ts) as plain text. Times
 * are wall-clock times in the calendar's zone with their offset (UTC for 24x7), because
 * business hours are read there.
 */
import { durationText, zonedText, type CaseExplanation, type ExplainCheck, type ExplainClock, type ExplainPolicyTried } from '../../kpi/explain';

const num1 = (x: number) => (Math.round(x * 10) / 10).toFixed(1);
const hours2 = (x: number) => (Math.round(x * 100) / 100).toFixed(2);

/** `team "billing" is not one of night-berlin` / `region "EMEA" is one of EMEA, eu-*`. */
export function checkText(c: ExplainCheck): string {
  const key = c.key;
  const values = c.values.join(', ');
  if (c.caseValue == null || c.caseValue === '') return `${key} is empty, not one of ${values}`;
  return `${key} "${c.caseValue}" is ${c.matched ? '' : 'not '}one of ${values}`;
}

/** One policy tried: why it matched or not. */
export function policyTriedText(p: ExplainPolicyTried): string {
  if (!p.checks.length) return 'matched: no conditions (matches every case)';
  if (p.matched) return `matched: ${p.checks.map(checkText).join('; ')}`;
  return `not matched: ${p.checks.filter((c) => !c.matched).map(checkText).join('; ')}`;
}

export const policyLabel = (p: ExplainPolicyTried, file: string | null) =>
  p.line != null && file ? `${p.name} (${file}:${p.line})` : p.line != null ? `${p.name} (line ${p.line})` : `${p.name} (built in)`;

/** The attributes line: `priority P2, status pending, region EMEA, ...` (empty ones left out). */
export function attributesText(e: CaseExplanation): string {
  const a = e.attributes;
  const pairs: Array<[string, string | null]> = [
    ['priority', a.priority ?? (a.priorityRaw ? `${a.priorityRaw} (unknown)` : null)],
    ['status', a.status], ['region', a.region], ['channel', a.channel], ['team', a.team], ['customer_tier', a.customerTier],
  ];
  return pairs.filter(([, v]) => v != null && v !== '').map(([k, v]) => `${k} ${v}`).join(', ') || 'no attributes';
}

/** The summary lines of one clock: elapsed against target, due, outcome, state and stage. */
export function clockSummary(c: ExplainClock, e: CaseExplanation, kind: 'resolution' | 'first_response', tz: string): string[] {
  const out: string[] = [];
  if (c.clockS == null) {
    out.push('no clock: resolved_at is before created_at');
    return out;
  }
  const pct = c.elapsedPct != null ? ` (${num1(c.elapsedPct)}%)` : '';
  const of = c.targetS != null ? ` of ${durationText(c.targetS)}` : '';
  const paused = kind === 'resolution' && c.pausedS ? `, paused ${durationText(c.pausedS)}` : '';
  out.push(`on the clock ${durationText(c.clockS)}${of}${pct}${paused}`);
  if (c.stoppedAtMs != null) out.push(`${kind === 'resolution' ? 'resolved' : 'responded'} at ${zonedText(c.stoppedAtMs, tz)}`);
  if (c.targetS != null) {
    if (c.dueAtMs != null) {
      const left = c.hoursToBreach != null ? ` (${c.hoursToBreach >= 0 ? 'in' : 'overdue by'} ${hours2(Math.abs(c.hoursToBreach))} h)` : '';
      out.push(`due ${zonedText(c.dueAtMs, tz)}${left}`);
    } else if (kind === 'resolution' && c.clockState === 'paused') {
      out.push('due: none while the clock is paused');
    } else {
      out.push('due: beyond the calendar span');
    }
  }
  const facts: string[] = [];
  facts.push(`outcome ${c.outcome ?? 'none'}`);
  if (kind === 'resolution' && e.open) facts.push(`clock ${c.clockState ?? 'none'}`);
  if (kind === 'resolution' && e.open && c.targetS != null) facts.push(`stage ${c.riskStage ?? 'below the lowest'}`);
  out.push(facts.join(', '));
  return out;
}

/** A clock's stretches as aligned lines (columns as wide as their widest cell). */
export function stretchLines(c: ExplainClock, tz: string): string[] {
  const cells = c.stretches.map((s) => [zonedText(s.fromMs, tz), zonedText(s.toMs, tz), durationText(s.businessS)]);
  const w = [0, 1, 2].map((i) => Math.max(i === 2 ? 8 : 0, ...cells.map((x) => x[i].length)));
  return c.stretches.map((s, k) => {
    const status = s.status != null ? ` status ${s.status}` : '';
    const [from, to, dur] = cells[k];
    return `${s.state.padEnd(7)} ${from.padEnd(w[0])} -> ${to.padEnd(w[1])}  ${dur.padStart(w[2])}${status}`;
  });
}

/** The whole explanation, one line each, ending with a newline. */
export function renderExplainText(e: CaseExplanation): string {
  const tz = e.calendar?.timezone ?? 'UTC';
  const L: string[] = [];
  L.push(`Case ${e.caseId} as of ${zonedText(e.asOfMs, 'UTC')}`);
  L.push(`  ${attributesText(e)}`);
  L.push(`  created ${zonedText(e.createdAtMs, tz)}, ${e.open ? 'open' : e.resolvedAtMs != null ? `resolved ${zonedText(e.resolvedAtMs, tz)}` : 'closed without resolved_at'}`);
  L.push('');
  L.push(`Policy: ${e.policy ?? 'none (NO_POLICY)'}${e.policyFile ? ` from ${e.policyFile}` : ' (built in: no policy file)'}`);
  for (const p of e.policiesTried) L.push(`  ${policyLabel(p, null)}: ${policyTriedText(p)}`);
  if (e.calendar) {
    const c = e.calendar;
    L.push(`Calendar: ${c.name}${c.is24x7 ? ' (every hour counts)' : `, ${c.timezone}`}`);
    const w = Math.max(0, ...c.weekly.map((x) => x.days.length));
    for (const x of c.weekly) L.push(`  ${x.days.padEnd(w)}  ${x.hours}`);
    if (!c.is24x7) L.push(`  holidays in the case's span: ${c.holidaysInSpan.length ? c.holidaysInSpan.join(', ') : 'none'}`);
    L.push(`Pauses: ${e.pauseOn.length ? e.pauseOn.join(', ') : 'none (the resolution clock never pauses)'}`);
    L.push(`Risk stages: ${e.riskStages.join(', ')} (% of target)`);
  }
  if (e.noTargetReason) L.push(`No SLA target: ${e.noTargetReason}`);
  for (const [kind, title, c] of [
    ['resolution', 'Resolution clock', e.resolution], ['first_response', 'First response clock', e.firstResponse],
  ] as const) {
    L.push('');
    L.push(`${title}: ${c.targetS != null ? `target ${durationText(c.targetS)}` : 'no target'}${kind === 'resolution' ? `, ${e.historyRows} status change(s)` : ''}`);
    for (const s of stretchLines(c, tz)) L.push(`  ${s}`);
    for (const s of clockSummary(c, e, kind, tz)) L.push(`  ${s}`);
  }
  return `${L.join('\n')}\n`;
}
