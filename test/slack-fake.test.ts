import { WebClient } from '@slack/web-api';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';

const TOKEN = 'xoxb-test-token-123';

describe('fake Slack server', () => {
  let fake: FakeSlack;
  let client: WebClient;
  beforeEach(async () => {
    fake = await startFakeSlack({ token: TOKEN });
    client = new WebClient(TOKEN, {
      slackApiUrl: fake.url,
      retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 50, factor: 1 },
      rejectRateLimitedCalls: false,
    });
  });
  afterEach(async () => {
    await fake.close();
  });

  test('auth.test and bad token', async () => {
    const r = await client.auth.test();
    expect(r.user_id).toBe('U0FAKEBOT1');
    const bad = new WebClient('xoxb-wrong', { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
    await expect(bad.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });

  test('postMessage, update, ephemeral, conversations.open', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }];
    const r = await client.chat.postMessage({ channel: '#kpi', text: 'hi', blocks });
    expect(r.channel).toMatch(/^C/);
    expect(r.ts).toBeTruthy();
    expect(fake.messagesIn('#kpi')).toHaveLength(1);
    expect(fake.messagesIn(r.channel!)[0].blocks).toEqual(blocks);
    expect(fake.callsTo('chat.postMessage')[0].body.blocks).toEqual(blocks);
    expect(fake.callsTo('chat.postMessage')[0].token).toBe(TOKEN);

    await client.chat.update({ channel: r.channel!, ts: r.ts!, text: 'changed' });
    expect(fake.messages[0].text).toBe('changed');
    await expect(client.chat.update({ channel: r.channel!, ts: '1.2', text: 'x' })).rejects.toMatchObject({ data: { error: 'message_not_found' } });

    const e = await client.chat.postEphemeral({ channel: r.channel!, user: 'U1', text: 'only you' });
    expect(e.message_ts).toBeTruthy();
    expect(fake.messages.filter((m) => m.ephemeral)).toHaveLength(1);

    const dm = await client.conversations.open({ users: 'U123' });
    expect(dm.channel?.id).toMatch(/^D/);
  });

  test('files.uploadV2 of several files into a thread keeps bytes', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0123456789', text: 'parent' });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    await client.files.uploadV2({
      channel_id: 'C0123456789',
      thread_ts: parent.ts!,
      file_uploads: [
        { filename: 'a.csv', content: 'x,y\r\n1,2\r\n', title: 'A' },
        { filename: 'trend.png', file: png, title: 'Trend' },
      ],
    });
    const ups = fake.uploadsIn('C0123456789', parent.ts!);
    expect(ups.map((u) => u.filename).sort()).toEqual(['a.csv', 'trend.png']);
    expect(ups.find((u) => u.filename === 'a.csv')!.content!.toString()).toBe('x,y\r\n1,2\r\n');
    expect(ups.find((u) => u.filename === 'trend.png')!.content!.equals(png)).toBe(true);
    expect(ups.find((u) => u.filename === 'trend.png')!.title).toBe('Trend');
    expect(fake.callsTo('files.completeUploadExternal')).toHaveLength(1);
  });

  test('429 with Retry-After is retried by WebClient', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfter: 0 });
    const r = await client.chat.postMessage({ channel: 'C0123456789', text: 'hello' });
    expect(r.ok).toBe(true);
    const attempts = fake.callsTo('chat.postMessage');
    expect(attempts.map((c) => c.status)).toEqual([429, 200]);
    expect(fake.messages).toHaveLength(1);
  });

  test('error injection and times', async () => {
    fake.failNext('chat.postMessage', { error: 'channel_not_found', times: 2 });
    await expect(client.chat.postMessage({ channel: 'C0123456789', text: 'a' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    await expect(client.chat.postMessage({ channel: 'C0123456789', text: 'a' })).rejects.toThrow();
    await client.chat.postMessage({ channel: 'C0123456789', text: 'a' });
    expect(fake.messages).toHaveLength(1);
  });

  test('response_url posts are recorded', async () => {
    const url = fake.responseUrl();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'done', response_type: 'ephemeral' }) });
    expect(res.status).toBe(200);
    expect(fake.responseUrlPosts).toEqual([expect.objectContaining({ body: { text: 'done', response_type: 'ephemeral' } })]);
    await expect(fake.waitFor('respond', 1, 1000)).resolves.toHaveLength(1);
  });

  test('custom handler and unknown method', async () => {
    fake.setHandler('users.info', (b) => ({ ok: true, user: { id: b.user, tz: 'Europe/Berlin' } }));
    const u = await client.users.info({ user: 'U9' });
    expect((u.user as { tz: string }).tz).toBe('Europe/Berlin');
    await expect(client.apiCall('nope.nothing')).rejects.toMatchObject({ data: { error: 'unknown_method' } });
  });
});

describe('fake Slack server with Bolt', () => {
  test('Bolt App initialises (auth.test) and posts via clientOptions.slackApiUrl', async () => {
    const fake = await startFakeSlack({ token: TOKEN });
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { App, LogLevel } = require('@slack/bolt') as typeof import('@slack/bolt');
      const app = new App({
        token: TOKEN, signingSecret: 'secret', deferInitialization: true, logLevel: LogLevel.ERROR,
        clientOptions: { slackApiUrl: fake.url },
      });
      await app.init();
      expect(fake.callsTo('auth.test').length).toBeGreaterThanOrEqual(1);
      await app.client.chat.postMessage({ channel: 'C0123456789', text: 'from bolt' });
      expect(fake.messagesIn('C0123456789')[0].text).toBe('from bolt');
    } finally {
      await fake.close();
    }
  });
});
