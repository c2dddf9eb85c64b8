// The README's performance section is what bench/table.mjs renders from bench/results.json: both
// come from one `npm run bench`, and neither may be edited apart from the other.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentSection, renderTables } from '../../bench/table.mjs';

const ROOT = join(import.meta.dirname, '../..');
const results = JSON.parse(readFileSync(join(ROOT, 'bench/results.json'), 'utf8'));

describe('benchmark results', () => {
  it('the README performance section is rendered from bench/results.json, unchanged', () => {
    expect(currentSection(readFileSync(join(ROOT, 'README.md'), 'utf8'))).toBe(renderTables(results));
  });

  it('every row states its ratio from its own two numbers, and whether it met its target', () => {
    for (const row of results.rows) {
      if (row.ours == null || row.baseline == null) {
        expect(row.ratio).toBeNull();
        continue;
      }
      expect(row.ratio).toBeCloseTo(row.ours / row.baseline, 6);
      if (row.target === null) continue;
      const [op, value] = row.target.split(' ');
      expect(row.met).toBe(op === '<=' ? row.ratio <= Number(value) : row.ratio >= Number(value));
    }
  });
});
