/**
 * The last line of defence for every message that leaves for Slack (chat.postMessage,
 * chat.update, chat.postEphemeral, response_url posts, file comments): the plain `text`
 * (notification and fallback) is escaped, and in blocks a special mention (`<!channel>`,
 * `<!here>`, `<!everyone>`, `<!subteam^...>`) is shown as text, never sent as a mention.
 * Renderers escape what they put in blocks; values a person typed or the data carried
 * (region=<!channel>, a team named "<!here>") reach the fallback text as well, so the
 * escaping is done here once, for every message kind. Escaping is idempotent: text that a
 * renderer already escaped is left as it is.
 */
import { WebClient } from '@slack/web-api';

/**
 * Control characters from the input (anything but line breaks and tabs, plus bidi overrides)
 * shown as escapes: a raw byte never reaches a Slack client.
 */
export function escapeControls(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** `&`, `<`, `>` as Slack's entities (entities already there are kept), controls escaped. */
export function escapeSlackText(s: string): string {
  return escapeControls(s.replace(/&(?!(?:amp|lt|gt);)/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

/** Special mentions in mrkdwn shown as text (user mentions `<@U...>` and links stay), controls escaped. */
export function defuseMentions(s: string): string {
  return escapeControls(s.replace(/<!/g, '&lt;!'));
}

function walkBlocks(v: unknown): unknown {
  if (typeof v === 'string') return defuseMentions(v);
  if (Array.isArray(v)) return v.map(walkBlocks);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walkBlocks(x)]));
  return v;
}

/** A message's arguments with the plain text escaped and the blocks' special mentions defused. */
export function safeOutgoing<T>(args: T): T {
  if (!args || typeof args !== 'object') return args;
  const a = { ...(args as Record<string, unknown>) };
  for (const k of ['text', 'initial_comment']) if (typeof a[k] === 'string') a[k] = escapeSlackText(a[k] as string);
  for (const k of ['blocks', 'attachments']) if (a[k] !== undefined) a[k] = walkBlocks(typeof a[k] === 'string' ? JSON.parse(a[k] as string) : a[k]);
  return a as T;
}

const MESSAGE_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'chat.scheduleMessage', 'files.completeUploadExternal']);
let installed = false;

/**
 * Makes every WebClient (ours and the ones Bolt creates per request) pass message
 * arguments through safeOutgoing. Called once where clients are created.
 */
export function installOutgoingEscaping(): void {
  if (installed) return;
  installed = true;
  const proto = WebClient.prototype as unknown as { apiCall: (method: string, options?: Record<string, unknown>) => Promise<unknown> };
  const original = proto.apiCall;
  proto.apiCall = function apiCall(this: unknown, method: string, options?: Record<string, unknown>) {
    return original.call(this, method, MESSAGE_METHODS.has(method) ? safeOutgoing(options) : options);
  };
}
