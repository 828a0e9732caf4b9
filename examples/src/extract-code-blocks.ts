/** One fenced code block of a Markdown file. */
export interface CodeBlock {
  /** The fence's language, lower-cased: `ts`, `js`, `sh`, … (empty when the fence names none). */
  language: string;
  /** The words after the language on the fence line, e.g. `['no-run']` for ```` ```ts no-run ````. */
  flags: string[];
  /** The code, without the fences and without the fence's indentation. */
  code: string;
  /** 1-based line of the opening fence in the Markdown file. */
  line: number;
}

/** Languages whose blocks are examples: type-checked as TypeScript and run. */
export const EXAMPLE_LANGUAGES: ReadonlySet<string> = new Set(['ts', 'typescript', 'mts', 'js', 'javascript', 'mjs']);

/**
 * Every fenced (```` ``` ````) code block of a Markdown text, in order. A fence may be indented (inside a
 * list); the block ends at the next fence line of the same indentation. An unclosed fence is an error,
 * not a block silently dropped.
 */
export function extractCodeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```\s*([^\s`]*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!;
    const body: string[] = [];
    let end = i + 1;
    while (end < lines.length && lines[end]!.trimEnd() !== `${indent}\`\`\``) end++;
    if (end === lines.length) throw new Error(`unclosed code fence at line ${i + 1}: ${lines[i]}`);
    for (let j = i + 1; j < end; j++) body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
    blocks.push({ language: open[2]!.toLowerCase(), flags: open[3]!.split(/\s+/).filter(Boolean), code: body.join('\n'), line: i + 1 });
    i = end;
  }
  return blocks;
}
