/**
 * A fake Socket Mode endpoint on 127.0.0.1 for tests: a `ws` WebSocket server, plus an
 * `apps.connections.open` handler installed on the fake Slack Web API that hands out its
 * ws:// URL (that is how @slack/socket-mode finds where to connect).
 *
 * `send(type, payload)` pushes an envelope (e.g. `slash_commands`) to the connected app and
 * returns its envelope_id; `waitForAck(id)` resolves with the app's ack envelope.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { FakeSlack } from './slackServer';

export interface AckEnvelope {
  envelope_id: string;
  payload?: Record<string, unknown>;
  receivedAt: number;
}

export interface FakeSocketMode {
  url: string;
  /** Connections opened so far. */
  connections: number;
  /** App tokens seen on apps.connections.open. */
  appTokens: string[];
  acks: AckEnvelope[];
  /** Resolves when an app is connected (after the hello). */
  connected(timeoutMs?: number): Promise<void>;
  send(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>): string;
  waitForAck(envelopeId: string, timeoutMs?: number): Promise<AckEnvelope>;
  close(): Promise<void>;
}

export async function startFakeSocketMode(slack: FakeSlack): Promise<FakeSocketMode> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((ok) => wss.once('listening', () => ok()));
  const port = (wss.address() as AddressInfo).port;
  const url = `ws://127.0.0.1:${port}/link`;
  const acks: AckEnvelope[] = [];
  const appTokens: string[] = [];
  const ackWaiters = new Map<string, (a: AckEnvelope) => void>();
  const connectWaiters: (() => void)[] = [];
  let current: WebSocket | undefined;
  let connections = 0;

  slack.setHandler('apps.connections.open', (_body, call) => {
    if (call.token) appTokens.push(call.token);
    if (!call.token?.startsWith('xapp-')) return { ok: false, error: 'not_allowed_token_type' };
    return { ok: true, url: `${url}?ticket=${randomUUID()}&app_id=A0FAKEAPP1` };
  });

  wss.on('connection', (ws) => {
    connections += 1;
    current = ws;
    ws.on('message', (data) => {
      let msg: { envelope_id?: string; payload?: Record<string, unknown> };
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      if (!msg.envelope_id) return;
      const ack: AckEnvelope = { envelope_id: msg.envelope_id, payload: msg.payload, receivedAt: Date.now() };
      acks.push(ack);
      ackWaiters.get(msg.envelope_id)?.(ack);
      ackWaiters.delete(msg.envelope_id);
    });
    ws.send(JSON.stringify({
      type: 'hello', num_connections: 1,
      debug_info: { host: 'fake-socket', approximate_connection_time: 18060 },
      connection_info: { app_id: 'A0FAKEAPP1' },
    }));
    for (const w of connectWaiters.splice(0)) w();
  });

  return {
    url,
    get connections() { return connections; },
    appTokens,
    acks,
    connected(timeoutMs = 5000) {
      if (current && current.readyState === current.OPEN) return Promise.resolve();
      return new Promise((ok, bad) => {
        const t = setTimeout(() => bad(new Error(`fake Socket Mode: no connection within ${timeoutMs} ms`)), timeoutMs);
        connectWaiters.push(() => { clearTimeout(t); ok(); });
      });
    },
    send(type, payload) {
      if (!current) throw new Error('fake Socket Mode: no app connected');
      const envelope_id = randomUUID();
      current.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api' }));
      return envelope_id;
    },
    waitForAck(envelopeId, timeoutMs = 5000) {
      const seen = acks.find((a) => a.envelope_id === envelopeId);
      if (seen) return Promise.resolve(seen);
      return new Promise((ok, bad) => {
        const t = setTimeout(() => {
          ackWaiters.delete(envelopeId);
          bad(new Error(`fake Socket Mode: no ack for ${envelopeId} within ${timeoutMs} ms`));
        }, timeoutMs);
        ackWaiters.set(envelopeId, (a) => { clearTimeout(t); ok(a); });
      });
    },
    close() {
      for (const c of wss.clients) c.terminate();
      return new Promise<void>((ok) => wss.close(() => ok()));
    },
  };
}
