import { describe, expect, it } from 'vitest';
import { expectedOutput, withoutOutput } from './expected-output';

describe('expectedOutput', () => {
  it('takes the comment run right under a console.log, keeping alignment spaces', () => {
    const code = ['const a = 1;', 'console.log(a, [a]);', '// 1 [ 1 ]', '//   aligned  ', 'const b = 2;'].join('\n');
    expect(expectedOutput(code)).toEqual(['1 [ 1 ]', '  aligned']);
  });

  it('takes the comment run right under the closing brace of a printing loop', () => {
    const code = ['for (const x of [1, 2]) {', '  console.log(x);', '}', '// 1', '// 2'].join('\n');
    expect(expectedOutput(code)).toEqual(['1', '2']);
  });

  it('treats comments after a blank line, above code, or at the end of a line as prose', () => {
    const code = [
      '// Prose at the top.',
      'const a = 1; // a note',
      'console.log(a); // a note, not output',
      '// 1',
      '',
      '// Prose after a blank line.',
      'const b = 2;',
      '// Prose under code that does not print.',
    ].join('\n');
    expect(expectedOutput(code)).toEqual(['1']);
  });

  it('reads `//` alone as an empty output line and returns nothing for a block that prints nothing', () => {
    expect(expectedOutput('console.log("a\\n\\nb");\n// a\n//\n// b')).toEqual(['a', '', 'b']);
    expect(expectedOutput('const a = 1;\n// prose')).toEqual([]);
  });
});

describe('withoutOutput', () => {
  it('drops exactly the output comments', () => {
    const code = ['// Prose.', 'console.log(1); // note', '// 1', '', 'console.log(2);', '// 2', ''].join('\n');
    expect(withoutOutput(code)).toBe(['// Prose.', 'console.log(1); // note', '', 'console.log(2);'].join('\n'));
  });
});
