import { CapstanError } from '../shared/index.js';

export interface StatusCause {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
}

/** A refusal or failure reported by the Kubernetes API, with its Status details. */
export class KubeApiError extends CapstanError {
  readonly status: number;
  readonly reason: string;
  readonly causes: readonly StatusCause[];

  constructor(status: number, reason: string, message: string, causes: readonly StatusCause[] = [], cause?: unknown) {
    super(status === 0 ? 'ERR_CAPSTAN_KUBE_UNREACHABLE' : 'ERR_CAPSTAN_KUBE_API', message, { cause });
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.causes = causes;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
  get conflict(): boolean {
    return this.status === 409;
  }
  get forbidden(): boolean {
    return this.status === 403;
  }
  /** Worth retrying: the API server is restarting, overloaded or briefly unreachable. */
  get transient(): boolean {
    // 500 is left out: the API server answers schema errors of an apply with it.
    return this.status === 0 || this.status === 429 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

export function isKubeApiError(error: unknown): error is KubeApiError {
  return error instanceof KubeApiError;
}
