import pino from 'pino';
import { Writable } from 'node:stream';
import { createSlackClient, uploadFiles } from '../src/slack-api/client';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';

const TOKEN = 'xoxb-1111-2222-secretvalue';

function memoryLogger() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  return { log: pino({ level: 'debug' }, stream), lines };
}

describe('createSlackClient / uploadFiles', () => {
  let fake: FakeSlack;
  beforeEach(async () => { fake = await startFakeSlack({ token: TOKEN }); });
  afterEach(async () => { await fake.close(); });

  test('requires a token', () => {
    expect(() => createSlackClient({ SLACK_BOT_TOKEN: undefined, SLACK_API_URL: fake.url }, pino({ level: 'silent' }))).toThrow(/SLACK_BOT_TOKEN/);
  });

  test('honours Retry-After on 429 and never logs the token', async () => {
    const { log, lines } = memoryLogger();
    const client = createSlackClient({ SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: fake.url }, log, {
      retryConfig: { retries: 3, minTimeout: 10, maxTimeout: 20, factor: 1 },
    });
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const t0 = Date.now();
    const r = await client.chat.postMessage({ channel: 'C0123456789', text: 'hi' });
    expect(r.ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(fake.callsTo('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
    expect(fake.messages).toHaveLength(1);
    const all = lines.join('\n');
    expect(all).toMatch(/rate limit/i);
    expect(all).not.toContain(TOKEN);
  });

  test('gives up after bounded retries', async () => {
    const client = createSlackClient({ SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: fake.url }, pino({ level: 'silent' }), {
      retryConfig: { retries: 2, minTimeout: 1, maxTimeout: 2, factor: 1 },
    });
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 0, times: 10 });
    await expect(client.chat.postMessage({ channel: 'C0123456789', text: 'hi' })).rejects.toThrow();
    expect(fake.callsTo('chat.postMessage')).toHaveLength(3);
    expect(fake.messages).toHaveLength(0);
  });

  test('uploadFiles sends several files in one completion into a thread', async () => {
    const client = createSlackClient({ SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: fake.url }, pino({ level: 'silent' }), {
      retryConfig: { retries: 1, minTimeout: 1, maxTimeout: 2 },
    });
    const parent = await client.chat.postMessage({ channel: 'C0123456789', text: 'digest' });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const files = await uploadFiles(client, {
      channel: parent.channel!, threadTs: parent.ts!,
      files: [
        { filename: 'trend.png', content: png, title: '30-day trend' },
        { filename: 'sla_summary.csv', content: 'priority,total\r\nP1,3\r\n', title: 'SLA summary' },
      ],
    });
    expect(files).toHaveLength(2);
    expect(fake.callsTo('files.completeUploadExternal')).toHaveLength(1);
    const ups = fake.uploadsIn(parent.channel!, parent.ts!);
    expect(ups.find((u) => u.filename === 'sla_summary.csv')!.content!.toString()).toBe('priority,total\r\nP1,3\r\n');
    expect(ups.find((u) => u.filename === 'trend.png')!.content!.equals(png)).toBe(true);
    expect(await uploadFiles(client, { channel: parent.channel!, files: [] })).toEqual([]);
  });
});
