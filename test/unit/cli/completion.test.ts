// capstan completion: the scripts' content from the commander program, the hidden __complete, and
// the scripts loaded in a real bash and zsh (fish when installed) completing commands and environments.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  bashCompletionScript,
  completionNames,
  describeCommands,
  fishCompletionScript,
  zshCompletionScript,
} from '../../../src/cli/completion.js';
import { buildProgram, runCli, type CliIo } from '../../../src/cli/main.js';
import { Redactor } from '../../../src/secrets/index.js';

const CAPSTAN_YAML = `app: shop-api
environments:
  staging:
    namespace: shop-staging
  prod-eu-west:
    namespace: shop-prod
    clusters:
      eu-1: { context: prod-eu-1 }
      eu-2-backup: { context: prod-eu-2 }
`;

function io(cwd: string): CliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: {},
    cwd,
    signal: new AbortController().signal,
    out: () => out,
    err: () => err,
  };
}

function program() {
  return buildProgram(io(process.cwd()), { exitCode: 0, redactor: new Redactor() });
}

let app: string;
before(() => {
  app = mkdtempSync(join(tmpdir(), 'capstan-completion-'));
  mkdirSync(join(app, '.deploy'));
  writeFileSync(join(app, '.deploy', 'capstan.yaml'), CAPSTAN_YAML);
});
after(() => rmSync(app, { recursive: true, force: true }));

describe('completion scripts from the program', () => {
  it('describes every visible command with its options, leaving out the hidden __complete', () => {
    const commands = describeCommands(program());
    const top = commands.find((c) => c.path.length === 0)!;
    assert.ok(top.subcommands.includes('deploy'));
    assert.ok(top.subcommands.includes('init'));
    assert.ok(!top.subcommands.includes('__complete'));
    const deploy = commands.find((c) => c.path.join(' ') === 'deploy')!;
    assert.equal(deploy.envArgument, true);
    const image = deploy.options.find((o) => o.long === '--image')!;
    assert.deepEqual([image.short, image.takesValue], ['-i', true]);
    assert.equal(deploy.options.find((o) => o.long === '--dry-run')!.takesValue, false);
    // The program's options work after a command; --version does not.
    assert.ok(deploy.options.some((o) => o.long === '--kubeconfig'));
    assert.ok(!deploy.options.some((o) => o.long === '--version'));
    const keygen = commands.find((c) => c.path.join(' ') === 'secrets keygen')!;
    assert.equal(keygen.envArgument, false);
    assert.deepEqual(commands.find((c) => c.path.join(' ') === 'completion')!.choices, [
      'bash',
      'zsh',
      'fish',
    ]);
  });

  it('completes a command added to the program without edits to the generator', () => {
    const p = program();
    p.command('warm-up').argument('<env>').option('--replicas-per-zone <n>', 'how many');
    const script = bashCompletionScript(p);
    assert.match(script, /^ {4}'' \) echo '.*\bwarm-up\b.*' ;;$|^ {4}''\) echo '.*\bwarm-up\b.*' ;;$/m);
    assert.match(script, /^ {4}'warm-up'\) echo '--replicas-per-zone .*' ;;$/m);
    assert.match(script, /_capstan_env_argument\(\) \{\n {2}case "\$1" in\n {4}[^\n]*'warm-up'/);
  });

  it('bash: option lists per command, the values that follow options, the environments from __complete', () => {
    const script = bashCompletionScript(program());
    assert.match(script, /^ {4}'secrets'\) echo 'keygen encrypt decrypt edit rotate help' ;;$/m);
    assert.match(script, /^ {4}'deploy'\) echo '--image -i --set .*--dry-run.*' ;;$/m);
    assert.match(script, /^ {4}'audit'\) echo '--image -i --set --commit --branch --cluster --output -o/m);
    assert.match(script, /helper=\(capstan __complete\)/);
    assert.match(script, /"\$\{helper\[@\]\}" clusters "\$env"/);
    assert.match(script, /^complete -o default -F _capstan capstan$/m);
  });

  it('zsh: the bash function under bashcompinit', () => {
    const script = zshCompletionScript(program());
    assert.match(script, /^autoload -U \+X bashcompinit && bashcompinit$/m);
    assert.match(script, /^_capstan\(\) \{$/m);
    assert.match(script, /^complete -o default -F _capstan capstan$/m);
  });

  it('fish: commands, options with their values, environments and clusters from __complete', () => {
    const script = fishCompletionScript(program());
    assert.match(script, /^complete -c capstan -n '__fish_use_subcommand' -a deploy -d 'render, validate/m);
    assert.match(
      script,
      /^complete -c capstan -n '__fish_seen_subcommand_from deploy' -l image -s i -r -F -d /m,
    );
    assert.match(script, /^complete -c capstan -n '__fish_seen_subcommand_from secrets' -a keygen /m);
    assert.match(
      script,
      /^complete -c capstan -n '__fish_seen_subcommand_from audit' -l cluster -r -a '\(capstan __complete clusters \(__capstan_env\) 2>\/dev\/null\)'/m,
    );
    assert.match(
      script,
      /^complete -c capstan -n '__fish_seen_subcommand_from deploy; and test \(count \(commandline -opc\)\) -le 2' -a '\(capstan __complete envs 2>\/dev\/null\)'$/m,
    );
    // A description with a quote stays one shell word.
    assert.match(script, /'kube context \(default: the environment'\\''s, then the current one\)'/);
  });

  it('refuses an unknown shell with exit 2', async () => {
    const run = io(app);
    assert.equal(await runCli(['completion', 'ksh'], run), 2);
    assert.match(run.err(), /Allowed choices are bash, zsh, fish/);
  });
});

