import { readdirSync, readFileSync } from "node:fs";

/** One fenced code block of README.md or a docs/*.md page: its language, its text (unindented), where it is. */
export interface Block {
  lang: string;
  code: string;
  /** The file it is in, relative to the repository: `README.md`, `docs/api.md`. */
  file: string;
  /** The section it is in (the nearest heading above it). */
  heading: string;
  line: number;
}

/** Every fenced block of one Markdown file, including those indented inside list items. */
export function readmeBlocks(path = "README.md"): Block[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const blocks: Block[] = [];
  let heading = "";
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, "");
    const fence = /^(\s*)```(\S*)\s*$/.exec(line);
    if (!fence) continue;
    const indent = fence[1]?.length ?? 0;
    const start = index;
    const body: string[] = [];
    for (index++; index < lines.length && !/^\s*```\s*$/.test(lines[index] as string); index++) {
      body.push((lines[index] as string).slice(indent));
    }
    blocks.push({ lang: fence[2] ?? "", code: `${body.join("\n")}\n`, file: path, heading, line: start + 1 });
  }
  return blocks;
}

/** README.md and every Markdown page under docs/, in a stable order. */
export const documentationFiles = (): string[] => [
  "README.md",
  ...readdirSync("docs")
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];

/**
 * The blocks of README.md and docs/*.md, each to be claimed once by the test that runs or checks
 * it; at the end, `unclaimed()` lists those no test took, so an example cannot be added to any of
 * these pages without being run.
 */
export class ReadmeExamples {
  readonly blocks: Block[];
  readonly #claimed = new Set<Block>();

  constructor(files: readonly string[] = documentationFiles()) {
    this.blocks = files.flatMap((file) => readmeBlocks(file));
  }

  /** The one block of `lang`, in any of the files, whose text contains `marker`. */
  take(lang: string, marker: string): Block {
    const found = this.blocks.filter((block) => block.lang === lang && block.code.includes(marker));
    if (found.length !== 1) {
      const where = found.map((block) => `${block.file}:${block.line}`).join(", ");
      throw new Error(
        `expected one ${lang} block containing ${JSON.stringify(marker)} in README.md or docs/*.md, found ${found.length}${where ? ` (${where})` : ""}`,
      );
    }
    this.#claimed.add(found[0] as Block);
    return found[0] as Block;
  }

  /** The one block of `lang` that is exactly `code` once trimmed (a line a user copies as it is). */
  takeExactly(lang: string, code: string): Block {
    const found = this.blocks.filter((block) => block.lang === lang && block.code.trim() === code);
    if (found.length !== 1) {
      throw new Error(`expected one ${lang} block that is ${JSON.stringify(code)}, found ${found.length}`);
    }
    this.#claimed.add(found[0] as Block);
    return found[0] as Block;
  }

  /** Blocks of these languages that no test took, as `file:line: first line`. */
  unclaimed(langs: readonly string[]): string[] {
    return this.blocks
      .filter((block) => langs.includes(block.lang) && !this.#claimed.has(block))
      .map((block) => `${block.file}:${block.line}: ${block.code.split("\n")[0]}`);
  }
}
