/**
 * A fake Slack Web API on 127.0.0.1 (random port) for tests: no network, deterministic.
 *
 * Point a WebClient at it with `new WebClient(token, { slackApiUrl: fake.url })`, or Bolt
 * with `clientOptions: { slackApiUrl: fake.url }`. Every request is recorded in `calls`
 * (method, parsed body, headers). Supported methods: auth.test, chat.postMessage,
 * chat.update, chat.postEphemeral, conversations.open, files.getUploadURLExternal, the
 * upload URL it hands out (`POST /upload/:fileId`, recorded as method "upload"),
 * files.completeUploadExternal, and response_url endpoints (`POST /respond/:id`, method
 * "respond"), conversations.info / conversations.members (the bot is a member of every
 * channel unless `setBotMember(channel, false)`), views.publish (recorded in `views`).
 * Other methods can be added with `setHandler`; unknown ones answer
 * `{ok:false, error:'unknown_method'}`.
 *
 * `failNext(method, failure)` queues a failure for the next call(s) of a method:
 * `{status: 429, retryAfter: 1}` (HTTP 429 with Retry-After), `{error: 'channel_not_found'}`
 * (HTTP 200 with ok:false), `{status: 500}`, or `{dropAnswer: true}`: the call is carried out
 * (the message is posted) and then the connection is cut before the answer is sent, as when
 * Slack's answer is lost on the way back.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';

export type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface RecordedCall {
  /** Web API method name, or "upload" / "respond" for the upload and response_url endpoints. */
  method: string;
  /** Form, JSON or multipart body; JSON-valued form fields (blocks, files, ...) are decoded. */
  body: Body;
  headers: IncomingHttpHeaders;
  /** The token the call carried (Authorization header or `token` field), if any. */
  token?: string;
  /** The HTTP status the fake answered with. */
  status: number;
  /** Was the call answered with ok:true (and HTTP 200)? */
  ok: boolean;
  /** Path after the method/endpoint prefix (for "upload" the file id, for "respond" the id). */
  pathId?: string;
  seq: number;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  /** For ephemeral messages: the user who sees it. */
  user?: string;
  ephemeral: boolean;
  /** Bodies of chat.update calls applied to this message, oldest first. */
  updates: Body[];
  body: Body;
}

export interface FakeUpload {
  file_id: string;
  filename: string;
  /** Length declared to files.getUploadURLExternal. */
  length: number;
  alt_text?: string;
  /** Bytes received at the upload URL (undefined until uploaded). */
  content?: Buffer;
  title?: string;
  /** Set by files.completeUploadExternal. */
  completed: boolean;
  channel_id?: string;
  thread_ts?: string;
  initial_comment?: string;
}

export interface ResponseUrlPost {
  id: string;
  body: Body;
  headers: IncomingHttpHeaders;
}

export type Failure =
  | { status: 429; retryAfter?: number; times?: number }
  | { status: number; retryAfter?: undefined; times?: number }
  | { error: string; times?: number }
  | { dropAnswer: true; times?: number };

export type Handler = (body: Body, call: RecordedCall) => Body | Promise<Body>;

export interface PublishedView {
  user_id: string;
  view: Body;
}

export interface FakeSlackOptions {
  /** When set, calls without this token (or with another) get `invalid_auth`. */
  token?: string;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  /** Artificial latency per request (ms). */
  latencyMs?: number;
}

export interface FakeSlack {
  /** Base API URL for `slackApiUrl`, e.g. `http://127.0.0.1:PORT/api/`. */
  url: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  calls: RecordedCall[];
  /** Posted and ephemeral messages, in order. */
  messages: FakeMessage[];
  uploads: FakeUpload[];
  responseUrlPosts: ResponseUrlPost[];
  /** views.publish calls that succeeded, in order. */
  views: PublishedView[];
  /** Makes the bot a member of a channel or not (default: member of every channel). */
  setBotMember(channel: string, member: boolean): void;
  /** Queue a failure for the next call of `method` (repeat with `times`). */
  failNext(method: string, failure: Failure): void;
  /** A fresh response_url pointing at this fake (`/respond/:id`). */
  responseUrl(id?: string): string;
  /** Calls of one method (successful or not). */
  callsTo(method: string): RecordedCall[];
  /** Non-ephemeral messages posted to a channel (id or name), optionally in one thread. */
  messagesIn(channel: string, threadTs?: string): FakeMessage[];
  /** Completed uploads in a channel / thread. */
  uploadsIn(channel: string, threadTs?: string): FakeUpload[];
  /** Resolves once `count` successful calls of `method` were seen (default timeout 5 s). */
  waitFor(method: string, count?: number, timeoutMs?: number): Promise<RecordedCall[]>;
  /** Adds or replaces a method handler. */
  setHandler(method: string, handler: Handler): void;
  /** Channel id a name (`#kpi` or `kpi`) was mapped to. */
  channelId(nameOrId: string): string;
  /** Clears recorded state and pending failures (handlers stay). */
  reset(): void;
  close(): Promise<void>;
}

