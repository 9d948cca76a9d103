/** The output of rendering an environment, and what rendering needs. */
import type { PreviewContext, ResolvedEnvironment } from '../config/index.js';
import type { VaultReferenceSite } from '../secrets/index.js';
import type { KubeObject, SourceLocation } from '../shared/index.js';

export interface RenderedObject {
  readonly object: KubeObject;
  /** File the object came from; `line` only where it is a line of that file (plain YAML). */
  readonly source: SourceLocation;
  /**
   * Line of a field inside the object's source file, for errors the API server reports by field
   * path: plain YAML, and `*.yaml.ejs` templates (the template line that printed the field; for an
   * include's output, the line of the include).
   */
  readonly lineOf?: (path: readonly string[]) => number;
  /**
   * Where a field came from, as precisely as Capstan can tell: like lineOf, but inside the partial
   * for an included template's output; for a module, its default export's line.
   */
  readonly locate?: (path: readonly string[]) => { readonly file: string; readonly line: number };
}

export interface RenderedPhase {
  /** The folder name, e.g. `30-deployment`. */
  readonly name: string;
  /** The folder's number, e.g. 30. */
  readonly order: number;
  readonly dir: string;
  readonly objects: readonly RenderedObject[];
  /** Absolute paths of the phase's `*.ejson` and `*.sops.yaml`/`*.sops.json` files, in name order. */
  readonly secretFiles: readonly string[];
}

export interface RenderOptions {
  env: ResolvedEnvironment;
  /** `--image`; overrides the image of the configuration. */
  image?: string;
  /** This deploy's id (`deployId` in templates). */
  deployId: string;
  /** The commit and branch the deploy is built from (flags, CI variables or git); stable across redeploys of one build. */
  commit?: string;
  branch?: string;
  /**
   * The environment variables of the tools rendering runs (`kustomize` or `kubectl`, `helm`, found
   * on its PATH); the library reads no globals, so without it no tool is found.
   */
  envVars?: NodeJS.ProcessEnv;
  /** Told what rendering leaves out and why (a preview's cluster-scoped objects). */
  warn?: (message: string) => void;
  /** Annotate pod templates with the checksum of the configuration they read (default true). */
  configChecksums?: boolean;
  /** Turns one secrets file (ejson, or SOPS) into objects; they are appended to the phase. */
  renderSecrets?: (file: string, namespace: string) => Promise<readonly KubeObject[]>;
  /**
   * The values of the Secrets' `ref+vault://` references, one per site in order, all read before
   * anything is written (it throws when one is missing). Without it the references stay as written.
   */
  resolveVaultReferences?: (sites: readonly VaultReferenceSite[]) => Promise<readonly string[]>;
}

/** What templates (`*.yaml.ejs`) and modules (`*.ts`/`*.js`) see; `Values` types `values` for a typed template. */
export interface TemplateContext<Values extends object = Readonly<Record<string, unknown>>> {
  readonly app: string;
  readonly env: string;
  readonly namespace: string;
  /** The cluster of a multi-cluster environment being rendered (capstan.yaml clusters); undefined for a single-cluster one. */
  readonly cluster: string | undefined;
  /**
   * The branch preview being rendered (`capstan preview deploy`); undefined for an environment.
   * `expiresAt` changes on every deploy: keep it out of pod templates, or every deploy rolls them.
   */
  readonly preview: PreviewContext | undefined;
  /** Throws a clear error when no image was given, so a template that needs one says so. */
  readonly image: string;
  /** Unique id of this deploy: new on every deploy, so never put it where a change rolls pods. */
  readonly deployId: string;
  /** @deprecated The old name of `deployId`, kept so that existing templates still render. */
  readonly revision: string;
  /** The commit being deployed (krane's `current_sha`); throws when none is known, so a template that needs it says so. */
  readonly commit: string;
  /** The branch being deployed; throws when none is known. */
  readonly branch: string;
  /** capstan.yaml values merged for the environment (with `--set`), deeply frozen. */
  readonly values: Readonly<Values>;
  /** Renders `.deploy/templates/<name>` (`.yaml.ejs` optional) with this context plus `vars`. */
  readonly include: (name: string, vars?: Record<string, unknown>) => string;
}
