import { readdirSync, type Dirent } from 'node:fs';
import { basename, join } from 'node:path';
import type { Issue } from '../shared/index.js';

export interface PhaseDir {
  readonly name: string;
  readonly order: number;
  readonly dir: string;
}

export type PhaseFileKind =
  'yaml' | 'template' | 'helm' | 'helm-template' | 'module' | 'secrets' | 'kustomization';

export interface PhaseFile {
  /** For a kustomization, the kustomization file; the folder holding it is what is built. */
  readonly path: string;
  readonly kind: PhaseFileKind;
}

/** The names kustomize accepts for a kustomization file, in the order it looks for them. */
export const KUSTOMIZATION_FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;

/** The kustomization file among a folder's file names; several is an error to kustomize too. */
export function kustomizationFileIn(names: readonly string[]): { name?: string; several?: string[] } {
  const found = KUSTOMIZATION_FILE_NAMES.filter((n) => names.includes(n));
  if (found.length > 1) return { several: found };
  return found.length === 1 ? { name: found[0] } : {};
}

const PHASE_NAME = /^(\d{2})-[a-z0-9][a-z0-9._-]*$/i;

/** How a file of a phase is read; `undefined` for files that are not manifests (README.md, .gitkeep). */
export function phaseFileKind(name: string): PhaseFileKind | 'misnamed-template' | undefined {
  if (name.startsWith('.') || name.endsWith('.d.ts')) return undefined;
  if (/\.helm\.ya?ml$/.test(name)) return 'helm';
  if (/\.helm\.ya?ml\.ejs$/.test(name)) return 'helm-template';
  if (/\.ya?ml\.ejs$/.test(name)) return 'template';
  // Before plain YAML: a SOPS file's values are encrypted, it is decrypted like an ejson file.
  if (/\.sops\.(ya?ml|json)$/.test(name)) return 'secrets';
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

/**
 * The manifest files of one phase, in name order. A phase folder holding a kustomization is that
 * kustomization and nothing else; a subfolder holding one is built too (other subfolders are not
 * read). The files under a kustomization folder are kustomize's to read, never read as plain YAML.
 */
export function listPhaseFiles(dir: string, issues: Issue[]): PhaseFile[] {
  const entries = readEntries(dir, issues);
  const own = kustomizationOf(dir, entries, issues);
  if (own === false) return [];
  if (own) {
    for (const entry of entries) {
      const kind = entry.isFile() ? phaseFileKind(entry.name) : undefined;
      // Plain YAML is the kustomization's own input (resources, patches); anything else would be lost.
      if (kind !== undefined && kind !== 'yaml')
        issues.push({
          file: join(dir, entry.name),
          message: `not read: this phase folder is built by kustomize (${basename(own.path)}); move the file to a phase of its own`,
        });
    }
    return [own];
  }
  const files: PhaseFile[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith('.')) continue;
      const nested = kustomizationOf(path, readEntries(path, issues), issues);
      if (nested) files.push(nested);
      else if (nested === undefined)
        issues.push({
          file: path,
          message: 'folders inside a phase are not read, unless they hold a kustomization.yaml',
        });
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

/** The folder's kustomization; false when it holds several (reported), undefined when none. */
function kustomizationOf(
  dir: string,
  entries: readonly Dirent[],
  issues: Issue[],
): PhaseFile | false | undefined {
  const found = kustomizationFileIn(entries.filter((e) => !e.isDirectory()).map((e) => e.name));
  if (found.several) {
    issues.push({
      file: dir,
      message: `holds ${found.several.join(' and ')}: kustomize reads only one, keep one of them`,
    });
    return false;
  }
  return found.name === undefined ? undefined : { path: join(dir, found.name), kind: 'kustomization' };
}
