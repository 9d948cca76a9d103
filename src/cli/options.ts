/** Options every command reads from the program: where the app and the cluster are. */
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  cwd: string;
}

/** Commander helper for repeatable options such as `--set k=v --set k2=v2`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
