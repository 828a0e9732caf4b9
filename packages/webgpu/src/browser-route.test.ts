import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_CONFORMANCE_CASES } from '../test/browser/conformance-checks';
import { launchChromium } from '../test/browser/launch-chromium';
import { ROUTE_ENTRY, type RouteCheck, type RouteResult } from '../test/browser/route-result';
import { type PageServer, servePage } from '../test/browser/serve-page';

// The browser route: @heed/webgpu in headless Chromium (the pinned @sparticuz/chromium) with --enable-unsafe-webgpu,
// on SwiftShader. The page (test/browser/page.ts) computes each result on WebGPU and on the CPU (the JS kernels),
// runs the PyTorch fixtures on WebGPU against PyTorch's numbers (test/fixture-checks.ts, the checks the Node route runs
// in src/webgpu-fixtures.test.ts: every fixture but the normalizers' sparsemax, entmax and Gumbel ones), and returns
// max |gpu − reference| / max(1, |reference|) per result; the tolerances are stated here, per kind of result
// (float32 on both sides, the GPU summing in another order: tiles, trees, the online softmax).
const TOLERANCES: readonly [RegExp, number][] = [
  [/^matmul /, 2e-5], // sums of 33 products
  [/^softmax /, 1e-5],
  [/^(sum|max) /, 2e-5], // sums of up to 4515 values
  [/^attention (output|logSumExp)$/, 2e-5],
  [/^attention d[qkv]$/, 1e-4],
  [/^training loss/, 1e-5],
  [/^training gradient/, 1e-4],
  [/^training parameter/, 1e-5],
];

// The PyTorch fixtures ('fixture …') are held to each fixture file's own float32 rule against its float64 reference,
// |gpu − ref| ≤ atol + rtol·|ref| elementwise (rtol 1e-4, atol 1e-5; atol 1e-4 for softcap_gemma2, whose logits reach
// twice the cap; 1e-3 both for sdpa_large_logits_*, logits near 1e3), as on the CPU: ruleFraction ≤ 1. Integers
// (Luong's window bounds), gradients that must be exactly 0 and finiteness counts: exact.
const EXACT_FIXTURE_CHECK = /^fixture .* (window_start|window_end|finite|grad x of the masked batch element)$/;

function toleranceOf(check: RouteCheck): number {
  const found = TOLERANCES.find(([pattern]) => pattern.test(check.name));
  if (!found) throw new Error(`browser route: no tolerance stated for the check '${check.name}'`);
  return found[1];
}

/** The fraction of its tolerance a check uses: ≤ 1 passes. */
function usage(check: RouteCheck): number {
  if (EXACT_FIXTURE_CHECK.test(check.name)) return check.maxError === 0 ? 0 : Number.POSITIVE_INFINITY;
  if (check.name.startsWith('fixture ')) return check.ruleFraction ?? Number.POSITIVE_INFINITY;
  return check.maxError / toleranceOf(check);
}

let server: PageServer | null = null;
let browser: Browser | null = null;
let result: RouteResult;
let browserVersion = '';
let expectedMajor = 0;
const problems: string[] = []; // console errors, page errors, failed requests
const warnings: string[] = [];

