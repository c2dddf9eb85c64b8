// What the core accepts and throws is what index.d.ts types and the README documents: the
// settings (crates/core/src/settings.rs) and the error codes (crates/core/src/error.rs).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Settings handled in JS before the addon sees them (callbacks are not data). */
const JS_ONLY = ['onProgress'];

function rustKeys(constName: string): string[] {
  const body = new RegExp(`const ${constName}: &\\[&str\\] = &\\[([^\\]]*)\\]`).exec(read('crates/core/src/settings.rs'))?.[1];
  if (!body) throw new Error(`${constName} not found in settings.rs`);
  return [...body.matchAll(/"(\w+)"/g)].map((m) => m[1]).sort();
}

function typedKeys(interfaceName: string): string[] {
  const dts = read('index.d.ts');
  const start = dts.indexOf(`export interface ${interfaceName} {`);
  if (start < 0) throw new Error(`${interfaceName} not found in index.d.ts`);
  const body = dts.slice(start, dts.indexOf('\n}\n', start));
  // Members sit at two spaces of indentation; deeper ones belong to nested types.
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]).sort();
}

function readmeSection(title: string): string {
  const readme = read('README.md');
  const start = readme.indexOf(`## ${title}\n`);
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
}

describe('settings documentation', () => {
  it('index.d.ts types exactly the create and wrap settings the core accepts', () => {
    expect(typedKeys('MicrosandboxCreateSettings')).toEqual([...rustKeys('CREATE_KEYS'), ...JS_ONLY].sort());
    expect(typedKeys('MicrosandboxWrapSettings')).toEqual(rustKeys('WRAP_KEYS'));
  });

  it("the README's Settings table lists every create setting, and its wrap line every wrap setting", () => {
    const section = readmeSection('Settings');
    const firstColumns = [...section.matchAll(/^\| ([^|]+) \|/gm)].map((m) => m[1]);
    const tableKeys = firstColumns.flatMap((cell) => [...cell.matchAll(/`(\w+)`/g)].map((m) => m[1])).sort();
    expect(tableKeys).toEqual([...rustKeys('CREATE_KEYS'), ...JS_ONLY].sort());
    const wrapLine = /Wrap mode \(`\{ ([^}]*) \}`\)/.exec(section)?.[1] ?? '';
    expect(wrapLine.split(',').map((k) => k.trim().replace(/\?$/, '')).sort()).toEqual(rustKeys('WRAP_KEYS'));
  });
});
