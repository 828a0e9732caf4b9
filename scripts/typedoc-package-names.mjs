// TypeDoc plugin (typedoc.json `plugin`): names each module after its package, `@heed/multi-head` rather
// than the entry point's path `multi-head/src`, so the API reference reads like the imports users write.
import { readFileSync } from 'node:fs';
import { Converter, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getChildrenByKind(ReflectionKind.Module)) {
      const directory = /^([\w-]+)\/src$/.exec(module.name)?.[1];
      if (!directory) throw new Error(`typedoc-package-names: module '${module.name}' is not packages/<name>/src/index.ts`);
      const packageJson = new URL(`../packages/${directory}/package.json`, import.meta.url);
      module.name = JSON.parse(readFileSync(packageJson, 'utf8')).name;
    }
  });
}
