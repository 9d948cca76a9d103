import type { Command } from 'commander';
import type { CliIo, CommandResult } from './main.js';

export function registerTasksCommands(_program: Command, _io: CliIo, _result: CommandResult): void {}
