/**
 * Who may use the slash commands. Both lists are optional (empty = everyone):
 * KPI_ALLOWED_CHANNELS (channel ids such as C0123ABCD, or names such as #support-leads)
 * and KPI_ALLOWED_USERS (user ids such as U0123ABCD). KPI_ADMINS may always ask (they are
 * allowed users), and only they may force a run (`/kpi run`).
 */
import type { Settings } from '../config/settings';

export interface AccessPolicy {
  channels: string[];
  users: string[];
  admins: string[];
}

export interface Requester {
  userId: string;
  channelId?: string;
  channelName?: string;
}

export type AccessDecision = { ok: true } | { ok: false; reason: 'user' | 'channel'; message: string };

export function accessPolicy(settings: Pick<Settings, 'KPI_ALLOWED_CHANNELS' | 'KPI_ALLOWED_USERS' | 'KPI_ADMINS'>): AccessPolicy {
  const norm = (xs: string[]) => xs.map((x) => x.trim()).filter(Boolean);
  return { channels: norm(settings.KPI_ALLOWED_CHANNELS), users: norm(settings.KPI_ALLOWED_USERS), admins: norm(settings.KPI_ADMINS) };
}

export function isAdmin(policy: AccessPolicy, userId: string): boolean {
  return policy.admins.includes(userId);
}

function channelListed(policy: AccessPolicy, channelId?: string, channelName?: string): boolean {
  const name = channelName?.replace(/^#/, '').toLowerCase();
  return policy.channels.some((c) => {
    if (channelId && c === channelId) return true;
    const n = c.replace(/^#/, '').toLowerCase();
    return name !== undefined && name !== '' && n === name;
  });
}

export function checkAccess(policy: AccessPolicy, who: Requester): AccessDecision {
  if (policy.users.length > 0 && !policy.users.includes(who.userId) && !isAdmin(policy, who.userId)) {
    return {
      ok: false,
      reason: 'user',
      message: 'Sorry, the KPI bot is only open to a list of people in this workspace. Ask a KPI admin to add you if you need it.',
    };
  }
  if (policy.channels.length > 0 && !channelListed(policy, who.channelId, who.channelName)) {
    const where = policy.channels.map((c) => (/^[CGD][A-Z0-9]{6,}$/.test(c) ? `<#${c}>` : `#${c.replace(/^#/, '')}`)).join(', ');
    return {
      ok: false,
      reason: 'channel',
      message: `Sorry, /kpi is not available in this channel. Please use it in ${where}.`,
    };
  }
  return { ok: true };
}
