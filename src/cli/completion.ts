// `capstan completion bash|zsh|fish`: completion scripts generated from the commander program
// itself, so a new command or option completes without edits here; environment and cluster names
// come at completion time from the hidden `capstan __complete`, which reads .deploy/capstan.yaml.
import { Argument, type Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { CapstanError } from '../shared/index.js';
import type { CliIo, GlobalOptions } from './options.js';

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** The hidden command the scripts call back into for names read from capstan.yaml. */
export const COMPLETE_COMMAND = '__complete';

export interface CompletionOption {
  readonly long?: string;
  readonly short?: string;
  /** Takes a value (`--image <ref>`), so the next word is that value, not a command. */
  readonly takesValue: boolean;
  readonly description: string;
}

/** One command of the tree: `path` is empty for the program, `['secrets', 'keygen']` for a subcommand. */
export interface CompletionCommand {
  readonly path: readonly string[];
  readonly description: string;
  readonly subcommands: readonly string[];
  /** Its own options and the program's (commander accepts those anywhere). */
  readonly options: readonly CompletionOption[];
  /** Its first argument is an environment of capstan.yaml. */
  readonly envArgument: boolean;
  /** The values its first argument may take, when commander lists them (`completion <shell>`). */
  readonly choices: readonly string[];
}

function optionsOf(cmd: Command): CompletionOption[] {
  return cmd
    .createHelp()
    .visibleOptions(cmd)
    .map((o) => ({
      ...(o.long ? { long: o.long } : {}),
      ...(o.short ? { short: o.short } : {}),
      takesValue: o.required || o.optional,
      description: o.description,
    }));
}

/** Walks the program's visible commands (hidden ones, such as `__complete`, left out). */
export function describeCommands(program: Command): CompletionCommand[] {
  // --version is the program's alone; the other program options work after any command.
  const globals = program.options
    .filter((o) => o.long !== '--version')
    .map((o) => ({
      ...(o.long ? { long: o.long } : {}),
      ...(o.short ? { short: o.short } : {}),
      takesValue: o.required || o.optional,
      description: o.description,
    }));
  const out: CompletionCommand[] = [];
  const walk = (cmd: Command, path: string[]): void => {
    const visible = cmd.createHelp().visibleCommands(cmd);
    const own = optionsOf(cmd);
    const seen = new Set(own.map((o) => o.long ?? o.short));
    out.push({
      path,
      description: cmd.description(),
      subcommands: visible.map((c) => c.name()),
      options: [...own, ...(path.length === 0 ? [] : globals.filter((o) => !seen.has(o.long ?? o.short)))],
      envArgument: cmd.registeredArguments[0]?.name() === 'env',
      choices: cmd.registeredArguments[0]?.argChoices ?? [],
    });
    for (const sub of visible) if (sub.name() !== 'help') walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return out;
}

const flagsOf = (options: readonly CompletionOption[], valued?: boolean): string =>
  options
    .filter((o) => valued === undefined || o.takesValue === valued)
    .flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined))
    .join(' ');

/** A shell word in single quotes (the flags and names here hold none, but descriptions may). */
const quote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

function bashCases(commands: readonly CompletionCommand[], value: (c: CompletionCommand) => string): string {
  return commands.map((c) => `    ${quote(c.path.join(' '))}) echo ${quote(value(c))} ;;`).join('\n');
}

