/**
 * MASTER and SLAVE specs (CLI.md) → endpoints. Pure: local paths are made absolute
 * against the `cwd` given, nothing is looked at on disk.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LocalEndpoint {
  readonly kind: 'local';
  readonly path: string;
}

export interface SshEndpoint {
  readonly kind: 'ssh';
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  /** As given: absolute, or relative to the remote user's home. */
  readonly path: string;
}

export interface VolumeEndpoint {
  readonly kind: 'volume';
  /** undefined: a volume of the local config (`:NAME`). */
  readonly user: string | undefined;
  readonly host: string | undefined;
  readonly name: string;
}

export type Endpoint = LocalEndpoint | SshEndpoint | VolumeEndpoint;
export type EndpointResult = { readonly ok: true; readonly endpoint: Endpoint } | { readonly ok: false; readonly reason: string };

const fail = (reason: string): EndpointResult => ({ ok: false, reason });
const ok = (endpoint: Endpoint): EndpointResult => ({ ok: true, endpoint });

/** Trailing slashes do not matter: the contents of MASTER always go into SLAVE. */
const trimSlashes = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') || '/' : p);

// A host or user that starts with '-' would be read by ssh as an option.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.][A-Za-z0-9_.-]*)$/;
const USER = /^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$/;
const VOLUME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function checkUserHost(user: string | undefined, host: string): string | undefined {
  if (user !== undefined && !USER.test(user)) return `"${user}" is not a valid user name`;
  if (!HOST.test(host)) return `"${host}" is not a valid host name`;
  return undefined;
}

function local(spec: string, cwd: string): EndpointResult {
  if (spec.includes('\0')) return fail('a path cannot contain a NUL byte');
  return ok({ kind: 'local', path: trimSlashes(path.resolve(cwd, spec)) });
}

/** decodeURIComponent without the URIError: undefined for a malformed escape. */
const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

function fileUrl(spec: string): EndpointResult {
  if (!spec.startsWith('file://')) return fail('not a valid file URL; use file:///absolute/path');
  let p: string;
  try {
    p = fileURLToPath(spec);
  } catch (e) {
    return fail(`not a valid file URL (${e instanceof Error ? e.message : String(e)}); use file:///absolute/path`);
  }
  if (p.includes('\0')) return fail('a path cannot contain a NUL byte');
  return ok({ kind: 'local', path: trimSlashes(p) });
}

function sshUrl(spec: string): EndpointResult {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return fail('not a valid ssh URL; use ssh://[user@]host[:port]/path');
  }
  const user = url.username === '' ? undefined : decode(url.username);
  if (user === '' || (url.username !== '' && user === undefined)) return fail('the ssh URL has a malformed %-escape in its user');
  const host = url.hostname;
  if (url.password !== '') return fail('passwords in ssh URLs are not supported; use a key');
  if (host === '') return fail('the ssh URL has no host');
  const bad = checkUserHost(user, host);
  if (bad) return fail(bad);
  const p = decode(url.pathname);
  if (p === undefined) return fail('the ssh URL has a malformed %-escape in its path');
  if (p === '' || p === '/') return fail('the ssh URL has no path; use ssh://[user@]host[:port]/path');
  if (p.includes('\0')) return fail('a path cannot contain a NUL byte');
  return ok({ kind: 'ssh', user, host, port: url.port === '' ? undefined : Number(url.port), path: trimSlashes(p) });
}

/** `[user@]host:path` and `[user@]host::NAME`, as rsync reads them: a colon before any slash. */
function rsyncStyle(spec: string): EndpointResult | undefined {
  const m = /^(?:([^@/:]+)@)?(\[[^\]]*\]|[^:/[\]]+):(:?)(.*)$/s.exec(spec);
  if (!m) return undefined;
  const [, user, host = '', doubleColon, rest = ''] = m;
  const bad = checkUserHost(user, host);
  if (bad) return fail(bad);
  if (doubleColon) {
    if (!VOLUME.test(rest)) return fail(`"${rest}" is not a valid volume name`);
    return ok({ kind: 'volume', user, host, name: rest });
  }
  if (rest === '') return fail(`no path after "${host}:"; use [user@]host:/path`);
  if (rest.includes('\0')) return fail('a path cannot contain a NUL byte');
  return ok({ kind: 'ssh', user, host, port: undefined, path: trimSlashes(rest) });
}

export function parseEndpoint(spec: string, cwd: string): EndpointResult {
  if (spec === '') return fail('empty');
  if (spec.startsWith('file:')) return fileUrl(spec);
  if (spec.startsWith('ssh://')) return sshUrl(spec);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) return fail(`unsupported URL scheme; use a path, file:// or ssh://`);
  if (spec.startsWith(':')) {
    const name = spec.slice(1);
    if (!VOLUME.test(name)) return fail(`"${name}" is not a valid volume name`);
    return ok({ kind: 'volume', user: undefined, host: undefined, name });
  }
  if (spec.startsWith('/') || spec.startsWith('.')) return local(spec, cwd);
  return rsyncStyle(spec) ?? local(spec, cwd);
}

/** How an endpoint is shown in logs and status: the form the user would type. */
export function describeEndpoint(e: Endpoint): string {
  switch (e.kind) {
    case 'local':
      return e.path;
    case 'ssh':
      return e.port === undefined
        ? `${e.user ? `${e.user}@` : ''}${e.host}:${e.path}`
        : `ssh://${e.user ? `${e.user}@` : ''}${e.host}:${e.port}${e.path}`;
    case 'volume':
      return e.host === undefined ? `:${e.name}` : `${e.user ? `${e.user}@` : ''}${e.host}::${e.name}`;
  }
}
