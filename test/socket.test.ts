/**
 * Socket Mode end to end: the real Bolt SocketModeReceiver gets its ws:// URL from
 * apps.connections.open on the fake Slack Web API, connects to a fake WebSocket server,
 * receives a slash_commands envelope, acks it over the socket, then answers through the
 * response_url and uploads the CSV, as in HTTP mode.
 */
import { createApp, type KpiApp } from '../src/bot/app';
import { renderCsv } from '../src/render/files/csv';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import { startFakeSocketMode, type FakeSocketMode } from './fakes/socketServer';
import { APP_TOKEN, fakePipeline, sampleReport, testSettings } from './slack-app.helpers';

describe('Socket Mode', () => {
  let fake: FakeSlack;
  let socket: FakeSocketMode;
  let kapp: KpiApp | undefined;

  beforeEach(async () => {
    fake = await startFakeSlack();
    socket = await startFakeSocketMode(fake);
  });
  afterEach(async () => {
    await kapp?.stop();
    kapp = undefined;
    await socket.close();
    await fake.close();
  });

  test('slash command envelope: ack envelope first, then the answer and the CSV', async () => {
    const pipe = fakePipeline(400);
    const settings = testSettings({ SLACK_API_URL: fake.url, SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' });
    kapp = createApp(settings, {
      runPipeline: pipe.run,
      retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 },
      respondOptions: { baseDelayMs: 10 },
      socket: { autoReconnectEnabled: false },
    });
    expect(kapp.mode).toBe('socket');
    const { port } = await kapp.start(0);
    await socket.connected();
    expect(socket.appTokens).toEqual([APP_TOKEN]);

    const responseUrl = fake.responseUrl('sock1');
    const t0 = Date.now();
    const id = socket.send('slash_commands', {
      token: 'x', team_id: 'T0FAKE0001', team_domain: 'fake', channel_id: 'C0SUPPORT1', channel_name: 'support-leads',
      user_id: 'U0ASKER001', user_name: 'asker', command: '/kpi', text: 'sla priority=P1',
      api_app_id: 'A0FAKEAPP1', is_enterprise_install: 'false', response_url: responseUrl, trigger_id: '1.2.3',
    });
    const ack = await socket.waitForAck(id, 3000);
    expect(ack.receivedAt - t0).toBeLessThan(300); // before the 400 ms run finished
    expect(fake.uploads.filter((u) => u.completed)).toHaveLength(0);

    await fake.waitFor('files.completeUploadExternal', 1, 5000);
    await fake.waitFor('respond', 2, 5000);
    const posts = fake.responseUrlPosts.filter((p) => p.id === 'sock1').map((p) => p.body);
    expect(posts[0].text).toContain('Crunching fresh numbers');
    expect(posts[1].response_type).toBe('ephemeral');
    expect(JSON.stringify(posts[1].blocks)).toContain('SLA compliance — P1');
    const up = fake.uploads.find((u) => u.completed)!;
    expect(up.channel_id).toMatch(/^D/);
    expect(up.filename).toBe('sla_summary_2026-11-23_P1_30d.csv');
    const { sliceOf } = await import('./slack-app.helpers');
    expect(up.content!.toString()).toBe(renderCsv(sliceOf(sampleReport('2026-11-23T09:00:00Z', 'run-1'), { priority: 'P1' }), 'sla_summary'));

    // /healthz is served on PORT in Socket Mode too.
    for (let i = 0; i < 50 && kapp.inflight.size; i++) await Promise.allSettled([...kapp.inflight]);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ mode: 'socket', last_run: { ok: true } });
  });
});
