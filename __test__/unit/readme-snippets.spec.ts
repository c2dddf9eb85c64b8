// Every TypeScript snippet in the README type-checks with `tsc --strict`, as a reader would install
// them: the pinned versions and npm overrides of __test__/fixtures/readme-snippets, plus the upstream
// members newer than our registry's @ai-sdk/harness (upstream.d.ts). Our option types are checked
// against upstream's there too (option-types.ts).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURE = join(ROOT, '__test__/fixtures/readme-snippets');
const snippets = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
let project: string;

function tsc(): string {
  try {
    execFileSync(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8' });
    return '';
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'aisdk-readme-'));
  for (const file of ['package.json', 'upstream.d.ts', 'option-types.ts']) cpSync(join(FIXTURE, file), join(project, file));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, stdio: 'pipe' });
  // This package as npm installs it: its types resolve against the reader's @ai-sdk/harness.
  const pkg = join(project, 'node_modules/ai-sdk-microsandbox');
  mkdirSync(pkg, { recursive: true });
  cpSync(join(ROOT, 'index.d.ts'), join(pkg, 'index.d.ts'));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'ai-sdk-microsandbox', type: 'module', types: './index.d.ts' }));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], skipLibCheck: true },
      include: ['*.ts'],
    }),
  );
  snippets.forEach((code, i) => writeFileSync(join(project, `readme-${i}.ts`), `${code}\nexport {};\n`));
}, 120_000);

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('README snippets', () => {
  it('lead with today\'s API and all type-check under tsc --strict, with our option types matching upstream\'s', () => {
    expect(snippets.length).toBeGreaterThan(3);
    expect(snippets[0]).toContain('createMicrosandboxNetworkSandboxSession');
    expect(snippets[0]).toContain('agent.getSandboxTemplate()');
    expect(tsc()).toBe('');
  });

  it('a wrong snippet fails (the check can fail)', () => {
    writeFileSync(join(project, 'broken.ts'), "import { createMicrosandboxNetworkSandboxSession } from 'ai-sdk-microsandbox';\nawait createMicrosandboxNetworkSandboxSession({ ports: ['4000'] });\nexport {};\n");
    try {
      expect(tsc()).toContain('broken.ts');
    } finally {
      rmSync(join(project, 'broken.ts'));
    }
  });
});
