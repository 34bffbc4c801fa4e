/**
 * `--http-listen ADDR:PORT`: /healthz (the process answers), /readyz (live and the slave
 * reachable), /metrics (Prometheus). Off by default; nothing else is served.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Readiness {
  readonly ready: boolean;
  readonly reason: string;
}

export interface HttpEndpoints {
  readonly registry: Registry;
  readiness(): Readiness;
}

/** `host:port`, `[v6]:port` or `:port` (every address) → parts; undefined when malformed. */
export function parseListen(text: string): { host: string | undefined; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

export async function startHttp(listen: string, e: HttpEndpoints): Promise<{ server: Server; address: string }> {
  const where = parseListen(listen);
  if (!where) throw new Error(`--http-listen ${listen}: expected ADDR:PORT`);
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url === '/readyz') {
      const r = e.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(`${r.reason}\n`);
    } else if (url === '/metrics') {
      e.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': e.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err instanceof Error ? err.message : String(err)}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const address = typeof a === 'object' && a !== null ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : listen;
  return { server, address };
}
