/**
 * Every TypeScript code block in README.md and docs/*.md type-checks under `--strict`, as a user would paste it.
 * Each block is its own module; `prelude.d.ts.in` declares the placeholder names docs lean on (`url`, `io`,
 * `httpServer`, …) and `modules.d.ts.in` the third-party modules shown but not installed. The package names resolve
 * to src/, so no build is needed.
 *
 * Opting out: put `<!-- docs-test: skip (reason) -->` on the line right before the fence. Use it only for blocks that
 * are deliberately not runnable TypeScript (a fragment of an object literal, pseudo-code); shell or JSON snippets
 * should simply use a `sh` / `json` fence instead.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const here = fileURLToPath(new URL(".", import.meta.url));
const out = join(root, ".test-results", "docs");
const SKIP = /^<!--\s*docs-test:\s*skip\b(.*)-->\s*$/;

interface Block {
  doc: string;
  line: number; // 1-based line of the opening fence
  code: string;
  file: string; // generated .ts(x) file, relative to `out`
  skipped: string | undefined; // the reason, when opted out
}

function extractBlocks(doc: string, text: string): Block[] {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript|tsx)\b/.exec(lines[i] ?? "");
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ""); i++) body.push(lines[i] ?? "");
    const marker = SKIP.exec((lines[start - 1] ?? "").trim()) ?? SKIP.exec((lines[start - 2] ?? "").trim());
    const ext = open[1] === "tsx" ? "tsx" : "ts";
    blocks.push({
      doc,
      line: start + 1,
      code: body.join("\n"),
      file: `${doc.replace(/[/.]/g, "_")}_L${start + 1}.${ext}`,
      skipped: marker ? (marker[1] ?? "").trim() : undefined,
    });
  }
  return blocks;
}

const docs = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const blocks = docs.flatMap((doc) => extractBlocks(doc, readFileSync(join(root, doc), "utf8")));
const checked = blocks.filter((b) => b.skipped === undefined);
const errors = new Map<string, string[]>();

beforeAll(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // `export {}` makes every block a module, so two blocks may declare the same names.
  for (const b of checked) writeFileSync(join(out, b.file), `${b.code}\n\nexport {};\n`);
  // Stored as `.d.ts.in` so the repository's own tsconfig does not see these globals.
  for (const f of ["prelude.d.ts", "modules.d.ts"])
    writeFileSync(join(out, f), readFileSync(join(here, `${f}.in`), "utf8"));
  const src = (p: string) => join(root, "src", p);
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    jsx: ts.JsxEmit.ReactJSX,
    types: ["node"],
    typeRoots: [join(root, "node_modules", "@types")],
    skipLibCheck: true,
    noEmit: true,
    paths: {
      "authed-socket": [src("index.ts")],
      "authed-socket/server": [src("server/index.ts")],
      "authed-socket/react": [
        src("react/index.ts"),
        src("react/index.tsx"),
        src("react.ts"),
        src("react.tsx"),
      ],
    },
  };
  const program = ts.createProgram(
    [join(out, "prelude.d.ts"), join(out, "modules.d.ts"), ...checked.map((b) => join(out, b.file))],
    options,
  );
  for (const b of checked) {
    const sf = program.getSourceFile(join(out, b.file));
    if (!sf) throw new Error(`${b.file} was not compiled`);
    const found = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    errors.set(
      b.file,
      found.map((d) => {
        const at = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line + 1;
        return `line ${at}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      }),
    );
  }
}, 120_000);

describe("docs code blocks", () => {
  it("finds the blocks (the extractor sees README and docs/)", () => {
    expect(checked.length).toBeGreaterThan(20);
    expect(new Set(checked.map((b) => b.doc))).toContain("README.md");
  });

  it("opt-outs are rare and each gives a reason", () => {
    const skipped = blocks.filter((b) => b.skipped !== undefined);
    expect(skipped.filter((b) => !/\w/.test(b.skipped ?? "")).map((b) => `${b.doc}:${b.line}`)).toEqual([]);
    expect(skipped.length).toBeLessThanOrEqual(Math.ceil(blocks.length / 10));
  });

  it.each(checked.map((b) => [`${b.doc}:${b.line}`, b] as const))("%s type-checks with --strict", (_, b) => {
    // Lines are those of the block (line 1 = the line after the fence).
    expect(errors.get(b.file) ?? []).toEqual([]);
  });
});
