#!/usr/bin/env node
// Keeps the per-platform packages in npm/<platform>/ in step with the root package.json.
//
//   node scripts/platform-packages.mjs sync            write version and shared fields into npm/*, copy LICENSE and notices
//   node scripts/platform-packages.mjs check           list drift (exit 1 when any); the unit tests run the same
//   node scripts/platform-packages.mjs stamp <dir>     add the platform optionalDependencies to <dir>/package.json
//
// The committed root package.json does not list the platform packages: `npm ci` refuses a lockfile
// that cannot resolve them, and a version is only on the registry once released. They are written
// into the published manifest instead: by `napi prepublish` (prepublishOnly) on release, and by
// `stamp` in scripts/pack-test.sh, which installs the packed packages the way users get them.
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTriple } from '@napi-rs/cli';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Fields create-npm-dirs copies from the root that must not drift after it ran once. */
const SHARED_FIELDS = ['version', 'license', 'engines', 'repository', 'homepage', 'bugs', 'publishConfig'];
/** Copied from the root into every platform package: the addon links third-party code. */
const SHARED_FILES = ['LICENSE', 'THIRD_PARTY_NOTICES.md'];

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const writeJson = (path, value) => writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);

/** One entry per `napi.targets` triple: its npm/ dir, package name and the manifest fields napi expects. */
export function platformPackages(root = ROOT) {
  const pkg = readJson(join(root, 'package.json'));
  const { binaryName, packageName = pkg.name, targets } = pkg.napi;
  return targets.map((triple) => {
    const target = parseTriple(triple);
    const binary = `${binaryName}.${target.platformArchABI}.node`;
    return {
      triple,
      platform: target.platformArchABI,
      dir: join(root, 'npm', target.platformArchABI),
      name: `${packageName}-${target.platformArchABI}`,
      expected: {
        os: [target.platform],
        cpu: [target.arch],
        ...(target.abi === 'gnu' ? { libc: ['glibc'] } : target.abi === 'musl' ? { libc: ['musl'] } : {}),
        main: binary,
        // npm adds LICENSE by itself, not the notices.
        files: [binary, 'THIRD_PARTY_NOTICES.md'],
      },
    };
  });
}

/** The root's optionalDependencies as published: every platform package at the root's version. */
export function releaseOptionalDependencies(root = ROOT) {
  const pkg = readJson(join(root, 'package.json'));
  const deps = { ...pkg.optionalDependencies };
  for (const { name } of platformPackages(root)) deps[name] = pkg.version;
  return deps;
}

/** Human-readable differences between npm/* and the root; empty when in step. */
export function drift(root = ROOT) {
  const pkg = readJson(join(root, 'package.json'));
  const problems = [];
  const packages = platformPackages(root);
  const dirs = new Set(packages.map((p) => p.platform));
  for (const dir of readdirSync(join(root, 'npm')).filter((d) => !d.startsWith('.'))) {
    if (!dirs.has(dir)) problems.push(`npm/${dir} is not in package.json napi.targets`);
  }
  for (const { platform, dir, name, expected } of packages) {
    const where = `npm/${platform}`;
    if (!existsSync(join(dir, 'package.json'))) {
      problems.push(`${where}/package.json is missing (napi create-npm-dirs makes it)`);
      continue;
    }
    const sub = readJson(join(dir, 'package.json'));
    if (sub.name !== name) problems.push(`${where}: name ${sub.name}, expected ${name}`);
    for (const [field, value] of Object.entries({ ...pick(pkg, SHARED_FIELDS), ...expected })) {
      if (JSON.stringify(sub[field]) !== JSON.stringify(value)) {
        problems.push(`${where}: ${field} is ${JSON.stringify(sub[field])}, expected ${JSON.stringify(value)}`);
      }
    }
    for (const file of SHARED_FILES) {
      const copy = join(dir, file);
      if (!existsSync(copy) || readFileSync(copy, 'utf8') !== readFileSync(join(root, file), 'utf8')) {
        problems.push(`${where}/${file} differs from the root ${file}`);
      }
    }
  }
  // The generated loader compares the platform package's version with the one it was built for.
  if (!readFileSync(join(root, 'binding.cjs'), 'utf8').includes(`bindingPackageVersion !== '${pkg.version}'`)) {
    problems.push(`binding.cjs was generated for another version than ${pkg.version}: rebuild (bash scripts/setup.sh)`);
  }
  return problems;
}

export function sync(root = ROOT) {
  const pkg = readJson(join(root, 'package.json'));
  for (const { dir, name, expected } of platformPackages(root)) {
    const path = join(dir, 'package.json');
    const sub = readJson(path);
    writeJson(path, { ...sub, name, ...pick(pkg, SHARED_FIELDS), files: expected.files });
    for (const file of SHARED_FILES) copyFileSync(join(root, file), join(dir, file));
  }
}

export function stamp(dir, root = ROOT) {
  const path = join(dir, 'package.json');
  writeJson(path, { ...readJson(path), optionalDependencies: releaseOptionalDependencies(root) });
}

function pick(obj, fields) {
  return Object.fromEntries(fields.filter((f) => obj[f] !== undefined).map((f) => [f, obj[f]]));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, arg] = process.argv.slice(2);
  if (command === 'sync') {
    sync();
  } else if (command === 'check') {
    const problems = drift();
    for (const p of problems) console.error(p);
    process.exit(problems.length ? 1 : 0);
  } else if (command === 'stamp' && arg) {
    stamp(arg);
  } else {
    console.error('usage: platform-packages.mjs sync | check | stamp <package dir>');
    process.exit(2);
  }
}
