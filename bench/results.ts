// Where every bench script leaves its table: bench/results/NAME.md (printed too) and NAME.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/env.js';

export const resultsDir = join(projectRoot, 'bench', 'results');

export function writeResults(name: string, md: string, data: object, print = true): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `${name}.md`), md);
  writeFileSync(join(resultsDir, `${name}.json`), JSON.stringify(data, null, 2) + '\n');
  if (print) process.stdout.write(md);
}