/** Form fields Slack's clients send JSON-encoded. */
const JSON_FIELDS = ['blocks', 'attachments', 'files', 'metadata', 'view', 'file_uploads', 'unfurl'];

function isChannelId(s: string): boolean {
  return /^[CDGZ][A-Z0-9]{5,}$/.test(s);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function decodeJsonFields(b: Body): Body {
  for (const k of JSON_FIELDS) {
    if (typeof b[k] === 'string') {
      try { b[k] = JSON.parse(b[k]); } catch { /* leave as text */ }
    }
  }
  return b;
}

async function parseBody(raw: Buffer, contentType: string | undefined): Promise<Body> {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.startsWith('application/json')) {
    try { return JSON.parse(raw.toString('utf8')) as Body; } catch { return { _raw: raw.toString('utf8') }; }
  }
  if (ct.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType! } }).formData();
    const out: Body = {};
    for (const [k, v] of form.entries()) {
      if (typeof v === 'string') out[k] = v;
      else out[k] = Buffer.from(await (v as Blob).arrayBuffer());
    }
    return decodeJsonFields(out);
  }
  if (ct.startsWith('application/x-www-form-urlencoded') || (!ct && raw.length)) {
    const q = parseQuery(raw.toString('utf8'));
    const out: Body = {};
    for (const [k, v] of Object.entries(q)) out[k] = Array.isArray(v) ? v[v.length - 1] : v;
    return decodeJsonFields(out);
  }
  return raw.length ? { _raw: raw } : {};
}

