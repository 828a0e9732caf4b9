// Bundles page.ts for the browser (esbuild: @heed/tensor and @heed/multi-head from their built dist, @heed/webgpu
// from its source) and serves it on 127.0.0.1 (a secure context, as WebGPU requires) at a free port.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export interface PageServer {
  /** The page's address, e.g. http://127.0.0.1:40123/. */
  readonly url: string;
  /** Every request the server answered with 404 (must be none). */
  readonly missing: readonly string[];
  close(): Promise<void>;
}

const HTML =
  '<!doctype html><meta charset="utf-8"><title>@heed/webgpu browser route</title><script type="module" src="/page.js"></script>\n';

export async function servePage(): Promise<PageServer> {
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL('page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    sourcemap: 'inline', // stack traces of page errors name the source files
  });
  const script = bundled.outputFiles[0]!.contents;
  const missing: string[] = [];
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === '/' || path === '/page.js') {
      response.writeHead(200, { 'content-type': path === '/' ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8' });
      response.end(path === '/' ? HTML : script);
    } else {
      missing.push(path);
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    missing,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
