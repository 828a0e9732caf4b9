import { describe, expect, it } from 'vitest';
import { extractCodeBlocks } from './extract-code-blocks';

describe('extractCodeBlocks', () => {
  it('returns every fenced block with its language, flags, code and line', () => {
    const markdown = ['# Title', '', '```ts', 'const a = 1;', '```', 'text', '```sh', 'pnpm test', '```', '```ts no-run', 'x;', '```'].join(
      '\n',
    );
    expect(extractCodeBlocks(markdown)).toEqual([
      { language: 'ts', flags: [], code: 'const a = 1;', line: 3 },
      { language: 'sh', flags: [], code: 'pnpm test', line: 7 },
      { language: 'ts', flags: ['no-run'], code: 'x;', line: 10 },
    ]);
  });

  it('strips the indentation of a fence inside a list and keeps blank lines', () => {
    const markdown = ['- item', '  ```JS', '  if (a) {', '    b();', '', '  }', '  ```'].join('\n');
    expect(extractCodeBlocks(markdown)).toEqual([{ language: 'js', flags: [], code: 'if (a) {\n  b();\n\n}', line: 2 }]);
  });

  it('refuses an unclosed fence, naming its line', () => {
    expect(() => extractCodeBlocks('text\n```ts\nconst a = 1;\n')).toThrow('unclosed code fence at line 2');
  });
});