export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const teamId = opts.teamId ?? 'T0FAKE0001';
  const botUserId = opts.botUserId ?? 'U0FAKEBOT1';
  const botId = opts.botId ?? 'B0FAKEBOT1';

  const calls: RecordedCall[] = [];
  const messages: FakeMessage[] = [];
  const uploads: FakeUpload[] = [];
  const responseUrlPosts: ResponseUrlPost[] = [];
  const views: PublishedView[] = [];
  const notMember = new Set<string>();
  const failures = new Map<string, Failure[]>();
  const channelIds = new Map<string, string>();
  const waiters: { method: string; count: number; resolve: (c: RecordedCall[]) => void }[] = [];
  let seq = 0;
  let tsCounter = 0;
  let fileCounter = 0;
  let respondCounter = 0;
  let origin = '';

  const nextTs = () => {
    tsCounter += 1;
    return `${1_700_000_000 + tsCounter}.${String(tsCounter).padStart(6, '0')}`;
  };

  const channelId = (nameOrId: string): string => {
    if (isChannelId(nameOrId)) return nameOrId;
    const name = nameOrId.replace(/^#/, '');
    let id = channelIds.get(name);
    if (!id) {
      id = `C${String(channelIds.size + 1).padStart(4, '0')}${name.toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 6) || 'X'}`;
      channelIds.set(name, id);
    }
    return id;
  };

  const fail = (error: string): Body => ({ ok: false, error });

  const handlers = new Map<string, Handler>();
  handlers.set('auth.test', () => ({
    ok: true, url: 'https://fake.slack.test/', team: 'Fake Team', user: 'kpi-bot', team_id: teamId,
    user_id: botUserId, bot_id: botId, is_enterprise_install: false,
  }));
  handlers.set('chat.postMessage', (b) => {
    if (!b.channel) return fail('channel_not_found');
    if (!b.text && !b.blocks && !b.attachments) return fail('no_text');
    const channel = channelId(String(b.channel));
    const ts = nextTs();
    const msg: FakeMessage = {
      channel, ts, thread_ts: b.thread_ts ? String(b.thread_ts) : undefined, text: b.text,
      blocks: Array.isArray(b.blocks) ? b.blocks : undefined, ephemeral: false, updates: [], body: b,
    };
    messages.push(msg);
    return { ok: true, channel, ts, message: { type: 'message', text: b.text ?? '', user: botUserId, bot_id: botId, ts, blocks: msg.blocks } };
  });
  handlers.set('chat.update', (b) => {
    const channel = channelId(String(b.channel ?? ''));
    const msg = messages.find((m) => !m.ephemeral && m.channel === channel && m.ts === String(b.ts));
    if (!msg) return fail('message_not_found');
    if (b.text !== undefined) msg.text = b.text;
    if (b.blocks !== undefined) msg.blocks = b.blocks;
    msg.updates.push(b);
    return { ok: true, channel, ts: msg.ts, text: msg.text ?? '' };
  });
  handlers.set('chat.postEphemeral', (b) => {
    if (!b.channel) return fail('channel_not_found');
    if (!b.user) return fail('user_not_in_channel');
    const channel = channelId(String(b.channel));
    const ts = nextTs();
    messages.push({
      channel, ts, thread_ts: b.thread_ts ? String(b.thread_ts) : undefined, text: b.text,
      blocks: Array.isArray(b.blocks) ? b.blocks : undefined, user: String(b.user), ephemeral: true, updates: [], body: b,
    });
    return { ok: true, message_ts: ts };
  });
  handlers.set('conversations.open', (b) => {
    const users = String(b.users ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (users.length === 0) return fail('users_list_not_supplied');
    const id = `D${users.join('').replace(/[^A-Z0-9]/gi, '').toUpperCase().slice(0, 10).padEnd(8, '0')}`;
    return { ok: true, channel: { id }, no_op: false, already_open: false };
  });
  handlers.set('files.getUploadURLExternal', (b) => {
    if (!b.filename) return fail('invalid_arguments');
    const length = Number(b.length);
    if (!Number.isFinite(length) || length <= 0) return fail('invalid_arguments');
    fileCounter += 1;
    const file_id = `F${String(fileCounter).padStart(8, '0')}`;
    uploads.push({ file_id, filename: String(b.filename), length, alt_text: b.alt_text, completed: false });
    return { ok: true, upload_url: `${origin}/upload/${file_id}`, file_id };
  });
  handlers.set('files.completeUploadExternal', (b) => {
    const files = b.files;
    if (!Array.isArray(files) || files.length === 0) return fail('invalid_arguments');
    const done: Body[] = [];
    for (const f of files as { id: string; title?: string }[]) {
      const up = uploads.find((u) => u.file_id === f.id);
      if (!up || !up.content) return fail('file_not_found');
    }
    if (b.thread_ts && !b.channel_id) return fail('invalid_arguments');
    for (const f of files as { id: string; title?: string }[]) {
      const up = uploads.find((u) => u.file_id === f.id)!;
      up.completed = true;
      up.title = f.title ?? up.filename;
      if (b.channel_id) up.channel_id = channelId(String(b.channel_id));
      if (b.thread_ts) up.thread_ts = String(b.thread_ts);
      if (b.initial_comment) up.initial_comment = String(b.initial_comment);
      done.push({ id: up.file_id, name: up.filename, title: up.title, size: up.content!.length });
    }
    return { ok: true, files: done };
  });

  handlers.set('conversations.info', (b) => {
    if (!b.channel) return fail('channel_not_found');
    const id = channelId(String(b.channel));
    if (!isChannelId(String(b.channel))) return fail('channel_not_found');
    return { ok: true, channel: { id, name: id.toLowerCase(), is_channel: true, is_archived: false, is_member: !notMember.has(id) } };
  });
  handlers.set('conversations.members', (b) => {
    if (!b.channel || !isChannelId(String(b.channel))) return fail('channel_not_found');
    const id = channelId(String(b.channel));
    return { ok: true, members: notMember.has(id) ? ['U0SOMEONE1'] : ['U0SOMEONE1', botUserId], response_metadata: { next_cursor: '' } };
  });
  handlers.set('views.publish', (b) => {
    if (!b.user_id) return fail('invalid_arguments');
    const view = b.view as Body | undefined;
    if (!view || typeof view !== 'object' || view.type !== 'home' || !Array.isArray(view.blocks)) return fail('invalid_arguments');
    if (view.blocks.length > 100) return fail('invalid_blocks');
    views.push({ user_id: String(b.user_id), view });
    return { ok: true, view: { id: `V${String(views.length).padStart(8, '0')}`, type: 'home', blocks: view.blocks } };
  });

  function route(url: string): { method: string; pathId?: string } | null {
    const path = url.split('?')[0];
    let m = /^\/api\/([A-Za-z0-9_.]+)$/.exec(path);
    if (m) return { method: m[1] };
    m = /^\/upload\/([A-Za-z0-9_-]+)$/.exec(path);
    if (m) return { method: 'upload', pathId: m[1] };
    m = /^\/respond\/([A-Za-z0-9_-]+)$/.exec(path);
    if (m) return { method: 'respond', pathId: m[1] };
    return null;
  }

  function takeFailure(method: string): Failure | undefined {
    const q = failures.get(method);
    if (!q || q.length === 0) return undefined;
    const f = q[0];
    const left = (f.times ?? 1) - 1;
    if (left <= 0) q.shift();
    else q[0] = { ...f, times: left };
    return f;
  }

  function notify(): void {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      const done = calls.filter((c) => c.method === w.method && c.ok);
      if (done.length >= w.count) {
        waiters.splice(i, 1);
        w.resolve(done);
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: Body, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const r = route(req.url ?? '');
    const raw = await readBody(req);
    if (req.method !== 'POST' || !r) {
      send(404, { ok: false, error: 'not_found' });
      return;
    }
    if (opts.latencyMs) await new Promise((ok) => setTimeout(ok, opts.latencyMs));
    const body = await parseBody(raw, req.headers['content-type']);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (typeof body.token === 'string' ? body.token : undefined);
    seq += 1;
    const call: RecordedCall = { method: r.method, body, headers: req.headers, token, status: 200, ok: false, pathId: r.pathId, seq };
    calls.push(call);

    let failure = takeFailure(r.method);
    let dropAnswer = false;
    if (failure && 'dropAnswer' in failure) {
      dropAnswer = true;
      failure = undefined;
    }
    if (failure) {
      if ('error' in failure) {
        send(200, fail(failure.error));
      } else {
        call.status = failure.status;
        const headers: Record<string, string> = {};
        if (failure.status === 429) headers['retry-after'] = String(failure.retryAfter ?? 1);
        send(failure.status, fail(failure.status === 429 ? 'ratelimited' : 'fake_http_error'), headers);
      }
      return;
    }

    if (r.method === 'respond') {
      responseUrlPosts.push({ id: r.pathId!, body, headers: req.headers });
      call.ok = true;
      send(200, { ok: true });
      notify();
      return;
    }
    if (r.method === 'upload') {
      const up = uploads.find((u) => u.file_id === r.pathId);
      if (!up) {
        call.status = 404;
        send(404, fail('file_not_found'));
        return;
      }
      // WebClient sends multipart/form-data with the bytes in a part; a raw body is accepted too.
      let content: Buffer | undefined;
      if (Buffer.isBuffer(body.body)) content = body.body;
      else if (Buffer.isBuffer(body.filename)) content = body.filename;
      else if (Buffer.isBuffer(body.file)) content = body.file;
      else if (Buffer.isBuffer(body._raw)) content = body._raw;
      else {
        const firstBuf = Object.values(body).find((v) => Buffer.isBuffer(v));
        content = (firstBuf as Buffer | undefined) ?? raw;
      }
      up.content = content;
      call.ok = true;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${content.length}`);
      notify();
      return;
    }
    if (opts.token && token !== opts.token) {
      send(200, fail(token ? 'invalid_auth' : 'not_authed'));
      return;
    }
    const h = handlers.get(r.method);
    if (!h) {
      send(200, fail('unknown_method'));
      return;
    }
    const out = await h(body, call);
    call.ok = out.ok === true;
    if (dropAnswer) {
      // Done, but the answer never arrives.
      call.status = 0;
      res.socket?.destroy();
      notify();
      return;
    }
    send(200, out);
    notify();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'fake_internal_error', detail: String(e) }));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((ok, bad) => {
    server.once('error', bad);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/api/`,
    origin,
    calls,
    messages,
    uploads,
    responseUrlPosts,
    views,
    setBotMember(channel, member) {
      const id = channelId(channel);
      if (member) notMember.delete(id);
      else notMember.add(id);
    },
    failNext(method, failure) {
      const q = failures.get(method) ?? [];
      q.push(failure);
      failures.set(method, q);
    },
    responseUrl(id) {
      respondCounter += 1;
      return `${origin}/respond/${id ?? `r${respondCounter}`}`;
    },
    callsTo: (method) => calls.filter((c) => c.method === method),
    messagesIn(channel, threadTs) {
      const id = channelId(channel);
      return messages.filter((m) => !m.ephemeral && m.channel === id && (threadTs === undefined || m.thread_ts === threadTs));
    },
    uploadsIn(channel, threadTs) {
      const id = channelId(channel);
      return uploads.filter((u) => u.completed && u.channel_id === id && (threadTs === undefined || u.thread_ts === threadTs));
    },
    waitFor(method, count = 1, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const w = { method, count, resolve: (c: RecordedCall[]) => { clearTimeout(timer); resolve(c); } };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`fake Slack: waited ${timeoutMs} ms for ${count} successful ${method} call(s); saw ${calls.filter((c) => c.method === method && c.ok).length}`));
        }, timeoutMs);
        waiters.push(w);
        notify();
      });
    },
    setHandler(method, handler) {
      handlers.set(method, handler);
    },
    channelId,
    reset() {
      calls.length = 0;
      messages.length = 0;
      uploads.length = 0;
      responseUrlPosts.length = 0;
      views.length = 0;
      failures.clear();
    },
    close() {
      return new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      });
    },
  };
}
