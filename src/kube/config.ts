import type { RequestOptions } from 'node:https';
import { CapstanError } from '../shared/index.js';

export interface KubeConnectionOptions {
  /** Path of a kubeconfig file; default: KUBECONFIG from `env`, then ~/.kube/config. */
  readonly kubeconfig?: string;
  /** Context name; default: the kubeconfig's current context. */
  readonly context?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface KubeConnection {
  readonly server: string;
  readonly context: string;
  /** The namespace of the context, or `default`. */
  readonly namespace: string;
  readonly user: string;
  readonly requestOptions: RequestOptions;
}

/** Reads a kubeconfig with the official client and turns it into TLS and auth options for requests. */
export async function loadConnection(options: KubeConnectionOptions = {}): Promise<KubeConnection> {
  // Loaded on first use: the client library is large and most commands start without it.
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const env = options.env ?? {};
  const file = options.kubeconfig ?? env.KUBECONFIG;
  try {
    if (file) {
      // KUBECONFIG may list several files; the client merges them.
      const files = file.split(':').filter(Boolean);
      if (files.length === 1) kc.loadFromFile(files[0]);
      else kc.loadFromDefault();
    } else {
      kc.loadFromDefault();
    }
  } catch (error) {
    throw new CapstanError('ERR_CAPSTAN_KUBECONFIG', `cannot read kubeconfig ${file ?? '~/.kube/config'}: ${(error as Error).message}`, {
      cause: error,
      hint: 'pass --kubeconfig or set KUBECONFIG',
    });
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new CapstanError('ERR_CAPSTAN_KUBECONFIG', `kube context "${options.context}" not found in ${file ?? 'the kubeconfig'}`, {
        hint: known.length ? `known contexts: ${known.join(', ')}` : undefined,
      });
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new CapstanError('ERR_CAPSTAN_KUBECONFIG', `the kubeconfig ${file ?? ''} has no current cluster`.replace('  ', ' '), {
      hint: 'pass --context or set current-context in the kubeconfig',
    });
  }
  const requestOptions: RequestOptions = {};
  await kc.applyToHTTPSOptions(requestOptions);
  const context = kc.getContextObject(kc.getCurrentContext());
  return {
    server: cluster.server.replace(/\/+$/, ''),
    context: kc.getCurrentContext(),
    namespace: context?.namespace ?? 'default',
    user: kc.getCurrentUser()?.name ?? 'unknown',
    requestOptions,
  };
}