/** The bash function; zsh runs it too, through bashcompinit. */
export function bashCompletionScript(program: Command): string {
  const commands = describeCommands(program);
  const name = program.name();
  const fn = `_${name.replaceAll(/[^A-Za-z0-9_]/g, '_')}`;
  const envCommands = commands.filter((c) => c.envArgument).map((c) => quote(c.path.join(' ')));
  return `# ${name} completion for bash. Load it with: source <(${name} completion bash)
${fn}_choices() {
  case "$1" in
${bashCases(commands, (c) => c.choices.join(' '))}
  esac
}
${fn}_subcommands() {
  case "$1" in
${bashCases(commands, (c) => c.subcommands.join(' '))}
  esac
}
${fn}_options() {
  case "$1" in
${bashCases(commands, (c) => flagsOf(c.options))}
  esac
}
${fn}_valued() {
  case "$1" in
${bashCases(commands, (c) => flagsOf(c.options, true))}
  esac
}
${fn}_env_argument() {
  case "$1" in
    ${envCommands.length > 0 ? envCommands.join('|') : "''"}) return 0 ;;
  esac
  return 1
}
${fn}() {
  # zsh runs this through bashcompinit: arrays from 0 and word splitting, as in bash.
  [[ -n "\${ZSH_VERSION-}" ]] && emulate -L sh
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local command_path="" env="" cwd="" word i positional=0 value=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if ((value)); then
      value=0
      case "\${COMP_WORDS[i-1]}" in -C | --cwd) cwd="$word" ;; esac
      continue
    fi
    case "$word" in
      --*=*) continue ;;
      -*)
        [[ " $(${fn}_valued "$command_path") " == *" $word "* ]] && value=1
        continue
        ;;
    esac
    if ((positional == 0)) && [[ " $(${fn}_subcommands "$command_path") " == *" $word "* ]]; then
      command_path="\${command_path:+$command_path }$word"
    else
      positional=$((positional + 1))
      ((positional == 1)) && ${fn}_env_argument "$command_path" && env="$word"
    fi
  done
  local -a helper=(${name} ${COMPLETE_COMMAND})
  [[ -n "$cwd" ]] && helper+=(--cwd "$cwd")
  if ((value)); then
    if [[ "$prev" == --cluster && -n "$env" ]]; then
      COMPREPLY=($(compgen -W "$("\${helper[@]}" clusters "$env" 2>/dev/null)" -- "$cur"))
    else
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(${fn}_options "$command_path")" -- "$cur"))
    return 0
  fi
  local subcommands
  subcommands="$(${fn}_subcommands "$command_path")"
  if ((positional == 0)) && [[ -n "$subcommands" ]]; then
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
  elif ((positional == 0)) && [[ -n "$(${fn}_choices "$command_path")" ]]; then
    COMPREPLY=($(compgen -W "$(${fn}_choices "$command_path")" -- "$cur"))
  elif ((positional == 0)) && ${fn}_env_argument "$command_path"; then
    COMPREPLY=($(compgen -W "$("\${helper[@]}" envs 2>/dev/null)" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -o default -F ${fn} ${name}
`;
}

/** zsh: the bash function under zsh's bash-completion emulation. */
export function zshCompletionScript(program: Command): string {
  const name = program.name();
  return `# ${name} completion for zsh. Load it with: source <(${name} completion zsh)
# (after compinit; it uses zsh's bash-completion emulation, bashcompinit).
autoload -U +X bashcompinit && bashcompinit
${bashCompletionScript(program).split('\n').slice(1).join('\n')}`;
}

