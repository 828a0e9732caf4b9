// pnpm bench --gpu --browser: the GPU bench's rows in a page of headless Chromium (the pinned @sparticuz/chromium,
// found by scripts/chromium.mjs) with WebGPU switched on, as @heed/webgpu's browser route does. The page
// (gpu-page.mjs) is bundled by esbuild (the version @heed/webgpu pins) and served on 127.0.0.1 with
// onnxruntime-web's .wasm files under /ort/. Chromium picks its adapter itself: a GPU where its Vulkan finds one,
// else SwiftShader (software: the header says so). The table and targets are the Node route's.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finish, probeAdapter } from './gpu-finish.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const bench = join(here, '..');
const root = join(bench, '..');

async function bundlePage() {
  const esbuild = createRequire(join(root, 'packages', 'webgpu', 'package.json'))('esbuild');
  const built = await esbuild.build({
    entryPoints: [join(here, 'gpu-page.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  return built.outputFiles[0].contents;
}

function serve(script) {
  // onnxruntime-web's exports map has no ./package.json: its main entry (for Node) lies in dist/, beside the .wasm.
  const ortDist = dirname(createRequire(join(bench, 'package.json')).resolve('onnxruntime-web'));
  const html = '<!doctype html><meta charset="utf-8"><title>heed GPU bench</title><script type="module" src="/page.js"></script>\n';
  const types = { '.wasm': 'application/wasm', '.mjs': 'text/javascript', '.js': 'text/javascript' };
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    try {
      if (path === '/') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      else if (path === '/page.js') response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
      else if (path.startsWith('/ort/') && /^ort-wasm[\w.-]*\.(wasm|mjs)$/.test(basename(path))) {
        const file = basename(path);
        response.writeHead(200, { 'content-type': types[file.slice(file.lastIndexOf('.'))] }).end(readFileSync(join(ortDist, file)));
      } else response.writeHead(404).end();
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Runs the rows in the page; resolves to the exit code. */
export async function runGpuBrowser(options, out) {
  const { findChromium, SWIFTSHADER_FLAGS, WEBGPU_PAGE_FLAGS } = await import('../../scripts/chromium.mjs');
  const { chromium } = await import('playwright-core');
  const found = await findChromium(bench, { allowOverride: true });
  const server = await serve(await bundlePage());
  // Where Dawn in Node finds no GPU, Chromium will be on SwiftShader too: turn off Dawn's zero fill of workgroup
  // memory there as @heed/webgpu's browser tests do (SwiftShader compiles it element by element, seconds a kernel).
  const software = (await probeAdapter()) === null;
  const args = software ? [...WEBGPU_PAGE_FLAGS, ...SWIFTSHADER_FLAGS] : WEBGPU_PAGE_FLAGS;
  const browser = await chromium.launch({ executablePath: found.path, headless: true, args });
  try {
    const page = await browser.newPage();
    page.on('console', (message) => console.log(message.text()));
    page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
    page.setDefaultTimeout(0);
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof globalThis.heedGpuBench === 'function');
    console.log(`Chromium ${browser.version()} (${found.source}), headless, ${WEBGPU_PAGE_FLAGS[0]}; running the rows in the page …`);
    const result = await page.evaluate((o) => globalThis.heedGpuBench(o), { ...options, out: null });
    const softwareAdapter = !result.adapter || /swiftshader/i.test(`${result.adapter.architecture} ${result.adapter.description}`);
    const header = [
      `adapter (Chromium's navigator.gpu): ${result.adapter?.name ?? 'none'}${softwareAdapter ? '  — SOFTWARE (SwiftShader) or none: not a GPU speed measurement' : ''}`,
      `browser: Chromium ${browser.version()} (${found.source}); route: browser page`,
      `MultiHeadAttention(512, 8), full attention, x [1, L, 512], batch 1, float32; per L: one first run (compiles), then the median of up to ${options.steps} runs (${options.budgetMs / 1000} s budget)`,
    ];
    console.log(header.join('\n'));
    return finish(result.rows, {
      header,
      software,
      out,
      meta: {
        route: 'browser',
        adapter: result.adapter,
        browser: browser.version(),
        userAgent: result.userAgent,
        options,
        date: new Date().toISOString(),
      },
    });
  } finally {
    await browser.close();
    server.close();
  }
}
