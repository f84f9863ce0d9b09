/**
 * Credentials: which authenticator a load uses (key pair, programmatic access token, OAuth,
 * password), what each needs, reading and checking the private key, and the hint an
 * authentication failure gives. Secrets never appear in a message.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import type { Settings } from '../../config/settings';
import { SourceError } from '../types';

export type Authenticator = 'SNOWFLAKE_JWT' | 'PROGRAMMATIC_ACCESS_TOKEN' | 'OAUTH' | 'SNOWFLAKE';

export const AUTH_LABEL: Record<Authenticator, string> = {
  SNOWFLAKE_JWT: 'key pair (SNOWFLAKE_JWT)',
  PROGRAMMATIC_ACCESS_TOKEN: 'programmatic access token',
  OAUTH: 'OAuth token',
  SNOWFLAKE: 'password',
};

/** SNOWFLAKE_AUTHENTICATOR, or inferred from which secret is set: key pair, token, password. */
export function chooseAuthenticator(s: Settings): Authenticator {
  const hasKey = Boolean(s.SNOWFLAKE_PRIVATE_KEY_PATH || s.SNOWFLAKE_PRIVATE_KEY);
  const auth: Authenticator | undefined =
    s.SNOWFLAKE_AUTHENTICATOR ?? (hasKey ? 'SNOWFLAKE_JWT' : s.SNOWFLAKE_TOKEN ? 'PROGRAMMATIC_ACCESS_TOKEN' : s.SNOWFLAKE_PASSWORD ? 'SNOWFLAKE' : undefined);
  if (!auth) {
    throw new SourceError(
      'Snowflake configuration: no credentials. Set SNOWFLAKE_PRIVATE_KEY_PATH (key pair, recommended for service users), ' +
        'SNOWFLAKE_TOKEN (programmatic access token, or OAuth with SNOWFLAKE_AUTHENTICATOR=OAUTH) or SNOWFLAKE_PASSWORD (person users)',
    );
  }
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new SourceError(`Snowflake configuration: SNOWFLAKE_AUTHENTICATOR=${auth} needs ${what}`);
  };
  if (auth === 'SNOWFLAKE_JWT') need(hasKey, 'SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY');
  if (auth === 'PROGRAMMATIC_ACCESS_TOKEN') need(Boolean(s.SNOWFLAKE_TOKEN || s.SNOWFLAKE_PASSWORD), 'SNOWFLAKE_TOKEN');
  if (auth === 'OAUTH') need(Boolean(s.SNOWFLAKE_TOKEN), 'SNOWFLAKE_TOKEN');
  if (auth === 'SNOWFLAKE') need(Boolean(s.SNOWFLAKE_PASSWORD), 'SNOWFLAKE_PASSWORD');
  if (auth !== 'OAUTH' && auth !== 'PROGRAMMATIC_ACCESS_TOKEN') need(Boolean(s.SNOWFLAKE_USER), 'SNOWFLAKE_USER');
  return auth;
}

/** The private key as unencrypted PKCS#8 PEM (what the driver signs its JWT with). */
export function readPrivateKey(s: Settings): string {
  let material: string | Buffer;
  let where: string;
  if (s.SNOWFLAKE_PRIVATE_KEY) {
    material = s.SNOWFLAKE_PRIVATE_KEY.replace(/\\n/g, '\n');
    where = 'SNOWFLAKE_PRIVATE_KEY';
  } else {
    where = `SNOWFLAKE_PRIVATE_KEY_PATH (${s.SNOWFLAKE_PRIVATE_KEY_PATH})`;
    try {
      material = readFileSync(s.SNOWFLAKE_PRIVATE_KEY_PATH!);
    } catch (err) {
      throw new SourceError(`Snowflake configuration: cannot read the private key file ${where}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  }
  try {
    const key = createPrivateKey({ key: material, format: 'pem', passphrase: s.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE });
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA key');
    return key.export({ format: 'pem', type: 'pkcs8' }).toString();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const hint = /passphrase|decrypt|bad decrypt/i.test(msg)
      ? s.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE ? 'wrong SNOWFLAKE_PRIVATE_KEY_PASSPHRASE' : 'the key is encrypted: set SNOWFLAKE_PRIVATE_KEY_PASSPHRASE'
      : 'expected an RSA private key in PEM (PKCS#8, "-----BEGIN PRIVATE KEY-----" or "-----BEGIN ENCRYPTED PRIVATE KEY-----")';
    throw new SourceError(`Snowflake configuration: cannot use the private key from ${where}: ${hint}`);
  }
}

/** What to check after an authentication failure, per authenticator. */
export function authHint(auth: Authenticator): string {
  switch (auth) {
    case 'SNOWFLAKE_JWT':
      return 'Check SNOWFLAKE_USER and SNOWFLAKE_ACCOUNT, and that the public key of SNOWFLAKE_PRIVATE_KEY_PATH / SNOWFLAKE_PRIVATE_KEY is set on the user (ALTER USER ... SET RSA_PUBLIC_KEY; DESC USER shows RSA_PUBLIC_KEY_FP).';
    case 'PROGRAMMATIC_ACCESS_TOKEN':
      return 'Check that SNOWFLAKE_TOKEN is a valid, unexpired programmatic access token of this user (and the user is subject to a network policy if required).';
    case 'OAUTH':
      return 'Check that SNOWFLAKE_TOKEN is a valid, unexpired OAuth access token.';
    default:
      return 'Check SNOWFLAKE_USER and SNOWFLAKE_PASSWORD; service users (TYPE=SERVICE) cannot sign in with a password: use a key pair.';
  }
}
