// Which commit and branch a deploy is built from: flags, then the CI's variables, then git.
import { execFileSync } from 'node:child_process';

export interface BuildInfo {
  readonly commit?: string;
  readonly branch?: string;
}

/** The CI variables that name the commit and the branch, in the order they are read. */
const COMMIT_VARIABLES = ['GITHUB_SHA', 'CI_COMMIT_SHA', 'GIT_COMMIT', 'REVISION'] as const;
const BRANCH_VARIABLES = ['GITHUB_REF_NAME', 'CI_COMMIT_REF_NAME', 'GIT_BRANCH'] as const;

function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** Pure part: flags win, then CI variables (krane's `REVISION` among them); git only fills what is left. */
export function resolveBuildInfoFrom(
  flags: BuildInfo,
  env: NodeJS.ProcessEnv,
  git: () => BuildInfo,
): BuildInfo {
  let commit = flags.commit?.trim() || firstSet(env, COMMIT_VARIABLES);
  // Jenkins' GIT_BRANCH reads `origin/main`; people mean `main`.
  let branch = flags.branch?.trim() || firstSet(env, BRANCH_VARIABLES)?.replace(/^origin\//, '');
  if (!commit || !branch) {
    const fromGit = git();
    commit ||= fromGit.commit;
    branch ||= fromGit.branch;
  }
  return { ...(commit ? { commit } : {}), ...(branch ? { branch } : {}) };
}

/** `git` in the application folder; nothing when it is not a repository or git is missing. */
export function readGitBuildInfo(cwd: string): BuildInfo {
  const git = (args: string[]): string | undefined => {
    try {
      return (
        execFileSync('git', args, {
          cwd,
          encoding: 'utf8',
          timeout: 5000,
          stdio: ['ignore', 'pipe', 'ignore'],
        }).trim() || undefined
      );
    } catch {
      return undefined;
    }
  };
  const commit = git(['rev-parse', 'HEAD']);
  if (!commit) return {};
  const branch = git(['rev-parse', '--abbrev-ref', 'HEAD']);
  // A detached HEAD (usual in CI checkouts) has no branch name.
  return { commit, ...(branch && branch !== 'HEAD' ? { branch } : {}) };
}

export function resolveBuildInfo(options: {
  readonly flags?: BuildInfo;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}): BuildInfo {
  return resolveBuildInfoFrom(options.flags ?? {}, options.env, () => readGitBuildInfo(options.cwd));
}
