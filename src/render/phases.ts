import { readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { Issue } from '../shared/index.js';

export interface PhaseDir {
  readonly name: string;
  readonly order: number;
  readonly dir: string;
}

export type PhaseFileKind = 'yaml' | 'template' | 'helm' | 'helm-template' | 'module' | 'secrets';

export interface PhaseFile {
  readonly path: string;
  readonly kind: PhaseFileKind;
}

const PHASE_NAME = /^(\d{2})-[a-z0-9][a-z0-9._-]*$/i;

/** How a file of a phase is read; `undefined` for files that are not manifests (README.md, .gitkeep). */
export function phaseFileKind(name: string): PhaseFileKind | 'misnamed-template' | undefined {
  if (name.startsWith('.') || name.endsWith('.d.ts')) return undefined;
  if (/\.helm\.ya?ml$/.test(name)) return 'helm';
  if (/\.helm\.ya?ml\.ejs$/.test(name)) return 'helm-template';
  if (/\.ya?ml\.ejs$/.test(name)) return 'template';
  if (name.endsWith('.ejs')) return 'misnamed-template';
  if (/\.ya?ml$/.test(name)) return 'yaml';
  if (/\.(ts|mts|js|mjs)$/.test(name)) return 'module';
  if (name.endsWith('.ejson')) return 'secrets';
  return undefined;
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function readEntries(dir: string, issues: Issue[]): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort(byName);
  } catch (error) {
    issues.push({ file: dir, message: `cannot read the folder: ${(error as Error).message}` });
    return [];
  }
}

/** The `NN-name` folders of an environment in numeric order; near misses and strays become issues. */
export function listPhases(envDir: string, issues: Issue[]): PhaseDir[] {
  const phases: PhaseDir[] = [];
  for (const entry of readEntries(envDir, issues)) {
    const path = join(envDir, entry.name);
    if (entry.isDirectory()) {
      const match = PHASE_NAME.exec(entry.name);
      if (match) phases.push({ name: entry.name, order: Number(match[1]), dir: path });
      else if (/^\d/.test(entry.name)) {
        issues.push({
          file: path,
          message: 'phase folders are named NN-name (two digits, a dash, a name), e.g. 10-configuration',
        });
      }
    } else if (phaseFileKind(entry.name) !== undefined) {
      issues.push({
        file: path,
        message: 'not inside a phase folder (NN-name), so it would never be deployed',
      });
    }
  }
  const seen = new Map<number, PhaseDir>();
  for (const phase of phases) {
    const other = seen.get(phase.order);
    if (other)
      issues.push({ file: phase.dir, message: `phase number ${phase.order} is also used by ${other.name}` });
    else seen.set(phase.order, phase);
  }
  if (phases.length === 0 && issues.length === 0) {
    issues.push({
      file: envDir,
      message: 'no phase folders (NN-name, e.g. 10-configuration) in this environment',
    });
  }
  return phases.sort((a, b) => a.order - b.order);
}

/** The manifest files of one phase, in name order. */
export function listPhaseFiles(dir: string, issues: Issue[]): PhaseFile[] {
  const files: PhaseFile[] = [];
  for (const entry of readEntries(dir, issues)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.'))
        issues.push({ file: path, message: 'folders inside a phase are not read' });
      continue;
    }
    const kind = phaseFileKind(entry.name);
    if (kind === 'misnamed-template') {
      issues.push({ file: path, message: 'templates are named *.yaml.ejs (or *.yml.ejs)' });
    } else if (kind !== undefined) {
      files.push({ path, kind });
    }
  }
  return files;
}
