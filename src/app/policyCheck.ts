/**
 * `kpi policy check [FILE]`: reads an SLA policy file (contract 6.1) the way a run does and
 * prints what it understood, like `dbt parse`: each calendar with its weekly hours in its
 * zone and its next holidays, the risk stages, and the policies in the order they are tried
 * with their conditions, calendars, pauses and targets. A mistake is reported with the file
 * and the line (SettingError), and the command exits 2.
 */
import { CALENDAR_24X7, PRIORITIES, WEEKDAYS, type BusinessCalendar, type SlaPolicySet, type Weekday } from '../contract/slaPolicy';
import { fmtInterval } from '../config/slaPolicyFile';

const hours = (s: number) => {
  const h = s / 3600;
  return Number.isInteger(h) ? `${h}h` : s % 60 === 0 && (s / 60) % 60 !== 0 && s < 3600 ? `${s / 60}m` : `${Math.round(h * 100) / 100}h`;
};

/** Runs of weekdays with the same intervals: `mon-thu  08:00-12:00, 13:00-18:00`. */
function weeklyLines(cal: BusinessCalendar): string[] {
  const text = (d: Weekday) => cal.weekly[d].map(fmtInterval).join(', ') || 'closed';
  const lines: string[] = [];
  for (let i = 0; i < WEEKDAYS.length;) {
    let j = i;
    while (j + 1 < WEEKDAYS.length && text(WEEKDAYS[j + 1]) === text(WEEKDAYS[i])) j++;
    const days = i === j ? WEEKDAYS[i] : `${WEEKDAYS[i]}-${WEEKDAYS[j]}`;
    lines.push(`    ${days.padEnd(8)} ${text(WEEKDAYS[i])}`);
    i = j + 1;
  }
  const minutes = WEEKDAYS.reduce((n, d) => n + cal.weekly[d].reduce((m, iv) => m + iv.end - iv.start, 0), 0);
  lines.push(`    ${minutes / 60} business hours a week (wall clock in ${cal.timezone})`);
  return lines;
}

/** The check's text for a policy set, holidays from `today` (YYYY-MM-DD) on. */
export function describePolicySet(set: SlaPolicySet, today: string, nextHolidays = 5): string {
  const out: string[] = [`SLA policy file ${set.file ?? '(built in)'}: OK`, '', 'Calendars:'];
  const used = new Set(set.policies.map((p) => p.calendar));
  for (const cal of Object.values(set.calendars)) {
    if (cal.is24x7) {
      if (used.has(CALENDAR_24X7)) out.push(`  ${CALENDAR_24X7} (built in): every hour counts`);
      continue;
    }
    out.push(`  ${cal.name} (${cal.timezone})${cal.line ? `, line ${cal.line}` : ''}${used.has(cal.name) ? '' : ' - not used by any policy'}`);
    out.push(...weeklyLines(cal));
    const next = cal.holidays.filter((d) => d >= today);
    out.push(`    holidays: ${cal.holidays.length} in all; next: ${next.length ? next.slice(0, nextHolidays).join(', ') + (next.length > nextHolidays ? ', ...' : '') : 'none'}`);
  }
  out.push('', `Risk stages: ${set.riskStages?.length ? set.riskStages.map((s) => `${s}%`).join(', ') : '(none: KPI_RISK_THRESHOLD_PCT)'} of the resolution target; the lowest lists a case as at risk`);
  out.push('', 'Policies (the first whose `when` matches applies):');
  set.policies.forEach((p, i) => {
    const when = Object.entries(p.when).map(([k, v]) => `${k} in [${v!.join(', ')}]`).join(' and ') || 'every case';
    out.push(`  ${i + 1}. ${p.name}${p.line ? ` (line ${p.line})` : ''}`);
    out.push(`     when:     ${when}`);
    out.push(`     calendar: ${p.calendar}`);
    out.push(`     pauses:   ${p.pauseOn.length ? `resolution clock paused in status ${p.pauseOn.join(', ')}` : 'none'}`);
    for (const pr of PRIORITIES) {
      const t = p.targets[pr];
      out.push(`     ${pr}:       ${t ? `first response ${hours(t.firstResponseS)}, resolution ${hours(t.resolutionS)}` : 'no target (no SLA outcome)'}`);
    }
  });
  const last = set.policies[set.policies.length - 1];
  if (!last || Object.keys(last.when).length) out.push('', 'Cases that no policy matches have no SLA target (counted as NO_POLICY in sla_policy_summary.csv).');
  return `${out.join('\n')}\n`;
}
