// Runs once before all test files: makes every fixture up front, two at a time (two cores), so
// the test files, which run in parallel, never race to make the same ones.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES, FIXTURE_DIR, fixtureCommand, type FixtureName } from './fixtures';

const run = promisify(execFile);

export default async function setup(): Promise<void> {
  await run('ffmpeg', ['-version']).catch(() => {
    throw new Error('The ffmpeg CLI is missing: run `npm test`, which installs it');
  });
  fs.mkdirSync(FIXTURE_DIR, { recursive: true });
  const missing = (Object.keys(FIXTURES) as FixtureName[]).filter((name) => !fs.existsSync(path.join(FIXTURE_DIR, name)));
  for (let i = 0; i < missing.length; i += 2) {
    await Promise.all(missing.slice(i, i + 2).map(async (name) => {
      const { args, partial } = fixtureCommand(name);
      await run('ffmpeg', args);
      fs.renameSync(partial, path.join(FIXTURE_DIR, name));
    }));
  }
}