/** fish: one `complete` line per command and option. */
export function fishCompletionScript(program: Command): string {
  const commands = describeCommands(program);
  const name = program.name();
  const top = commands.find((c) => c.path.length === 0)!;
  const fn = `__${name.replaceAll(/[^A-Za-z0-9_]/g, '_')}`;
  const lines = [
    `# ${name} completion for fish. Load it with: ${name} completion fish | source`,
    `function ${fn}_env --description 'the environment on the command line'`,
    `    set -l words (commandline -opc)`,
    `    set -e words[1]`,
    `    set -l skip 0`,
    `    set -l seen_command 0`,
    `    for word in $words`,
    `        if test $skip = 1; set skip 0; continue; end`,
    `        switch $word`,
    `            case '--*=*'`,
    `                continue`,
    `            case ${flagsOf(top.options, true) || "''"}`,
    `                set skip 1; continue`,
    `            case '-*'`,
    `                continue`,
    `        end`,
    `        if test $seen_command = 1; echo $word; return; end`,
    `        set seen_command 1`,
    `    end`,
    `end`,
    `complete -c ${name} -f`,
  ];
  for (const c of commands) {
    const condition =
      c.path.length === 0
        ? '__fish_use_subcommand'
        : c.path.length === 1
          ? `__fish_seen_subcommand_from ${c.path[0]}`
          : `__fish_seen_subcommand_from ${c.path.at(-1)}`;
    if (c.path.length > 0) {
      const parent =
        c.path.length === 1 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${c.path[0]}`;
      lines.push(`complete -c ${name} -n ${quote(parent)} -a ${c.path.at(-1)} -d ${quote(c.description)}`);
    }
    for (const o of c.options) {
      const flags = [o.long ? `-l ${o.long.slice(2)}` : '', o.short ? `-s ${o.short.slice(1)}` : '']
        .filter((f) => f !== '')
        .join(' ');
      const values =
        o.long === '--cluster'
          ? ` -a ${quote(`(${name} ${COMPLETE_COMMAND} clusters (${fn}_env) 2>/dev/null)`)}`
          : o.takesValue
            ? ' -F'
            : '';
      lines.push(
        `complete -c ${name} -n ${quote(condition)} ${flags}${o.takesValue ? ' -r' : ''}${values} -d ${quote(o.description)}`,
      );
    }
    if (c.choices.length > 0)
      lines.push(
        `complete -c ${name} -n ${quote(`${condition}; and test (count (commandline -opc)) -le ${c.path.length + 1}`)} -a ${quote(c.choices.join(' '))}`,
      );
    if (c.envArgument)
      lines.push(
        `complete -c ${name} -n ${quote(`${condition}; and test (count (commandline -opc)) -le ${c.path.length + 1}`)} -a ${quote(`(${name} ${COMPLETE_COMMAND} envs 2>/dev/null)`)}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(program: Command, shell: string): string {
  switch (shell) {
    case 'bash':
      return bashCompletionScript(program);
    case 'zsh':
      return zshCompletionScript(program);
    case 'fish':
      return fishCompletionScript(program);
    default:
      throw new CapstanError('ERR_CAPSTAN_USAGE', `no completion for the shell "${shell}"`, {
        hint: `use one of ${COMPLETION_SHELLS.join(', ')}`,
      });
  }
}

/** Names for the scripts, one per line: the environments, or the clusters of one. Never throws. */
export async function completionNames(cwd: string, what: string, env?: string): Promise<string[]> {
  try {
    const { config } = await loadConfig({ cwd });
    if (what === 'envs') return Object.keys(config.environments);
    if (what === 'clusters' && env !== undefined && Object.hasOwn(config.environments, env))
      return Object.keys(config.environments[env].clusters ?? {});
  } catch {
    // Completion prints nothing rather than an error in the middle of the command line.
  }
  return [];
}

export function registerCompletionCommands(program: Command, io: CliIo): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, options, environment and cluster names)')
    .addArgument(new Argument('<shell>', 'the shell').choices(COMPLETION_SHELLS))
    .addHelpText(
      'after',
      '\nbash: source <(capstan completion bash)   zsh: source <(capstan completion zsh)   fish: capstan completion fish | source',
    )
    .action((shell: string) => {
      io.stdout.write(completionScript(program, shell));
    });
  program
    .command(COMPLETE_COMMAND, { hidden: true })
    .argument('[what]')
    .argument('[env]')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (what: string | undefined, env: string | undefined, _opts: unknown, cmd: Command) => {
      const { cwd } = cmd.optsWithGlobals<GlobalOptions>();
      const names = what === undefined ? [] : await completionNames(cwd, what, env);
      for (const name of names) io.stdout.write(`${name}\n`);
    });
}
