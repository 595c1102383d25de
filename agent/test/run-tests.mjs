#!/usr/bin/env node
// Runs every compiled test file under agent/dist/test with node's test runner.
// The files are listed explicitly: Node 20 `--test` takes directories, Node 21+ globs; a list works on both.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../..', import.meta.url).pathname;
const distTest = join(root, 'agent/dist/test');

function collect(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return collect(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

// TAPFLOW_TEST_FILTER=substring narrows the run while developing.
const filter = process.env.TAPFLOW_TEST_FILTER ?? '';
const files = collect(distTest)
  .filter((file) => file.includes(filter))
  .sort()
  .map((file) => relative(root, file));

if (files.length === 0) {
  console.error('no test files found under agent/dist/test (did the build run?)');
  process.exit(1);
}

// Integration tests share fixed resources (namespaces, collectors): run files one at a time.
const result = spawnSync(
  process.execPath,
  ['--expose-gc', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
