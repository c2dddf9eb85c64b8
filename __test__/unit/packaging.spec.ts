// The npm packaging: platform packages in step with the root, and a coded error
// (not napi's "Cannot find native binding") when no addon loads for the host.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTriple } from '@napi-rs/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { TARGET_PLATFORMS } from '../../lib/platform.js';
import { drift, platformPackages, releaseOptionalDependencies, ROOT } from '../../scripts/platform-packages.mjs';

const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'ai-sdk-microsandbox-packaging-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('platform packages', () => {
  it('npm/* match package.json napi.targets, version, shared fields, LICENSE and notices', () => {
    expect(drift()).toEqual([]);
  });

  it('a version bump without `npm version` (which syncs npm/*) is reported as drift', () => {
    const copy = join(scratch, 'drift');
    for (const entry of ['package.json', 'LICENSE', 'THIRD_PARTY_NOTICES.md', 'npm', 'binding.cjs']) {
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    }
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ ...rootPkg, version: '9.9.9' }));
    const problems = drift(copy);
    expect(problems).toHaveLength(rootPkg.napi.targets.length + 1);
    expect(problems[0]).toMatch(/version is "0\.1\.0", expected "9\.9\.9"/);
    expect(problems.at(-1)).toMatch(/binding\.cjs was generated for another version than 9\.9\.9/);
  });

  it('the published root depends on every platform package at its own version, and keeps the runtime', () => {
    const deps = releaseOptionalDependencies();
    for (const { name } of platformPackages()) expect(deps[name]).toBe(rootPkg.version);
    expect(deps['@superradcompany/microsandbox-linux-x64-gnu']).toBe(
      rootPkg.optionalDependencies['@superradcompany/microsandbox-linux-x64-gnu'],
    );
  });

  it('`napi prepublish` (the release) writes the same optionalDependencies as the packaging test', () => {
    const copy = join(scratch, 'prepublish');
    for (const entry of rootPkg.files.concat('package.json', 'README.md', 'LICENSE', 'npm')) {
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    }
    // It checks that every platform package holds its addon; any bytes do for the manifest.
    for (const { platform } of platformPackages()) {
      writeFileSync(join(copy, 'npm', platform, `${rootPkg.napi.binaryName}.${platform}.node`), '');
    }
    execFileSync(join(ROOT, 'node_modules', '.bin', 'napi'), ['prepublish', '-t', 'npm', '--no-gh-release', '--skip-optional-publish'], {
      cwd: copy,
      stdio: 'pipe',
    });
    const published = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8'));
    expect(published.optionalDependencies).toEqual(releaseOptionalDependencies());
  });

  it("the loader's platform table covers exactly napi.targets, named as napi names them", () => {
    const expected = Object.fromEntries(rootPkg.napi.targets.map((t: string) => [t, parseTriple(t).platformArchABI]));
    expect(TARGET_PLATFORMS).toEqual(expected);
  });
});

// A copy of the package without any .node file, importing its entry in a child process.
// Node flags: under `bun test`, the child is still node.
const nodeBin = process.versions.bun ? 'node' : process.execPath;

function importWithoutAddon(nodeArgs: string[] = []) {
  const copy = join(scratch, 'no-addon');
  for (const entry of ['package.json', 'index.js', 'binding.cjs', 'lib']) {
    cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  }
  rmSync(join(copy, 'node_modules'), { force: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const script = `import(${JSON.stringify(join(copy, 'index.js'))}).then(
    () => console.log('{}'),
    (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, cause: e.cause?.message })),
  )`;
  const env = { ...process.env };
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH;
  const out = execFileSync(nodeBin, [...nodeArgs, '--input-type=module', '-e', script], { env, encoding: 'utf8' });
  return JSON.parse(out);
}

describe('import on a host without a loadable addon', () => {
  it.skipIf(process.platform !== 'linux' || process.arch !== 'x64')(
    'a supported platform without its package: ERR_MICROSANDBOX_BINDING_MISSING naming the package and the fix',
    () => {
      const err = importWithoutAddon();
      expect(err.name).toBe('AI_HarnessError');
      expect(err.code).toBe('ERR_MICROSANDBOX_BINDING_MISSING');
      expect(err.message).toContain('linux-x64-gnu');
      expect(err.message).toContain(`ai-sdk-microsandbox-linux-x64-gnu@${rootPkg.version} is not installed`);
      expect(err.message).toMatch(/--omit=optional/);
      expect(err.message).not.toMatch(/Cannot find native binding/);
      expect(err.cause).toMatch(/Cannot find native binding/);
    },
  );

  it('an unsupported platform: ERR_MICROSANDBOX_UNSUPPORTED_PLATFORM naming it and the supported ones', () => {
    const pretendWindows = `data:text/javascript,Object.defineProperty(process, 'platform', { value: 'win32' })`;
    const err = importWithoutAddon(['--import', pretendWindows]);
    expect(err.code).toBe('ERR_MICROSANDBOX_UNSUPPORTED_PLATFORM');
    expect(err.message).toContain(`win32-${process.arch}`);
    expect(err.message).toContain('linux-x64-gnu, linux-arm64-gnu, darwin-arm64');
  });
});