beforeAll(async () => {
  server = await servePage();
  const launched = await launchChromium();
  browser = launched.browser;
  browserVersion = browser.version();
  expectedMajor = launched.expectedMajor;
  const page = await browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    if (message.type() === 'warning') warnings.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  await page.goto(server.url);
  result = await page.evaluate((entry) => (globalThis as unknown as Record<string, () => Promise<RouteResult>>)[entry]!(), ROUTE_ENTRY);
  const { adapter } = result;
  console.log(
    `browser route: Chromium ${browserVersion} (${launched.source}), adapter ${adapter.vendor} / ${adapter.architecture}` +
      ` (fallback ${adapter.isFallbackAdapter}), subgroups ${adapter.subgroupMinSize}–${adapter.subgroupMaxSize},` +
      ` device features [${adapter.deviceFeatures.join(', ')}], adapter features [${adapter.features.join(', ')}];` +
      ` ${result.checks.length} checks in ${(result.milliseconds / 1000).toFixed(1)} s in the page`,
  );
  const closest = [...result.checks].sort((a, b) => usage(b) - usage(a)).slice(0, 4);
  console.log(
    `browser route: closest to their tolerance: ${closest.map((check) => `${check.name} |error| ${check.maxAbsError.toExponential(1)} (${(100 * usage(check)).toFixed(0)} % of it)`).join(', ')}`,
  );
  for (const refusal of result.refusals)
    console.log(`browser route: refused on WebGPU: ${refusal.name}: ${refusal.error}: ${refusal.message}`);
  if (warnings.length > 0) console.log(`browser route: console warnings: ${warnings.join(' | ')}`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('@heed/webgpu in headless Chromium on SwiftShader', () => {
  it(`passes ${BROWSER_CONFORMANCE_CASES.length} cases of the conformance suite on WebGPU in the page (every case runs in Node)`, () => {
    expect(result.conformance.map((c) => c.name)).toEqual(BROWSER_CONFORMANCE_CASES);
    expect(result.conformance.filter((c) => c.error !== null)).toEqual([]);
  });

  it('runs in the pinned Chromium, on a WebGPU adapter, against the JS kernels, without a console error', () => {
    expect(Number(browserVersion.split('.')[0])).toBe(expectedMajor);
    expect(result.adapter.vendor).not.toBe('');
    expect(result.cpuKernelSet).toBe('js');
    expect(result.gpuDevices).toEqual(['webgpu']);
    expect(result.uncapturedErrors).toEqual([]);
    expect(result.refusals).toEqual([]); // every fixture runs on WebGPU, sinks and T5's relative bias included
    expect(problems).toEqual([]);
    expect(server?.missing).toEqual([]);
  });

  it('ops, fused attention forward and backward and a training step equal the CPU; the fixtures equal PyTorch', () => {
    const names = result.checks.map((check) => check.name);
    for (const covered of [
      /^matmul /,
      /^softmax /,
      /^sum /,
      /^attention dk$/,
      /^training parameter/,
      /^fixture sdpa_causal grad key$/,
      /^fixture mha_causal .* grad in_proj_weight$/,
      /^fixture alibi_non_power_of_two grad k$/,
      /^fixture softcap_gemma2 grad q$/,
      /^fixture document_mask_causal \(segments\) output$/,
      /^fixture attention_sinks_gptoss grad sinks$/,
      /^fixture t5_relative_bias_causal grad relative_attention_bias$/,
      /^fixture t5_relative_bias_bidirectional grad q$/,
      /^fixture sparsemax_boundary_ties support sizes$/,
      /^fixture entmax_alpha_1_75 grad z$/,
      /^fixture sparsemax_attention grad key$/,
      /^fixture gumbel_softmax_straight_through grad gumbel_noise$/,
      /^fixture cosine_attention grad key$/,
      /^fixture bahdanau_additive grad W1.weight$/,
      /^fixture torch_behaviour_mha_fully_masked_rows \(additiveMask\) attn_output$/,
      /^fixture rope_decode_offset \(attend, plain\) grad k$/,
      /^fixture alibi_causal \(attend, plain\) grad q$/,
      /^fixture luong_local_p grad v_p$/,
      /^fixture linear_attention_elu_causal grad q$/,
      /^fixture gemma2_softcap_block grad o_proj.weight$/,
    ]) {
      expect(
        names.some((name) => covered.test(name)),
        `a check matching ${covered}`,
      ).toBe(true);
    }
    const failures = result.checks.filter((check) => !check.sameShape || check.nonFinite > 0 || check.size === 0 || !(usage(check) <= 1));
    expect(
      failures,
      failures.map((f) => `${f.name}: |error| ${f.maxAbsError} is ${usage(f)} of its tolerance (${f.nonFinite} non-finite)`).join('; '),
    ).toEqual([]);
  });
});
