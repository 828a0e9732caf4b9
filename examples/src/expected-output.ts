/**
 * What a README example says it prints: its output comments, in order, one string per printed line.
 *
 * The convention: a run of whole-line `//` comments is expected output when the line right above the
 * run (no blank line between) prints — it contains `console.log(` — or closes a block that prints
 * (its text starts with `}`, e.g. the end of a loop). The output line is the comment's text after
 * `// ` (alignment spaces kept, trailing spaces dropped); `//` alone is an empty line. Any other
 * comment is prose: start prose with a blank line above it, or put it above code that does not print.
 * A comment at the end of a code line is always a note, never output. The text is compared exactly
 * (numbers as printed), so a prose comment taken for output, or output written as prose, fails the test.
 */
export function expectedOutput(code: string): string[] {
  return classifyLines(code).flatMap((line) => (line.output === null ? [] : [line.output]));
}

/** The code without its output comments (what a script file holds), trailing blank lines dropped. */
export function withoutOutput(code: string): string {
  return classifyLines(code)
    .filter((line) => line.output === null)
    .map((line) => line.source)
    .join('\n')
    .trimEnd();
}

/** Each line of the code, with its expected-output text when it is an output comment (else null). */
function classifyLines(code: string): { source: string; output: string | null }[] {
  let previous: 'prints' | 'output' | 'other' = 'other';
  return code.split('\n').map((source) => {
    const text = source.trim();
    const comment = /^\/\/(?: (.*))?$/.exec(text);
    if (comment && previous !== 'other') {
      previous = 'output';
      return { source, output: (comment[1] ?? '').trimEnd() };
    }
    previous = text === '' || comment ? 'other' : text.includes('console.log(') || text.startsWith('}') ? 'prints' : 'other';
    return { source, output: null };
  });
}
