// How the deploy benchmark runs the capstan command: the compiled CLI by default, as users get it.
// The checkout's dist/ is used when it is newer than src/; otherwise the bench compiles src/ into a
// private folder of its own, so that it never swaps what `bin/capstan.js` runs for others working
// in the same checkout. CAPSTAN_USE_SOURCE=1 runs the TypeScript sources through tsx instead.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CapstanCli {
  /** `node <this> ARGS` runs capstan. */
  readonly script: string;
  readonly env: NodeJS.ProcessEnv;
  /** Which code runs, for the report. */
  readonly description: string;
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** The commit and the number of uncommitted changes under src/: others edit the same checkout. */
export function sourceRevision(root: string): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', root, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ` + ${dirty} uncommitted changes in src/` : ''}`;
  } catch {
    return 'unknown commit';
  }
}

export function prepareCapstanCli(root: string, log: (line: string) => void): CapstanCli {
  if (process.env.CAPSTAN_USE_SOURCE) {
    return {
      script: join(root, 'bin', 'capstan.js'),
      env: process.env,
      description: 'TypeScript sources through tsx (CAPSTAN_USE_SOURCE=1)',
    };
  }
  const env = { ...process.env };
  delete env.CAPSTAN_USE_SOURCE;
  const sourcesChanged = Math.max(
    newestMtime(join(root, 'src')),
    newestMtime(join(root, 'tsconfig.json')),
    newestMtime(join(root, 'tsconfig.build.json')),
  );
  const dist = join(root, 'dist', 'bundle', 'capstan.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= sourcesChanged) {
    return {
      script: join(root, 'bin', 'capstan.js'),
      env,
      description: `compiled and bundled CLI from ${join(root, 'dist')} (npm run build)`,
    };
  }

  // The private build mirrors the package layout that bin/capstan.js and src/ expect:
  // bin/, dist/, schema/, package.json and node_modules/ side by side.
  const build = process.env.CAPSTAN_BENCH_BUILD_DIR ?? join(tmpdir(), 'capstan-bench-build');
  const stamp = join(build, 'dist', 'cli', 'run.js');
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < sourcesChanged) {
    log(`compiling src/ into ${build} (dist/ is ${existsSync(dist) ? 'older than src/' : 'missing'})`);
    rmSync(join(build, 'dist'), { recursive: true, force: true });
    mkdirSync(join(build, 'bin'), { recursive: true });
    try {
      execFileSync(
        join(root, 'node_modules', '.bin', 'tsc'),
        ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(build, 'dist'), '--declaration', 'false'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          encoding: 'utf8',
        },
      );
    } catch (error) {
      // tsc still emits JavaScript on type errors; someone's unfinished edit should not stop the bench.
      const out = (error as { stdout?: string }).stdout ?? '';
      if (!existsSync(stamp))
        throw new Error(`compiling src/ failed:\n${out.slice(0, 3000)}`, { cause: error });
      log(
        `note: src/ has type errors; the emitted JavaScript is benchmarked anyway:\n${out.split('\n').slice(0, 5).join('\n')}`,
      );
    }
    copyFileSync(join(root, 'bin', 'capstan.js'), join(build, 'bin', 'capstan.js'));
    copyFileSync(join(root, 'package.json'), join(build, 'package.json'));
    // Pointed at this checkout each time: the folder may have been made from another worktree.
    for (const link of ['schema', 'node_modules']) {
      rmSync(join(build, link), { force: true });
      symlinkSync(join(root, link), join(build, link));
    }
    // The rest of `npm run build`: the prebuilt schema validator, then the bundle bin/capstan.js runs.
    execFileSync(process.execPath, [
      join(root, 'scripts', 'build-schema-validator.mjs'),
      join(build, 'dist'),
    ]);
    execFileSync(process.execPath, [
      join(root, 'scripts', 'bundle.mjs'),
      join(build, 'dist', 'cli', 'run.js'),
      join(build, 'dist', 'bundle'),
    ]);
  }
  return {
    script: join(build, 'bin', 'capstan.js'),
    env,
    description: `compiled and bundled CLI (tsc and scripts/bundle.mjs of src/ into ${join(build, 'dist')}, run through its bin/capstan.js)`,
  };
}

/**
 * The floor compiled and bundled as Capstan is (tsc, then scripts/bundle.mjs; no tsx at run time): bench/floor-apply.ts
 * and the src/ modules it imports, into a private folder; recompiled when bench/ or src/ changed.
 * Returns the script to run with node.
 */
export function prepareFloorScript(root: string, log: (line: string) => void): string {
  const build = `${process.env.CAPSTAN_BENCH_BUILD_DIR ?? join(tmpdir(), 'capstan-bench-build')}-floor`;
  const script = join(build, 'bench', 'floor-apply.js');
  const bundled = join(build, 'bundle', 'floor-apply.js');
  const changed = Math.max(newestMtime(join(root, 'src')), newestMtime(join(root, 'bench')));
  if (existsSync(bundled) && statSync(bundled).mtimeMs >= changed) return bundled;
  log(`compiling bench/floor-apply.ts into ${build}`);
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });
  const tsconfig = join(build, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { rootDir: root, outDir: build, declaration: false, sourceMap: false },
      files: [join(root, 'bench', 'floor-apply.ts')],
      include: [],
    }),
  );
  try {
    execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', tsconfig], {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (error) {
    if (!existsSync(script))
      throw new Error(
        `compiling the floor failed:\n${((error as { stdout?: string }).stdout ?? '').slice(0, 3000)}`,
        {
          cause: error,
        },
      );
  }
  copyFileSync(join(root, 'package.json'), join(build, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(build, 'node_modules'));
  // Bundled as bin/capstan.js runs Capstan's own bundle (scripts/bundle.mjs).
  execFileSync(process.execPath, [join(root, 'scripts', 'bundle.mjs'), script, join(build, 'bundle')]);
  return join(build, 'bundle', 'floor-apply.js');
}