describe('capstan __complete', () => {
  it('prints the environments and the clusters of one, one per line', async () => {
    assert.deepEqual(await completionNames(app, 'envs'), ['staging', 'prod-eu-west']);
    assert.deepEqual(await completionNames(app, 'clusters', 'prod-eu-west'), ['eu-1', 'eu-2-backup']);
    assert.deepEqual(await completionNames(app, 'clusters', 'staging'), []);
    const run = io(app);
    assert.equal(await runCli(['--cwd', app, '__complete', 'clusters', 'prod-eu-west'], run), 0);
    assert.equal(run.out(), 'eu-1\neu-2-backup\n');
  });

  it('prints nothing and exits 0 on any error', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'capstan-completion-none-'));
    try {
      for (const args of [
        ['__complete', 'envs'],
        ['__complete', 'clusters', 'false'],
        ['__complete', 'nonsense', '5432', 'more', '--unknown-flag'],
        ['__complete'],
      ]) {
        const run = io(empty);
        assert.equal(await runCli(['--cwd', empty, ...args], run), 0, args.join(' '));
        assert.equal(run.out(), '');
        assert.equal(run.err(), '');
      }
      writeFileSync(join(empty, '.deploy'), 'not a folder');
      assert.deepEqual(await completionNames(empty, 'envs'), []);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

const has = (shell: string): boolean => spawnSync(shell, ['-c', 'exit 0']).status === 0;

describe('the scripts in real shells', () => {
  let bin: string;
  before(() => {
    // `capstan` on PATH for the scripts' __complete: this checkout's sources.
    bin = mkdtempSync(join(tmpdir(), 'capstan-completion-bin-'));
    const entry = fileURLToPath(new URL('../../../bin/capstan.js', import.meta.url));
    writeFileSync(join(bin, 'capstan'), `#!/bin/sh\nexec "${process.execPath}" "${entry}" "$@"\n`);
    chmodSync(join(bin, 'capstan'), 0o755);
    for (const shell of ['bash', 'zsh', 'fish'] as const) {
      const p = program();
      const script = { bash: bashCompletionScript, zsh: zshCompletionScript, fish: fishCompletionScript }[
        shell
      ](p);
      writeFileSync(join(bin, `capstan.${shell}`), script);
    }
  });
  after(() => rmSync(bin, { recursive: true, force: true }));

  function shell(name: string, code: string): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(name, ['-c', code], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, CAPSTAN_USE_SOURCE: '1', HOME: bin },
      timeout: 60_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Completes the words as bash would with the cursor after the last one. */
  const bashComplete = (words: string[]): string => `source ${join(bin, 'capstan.bash')}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_capstan; printf '%s\\n' "\${COMPREPLY[@]}"`;

  it('bash: loads, registers the function, completes commands, environments, options and clusters', () => {
    const loaded = shell('bash', `source ${join(bin, 'capstan.bash')} && complete -p capstan`);
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.equal(loaded.stdout.trim(), 'complete -o default -F _capstan capstan');
    assert.equal(shell('bash', bashComplete(['capstan', 'de'])).stdout, 'deploy\n');
    assert.equal(shell('bash', bashComplete(['capstan', 'deploy', ''])).stdout, 'staging\nprod-eu-west\n');
    assert.equal(
      shell('bash', bashComplete(['capstan', 'deploy', 'prod-eu-west', '--dry'])).stdout,
      '--dry-run\n',
    );
    assert.equal(shell('bash', bashComplete(['capstan', 'secrets', 'k'])).stdout, 'keygen\n');
    // The value of an option is not a command: `--context deploy` leaves the command to come.
    assert.equal(shell('bash', bashComplete(['capstan', '--context', 'deploy', 'ro'])).stdout, 'rollback\n');
    assert.equal(
      shell('bash', bashComplete(['capstan', 'audit', 'prod-eu-west', '--cluster', 'eu'])).stdout,
      'eu-1\neu-2-backup\n',
    );
    // Without capstan.yaml: nothing, and no error in the middle of the command line.
    const elsewhere = shell('bash', `cd / && ${bashComplete(['capstan', 'deploy', ''])}`);
    assert.equal(elsewhere.status, 0);
    assert.equal(elsewhere.stdout.trim(), '');
    assert.equal(elsewhere.stderr, '');
  });

  it(
    'zsh: loads after compinit and completes environments through bashcompinit',
    {
      skip: has('zsh') ? false : 'zsh is not installed (.ci/run installs it with apt-get)',
    },
    () => {
      const init = `autoload -U compinit; compinit -u -d ${join(bin, 'zcompdump')}; source <(capstan completion zsh)`;
      const loaded = shell('zsh', `${init} && print -r -- $_comps[capstan]`);
      assert.equal(loaded.status, 0, loaded.stderr);
      assert.equal(loaded.stdout.trim(), '_bash_complete -o default -F _capstan');
      // zsh filters by the typed prefix itself; the function gives the candidates.
      const envs = shell(
        'zsh',
        `${init}; COMP_WORDS=(capstan deploy ''); COMP_CWORD=2; _capstan; print -l -- $COMPREPLY`,
      );
      assert.equal(envs.stdout, 'staging\nprod-eu-west\n', envs.stderr);
    },
  );

  it(
    'fish: loads and completes commands and environments',
    {
      skip: has('fish') ? false : 'fish is not installed',
    },
    () => {
      const source = `source ${join(bin, 'capstan.fish')}`;
      assert.match(shell('fish', `${source}; complete -C 'capstan de'`).stdout, /^deploy\t/m);
      assert.match(shell('fish', `${source}; complete -C 'capstan deploy '`).stdout, /^prod-eu-west$/m);
      assert.match(shell('fish', `${source}; complete -C 'capstan completion z'`).stdout, /^zsh$/m);
      assert.match(
        shell('fish', `${source}; complete -C 'capstan audit prod-eu-west --cluster '`).stdout,
        /^eu-2-backup(\t|$)/m,
      );
    },
  );
});
