import { createTask } from 'node-cron';
import { previousFireTime, nextFireTime, localDate, zonedTime } from '../src/support/cronTime';

describe('cron prev/next with an injected clock', () => {
  test('daily 08:00 in a zone', () => {
    const at = new Date('2026-11-23T09:30:00Z'); // 10:30 in Berlin
    expect(previousFireTime('0 8 * * *', 'Europe/Berlin', at)!.toISOString()).toBe('2026-11-23T07:00:00.000Z');
    expect(nextFireTime('0 8 * * *', 'Europe/Berlin', at)!.toISOString()).toBe('2026-11-24T07:00:00.000Z');
    // exactly at the fire time: previous is inclusive, next is strict
    const fire = new Date('2026-11-23T07:00:00Z');
    expect(previousFireTime('0 8 * * *', 'Europe/Berlin', fire)!.getTime()).toBe(fire.getTime());
    expect(nextFireTime('0 8 * * *', 'Europe/Berlin', fire)!.toISOString()).toBe('2026-11-24T07:00:00.000Z');
    // before today's fire: previous is yesterday's
    expect(previousFireTime('0 8 * * *', 'Europe/Berlin', new Date('2026-11-23T06:59:59Z'))!.toISOString()).toBe('2026-11-22T07:00:00.000Z');
  });

  test('weekdays only, 6 fields, L, n#k', () => {
    // Sat 2026-11-21 / Sun 22 / Mon 23
    expect(previousFireTime('30 7 * * 1-5', 'UTC', new Date('2026-11-22T12:00:00Z'))!.toISOString()).toBe('2026-11-20T07:30:00.000Z');
    expect(previousFireTime('15 0 8 * * *', 'UTC', new Date('2026-11-23T08:00:20Z'))!.toISOString()).toBe('2026-11-23T08:00:15.000Z');
    expect(previousFireTime('0 9 L * *', 'UTC', new Date('2026-11-23T00:00:00Z'))!.toISOString()).toBe('2026-10-31T09:00:00.000Z');
    expect(nextFireTime('0 9 * * 1#1', 'UTC', new Date('2026-11-23T00:00:00Z'))!.toISOString()).toBe('2026-12-07T09:00:00.000Z');
  });

  test('DST: a skipped local time does not fire; dates are local', () => {
    // Berlin springs forward 2026-03-29 02:00 -> 03:00
    expect(zonedTime({ year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 }, 'Europe/Berlin')).toBeNull();
    expect(previousFireTime('30 2 * * *', 'Europe/Berlin', new Date('2026-03-29T12:00:00Z'))!.toISOString()).toBe('2026-03-28T01:30:00.000Z');
    expect(localDate(new Date('2026-11-23T23:30:00Z'), 'Asia/Tokyo')).toBe('2026-11-24');
    expect(localDate(new Date('2026-11-23T03:30:00Z'), 'America/New_York')).toBe('2026-11-22');
  });

  test('agrees with node-cron on the next runs', () => {
    const cases: [string, string][] = [
      ['0 8 * * *', 'Europe/Berlin'], ['*/15 * * * *', 'UTC'], ['30 7 * * 1-5', 'America/New_York'],
      ['0 0 9 * * mon,wed,fri', 'Asia/Kolkata'], ['0 8 1,15 * *', 'Australia/Sydney'], ['0 9 L * *', 'UTC'],
    ];
    for (const [expr, tz] of cases) {
      const task = createTask(expr, () => undefined, { timezone: tz });
      try {
        const theirs = task.getNextRuns(4).map((d) => d.getTime());
        let at = new Date();
        const ours: number[] = [];
        for (let i = 0; i < 4; i++) {
          const n = nextFireTime(expr, tz, at)!;
          ours.push(n.getTime());
          at = n;
        }
        expect({ expr, tz, ours }).toEqual({ expr, tz, ours: theirs });
        for (let i = 1; i < ours.length; i++) {
          expect(previousFireTime(expr, tz, new Date(ours[i]))!.getTime()).toBe(ours[i]);
          expect(previousFireTime(expr, tz, new Date(ours[i] - 1000))!.getTime()).toBe(ours[i - 1]);
        }
      } finally {
        void task.destroy();
      }
    }
  });
});
