/**
 * The policy file (contract 6.1): what is read from a good file, and every mistake as a
 * SettingError naming the file, the line and the problem.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_TARGET_HOURS, SettingError, defaultSlaPolicySet, icsAllDayDates, loadSlaPolicyFile, parseDayKey, parseDuration, parseIntervals,
} from '../src/config/slaPolicyFile';
import { POLICY_FILE, loadFixturePolicies } from './sla-policy.helpers';

describe('a good policy file', () => {
  const set = loadFixturePolicies();

  test('calendars: zones, weekly hours (a later key overrides), holidays from the list and the .ics', () => {
    expect(set.file).toBe(POLICY_FILE);
    expect(Object.keys(set.calendars).sort()).toEqual(['24x7', 'berlin-night', 'emea-office', 'ny-night', 'ny-office']);
    const office = set.calendars['emea-office'];
    expect(office.timezone).toBe('Europe/Berlin');
    expect(office.weekly.mon).toEqual([{ start: 480, end: 720 }, { start: 780, end: 1080 }]);
    expect(office.weekly.fri).toEqual([{ start: 480, end: 960 }]);
    expect(office.weekly.sat).toEqual([]);
    // The list, then the .ics: a two-day event (DTEND exclusive), one without DTEND, a recurring
    // one (its first day only); not the timed offsite, not the cancelled day.
    expect(office.holidays).toEqual(['2026-12-24', '2026-12-25', '2026-12-28', '2026-12-29', '2026-12-31', '2027-01-01']);
    const ny = set.calendars['ny-office'];
    expect(ny.weekly.fri).toEqual([{ start: 540, end: 1020 }]);
    expect(ny.weekly.sat).toEqual([]);
    expect(ny.weekly.sun).toEqual([]);
    expect(set.calendars['24x7'].is24x7).toBe(true);
  });

  test('policies in file order with conditions, pauses and targets in seconds', () => {
    expect(set.policies.map((p) => [p.name, p.calendar, p.line])).toEqual([
      ['enterprise', '24x7', 25], ['night-berlin', 'berlin-night', 31], ['night-ny', 'ny-night', 37], ['office', 'emea-office', 42], ['ny', 'ny-office', 49],
    ]);
    expect(set.policies[2].when).toEqual({ team: ['night-ny'], priority: ['P1', 'P2'] });
    expect(set.policies[3].pauseOn).toEqual(['pending', 'waiting*']);
    expect(set.policies[0].targets).toEqual({ P1: { firstResponseS: 900, resolutionS: 14400 } });
    expect(set.riskStages).toEqual([50, 75, 90]);
  });

  test('defaults: policy `default`, section 2 targets, 24x7, no pauses', () => {
    const d = defaultSlaPolicySet(DEFAULT_TARGET_HOURS, 80);
    expect(d.file).toBeNull();
    expect(d.riskStages).toEqual([80]);
    expect(d.policies).toEqual([{
      name: 'default', calendar: '24x7', when: {}, pauseOn: [], line: null,
      targets: { P1: { firstResponseS: 1800, resolutionS: 14400 }, P2: { firstResponseS: 3600, resolutionS: 28800 }, P3: { firstResponseS: 14400, resolutionS: 86400 }, P4: { firstResponseS: 28800, resolutionS: 259200 } },
    }]);
  });
});

describe('parsers', () => {
  test('durations: a number with h or m only', () => {
    expect(parseDuration('1.5h')).toBe(5400);
    expect(parseDuration('90m')).toBe(5400);
    expect(parseDuration('0.25m')).toBe(15);
    for (const bad of ['90', '1h30m', '5400s', '1.5 h', '-1h', '0m', 'h', '1.5d', '0.001m']) expect(typeof parseDuration(bad)).toBe('string');
  });
  test('day keys and intervals', () => {
    expect(parseDayKey('mon-fri')).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(parseDayKey('fri-mon')).toEqual(['fri', 'sat', 'sun', 'mon']);
    expect(parseDayKey('Sat')).toEqual(['sat']);
    expect(parseDayKey('monday')).toBeNull();
    expect(parseIntervals('13:00-18:00, 08:00-12:00, 12:00-12:30')).toEqual([{ start: 480, end: 750 }, { start: 780, end: 1080 }]);
    expect(parseIntervals('00:00-24:00')).toEqual([{ start: 0, end: 1440 }]);
    expect(parseIntervals('')).toEqual([]);
    expect(parseIntervals('18:00-08:00')).toMatch(/inverted/);
    expect(parseIntervals('08:00-12:00, 11:00-13:00')).toMatch(/overlapping intervals 08:00-12:00 and 11:00-13:00/);
    expect(parseIntervals('24:00-24:00')).toMatch(/bad time/);
  });
  test('an .ics without events has no holidays; a broken one is a problem', () => {
    expect(icsAllDayDates('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n')).toEqual([]);
    expect(icsAllDayDates('BEGIN:VCALENDAR\r\nthis is not ical\r\n')).toMatch(/not a valid iCalendar file/);
  });
});

describe('policy file mistakes name the file and the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sla-policy-'));
  mkdirSync(join(dir, 'hol'));
  writeFileSync(join(dir, 'hol/broken.ics'), 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2026122\r\n');
  const CAL = `calendars:
  office:
    timezone: Europe/Berlin
    hours:
      mon-fri: "09:00-17:00"
`;
  const POL = `policies:
  - name: standard
    calendar: office
    targets:
      P1: { first_response: 1h, resolution: 8h }
`;
  const cases: Array<[string, string, number, RegExp]> = [
    ['yaml-syntax', `policies:\n  - name: a\n    targets: {P1: {first_response: 1h\n`, 4, /Flow map .* must .* end with a }$/],
    ['unknown-calendar', `${CAL}policies:\n  - name: a\n    calendar: ofice\n    targets:\n      P1: { first_response: 1h, resolution: 8h }\n`, 8, /unknown calendar "ofice" \(known: "24x7", "office"\)/],
    ['bad-zone', `calendars:\n  office:\n    timezone: Europe/Berlín\n    hours: { mon: "09:00-17:00" }\n${POL}`, 3, /unknown time zone "Europe\/Berlín"/],
    ['offset-zone', `calendars:\n  office:\n    timezone: "+01:00"\n    hours: { mon: "09:00-17:00" }\n${POL}`, 3, /unknown time zone "\+01:00"/],
    ['overlap', `calendars:\n  office:\n    timezone: UTC\n    hours:\n      mon: "08:00-12:00"\n      tue: "08:00-12:00, 11:30-13:00"\n${POL}`, 6, /overlapping intervals 08:00-12:00 and 11:30-13:00/],
    ['inverted', `calendars:\n  office:\n    timezone: UTC\n    hours:\n      mon-fri: "17:00-09:00"\n${POL}`, 5, /inverted interval "17:00-09:00"/],
    ['unknown-top-key', `${CAL}${POL}risk_stage: [50]\n`, 11, /unknown key "risk_stage" in the top level/],
    ['unknown-policy-key', `${CAL}policies:\n  - name: a\n    calendar: office\n    pause: [pending]\n    targets:\n      P1: { first_response: 1h, resolution: 8h }\n`, 9, /unknown key "pause" in a policy \(expected one of: name, when, calendar, pause_on, targets\)/],
    ['unknown-when-key', `${CAL}policies:\n  - name: a\n    when:\n      tier: [enterprise]\n    targets:\n      P1: { first_response: 1h, resolution: 8h }\n`, 9, /unknown key "tier" in `when` of policy "a"/],
    ['unknown-calendar-key', `calendars:\n  office:\n    timezone: UTC\n    hours: { mon: "09:00-17:00" }\n    holiday: [2026-12-24]\n${POL}`, 5, /unknown key "holiday" in calendar "office"/],
    ['unknown-target-key', `${CAL}policies:\n  - name: a\n    targets:\n      P1:\n        first_response: 1h\n        resolution: 8h\n        next_reply: 2h\n`, 12, /unknown key "next_reply" in targets of P1/],
    ['bad-duration', `${CAL}policies:\n  - name: a\n    targets:\n      P1:\n        first_response: 1h30m\n        resolution: 8h\n`, 10, /bad duration for P1 first_response: "1h30m" is not a duration/],
    ['bare-number-duration', `${CAL}policies:\n  - name: a\n    targets:\n      P2: { first_response: 90, resolution: 8h }\n`, 9, /bad duration for P2 first_response: a duration is a number with h or m/],
    ['bad-day', `calendars:\n  office:\n    timezone: UTC\n    hours:\n      monday: "09:00-17:00"\n${POL}`, 5, /bad day "monday" in hours/],
    ['bad-holiday', `calendars:\n  office:\n    timezone: UTC\n    hours: { mon: "09:00-17:00" }\n    holidays:\n      - 2026-12-24\n      - 2026-02-30\n${POL}`, 7, /bad holiday date "2026-02-30"/],
    ['unknown-priority', `${CAL}policies:\n  - name: a\n    targets:\n      P5: { first_response: 1h, resolution: 8h }\n`, 9, /unknown priority "P5" in targets of policy "a"/],
    ['unknown-when-priority', `${CAL}policies:\n  - name: a\n    when: { priority: [blocker] }\n    targets:\n      P1: { first_response: 1h, resolution: 8h }\n`, 8, /unknown priority "blocker" in when.priority/],
    ['no-name', `${CAL}policies:\n  - calendar: office\n    targets:\n      P1: { first_response: 1h, resolution: 8h }\n`, 7, /a policy without a name/],
    ['duplicate-name', `${CAL}${POL}  - name: Standard\n    targets:\n      P1: { first_response: 1h, resolution: 8h }\n`, 11, /duplicate policy name "Standard" \(first at line 7\)/],
    ['duplicate-key', `${CAL}policies:\n  - name: a\n    name: b\n    targets:\n      P1: { first_response: 1h, resolution: 8h }\n`, 8, /Map keys must be unique/],
    ['missing-ics', `calendars:\n  office:\n    timezone: UTC\n    hours: { mon: "09:00-17:00" }\n    holidays_ics: hol/nope.ics\n${POL}`, 5, /cannot read holidays_ics "hol\/nope.ics" \(relative to the policy file's folder\)/],
    ['broken-ics', `calendars:\n  office:\n    timezone: UTC\n    hours: { mon: "09:00-17:00" }\n    holidays_ics: hol/broken.ics\n${POL}`, 5, /holidays_ics "hol\/broken.ics": /],
    ['bad-version', `version: 2\n${CAL}${POL}`, 1, /unsupported version 2/],
    ['bad-risk-stages', `${CAL}${POL}risk_stages: [50, 40]\n`, 11, /ascending/],
    ['no-policies', `${CAL}`, 1, /missing `policies:`/],
    ['redefine-24x7', `calendars:\n  24x7:\n    timezone: UTC\n    hours: { mon: "09:00-17:00" }\n${POL}`, 2, /built in/],
    ['no-hours', `calendars:\n  office:\n    timezone: UTC\n${POL}`, 2, /has no hours/],
    ['bad-time', `calendars:\n  office:\n    timezone: UTC\n    hours: { mon: "9:00-25:00" }\n${POL}`, 4, /bad time 25:00/],
  ];

  test.each(cases)('%s', (name, text, line, problem) => {
    const file = join(dir, `${name}.yml`);
    writeFileSync(file, text);
    let err: unknown;
    try { loadSlaPolicyFile(file); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(SettingError);
    const first = (err as SettingError).problems[0];
    expect(first.startsWith(`${file}:${line}: `)).toBe(true);
    expect(first.slice(`${file}:${line}: `.length)).toMatch(problem);
  });

  test('all the mistakes of a file are reported at once', () => {
    const file = join(dir, 'several.yml');
    writeFileSync(file, `${CAL}policies:\n  - name: a\n    calendar: nope\n    targets:\n      P1: { first_response: 1x, resolution: 8h }\n`);
    expect(() => loadSlaPolicyFile(file)).toThrow(new RegExp(`^${file}:8: .*unknown calendar "nope".*\\n${file}:10: bad duration`));
  });

  test('a file that cannot be read', () => {
    expect(() => loadSlaPolicyFile(join(dir, 'missing.yml'))).toThrow(/missing\.yml:1: cannot read the SLA policy file/);
  });
});
