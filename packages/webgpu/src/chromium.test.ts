import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectClose } from '@heed/tensor/testing';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script shared with the demo's e2e (no type declarations)
import { findChromium } from '../../../scripts/chromium.mjs';

// The browser route: headless Chromium (the pinned @sparticuz/chromium) with WebGPU on SwiftShader, a page served
// from http://127.0.0.1 (WebGPU needs a secure context), running a training step on its GPU and on its CPU.
// Tolerances as in Node's tests: the loss 1e-5, the gradient 1e-4 relative, the parameters after Adam 1e-5.

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let server: Server;
let origin = '';

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [join(packageDir, 'test', 'chromium-page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.text;
  const page = '<!doctype html><meta charset="utf-8"><title>heed webgpu</title><script type="module" src="/page.js"></script>';
  server = createServer((request, response) => {
    const [type, body] = request.url === '/page.js' ? ['text/javascript', script] : ['text/html', page];
    response.writeHead(200, { 'content-type': type });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('WebGPU in headless Chromium (SwiftShader)', () => {
  it('a MultiHeadAttention training step on the page GPU equals the one on its CPU', async () => {
    const { path } = (await findChromium(packageDir, { allowOverride: false })) as { path: string };
    const userDataDir = mkdtempSync(join(tmpdir(), 'heed-webgpu-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: path,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--enable-unsafe-webgpu',
        '--use-angle=swiftshader',
        '--enable-features=Vulkan',
        '--use-vulkan=swiftshader',
      ],
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(origin);
      await page
        .waitForFunction(() => 'heedResult' in globalThis)
        .catch((error: Error) => {
          throw new Error(`${error.message}; page errors: ${errors.join('; ') || 'none'}`);
        });
      type Step = { loss: number[]; parameters: number[]; gradient: number[] };
      const result = (await page.evaluate(() => (globalThis as unknown as { heedResult: Promise<unknown> }).heedResult)) as
        | { adapter: string; cpu: Step; gpu: Step }
        | { error: string };
      expect(errors).toEqual([]);
      if ('error' in result) throw new Error(`the page failed: ${result.error}`);
      expect(result.adapter).toMatch(/google swiftshader/);
      expectClose(result.gpu.loss, result.cpu.loss, { atol: 1e-5, rtol: 1e-5 }, 'loss');
      expectClose(result.gpu.gradient, result.cpu.gradient, { atol: 2e-5, rtol: 1e-4 }, 'gradient');
      expectClose(result.gpu.parameters, result.cpu.parameters, { atol: 1e-5, rtol: 1e-5 }, 'parameters');
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });
});
