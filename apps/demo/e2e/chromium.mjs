// Which Chromium the e2e drives: CHROMIUM_PATH when set, else the Chromium pinned in package.json as
// @sparticuz/chromium, extracted under this app's node_modules/.cache (see scripts/chromium.mjs).
import { fileURLToPath } from 'node:url';
import { findChromium as findChromiumFor } from '../../../scripts/chromium.mjs';

export { SWIFTSHADER_FLAGS, WEBGPU_PAGE_FLAGS } from '../../../scripts/chromium.mjs';

/** { path, source, expectedMajor } of the Chromium to launch; throws with a hint when there is none. */
export function findChromium() {
  return findChromiumFor(fileURLToPath(new URL('..', import.meta.url)));
}
