import { AsyncLocalStorage } from 'node:async_hooks';

/** What Capstan is doing, for 403 messages: set by `during` for everything the function awaits. */
const activity = new AsyncLocalStorage<string>();

/**
 * Runs `fn` with `doing` as what Capstan is doing: a 403 of any request it makes (watches and log
 * streams it starts included) ends with it, e.g. `cannot create jobs.batch ...: the hook Job
 * db-migrate of phase 20-predeployment needs it`. The innermost `during` wins.
 */
export function during<T>(doing: string, fn: () => Promise<T>): Promise<T> {
  return activity.run(doing, fn);
}

export function currentActivity(): string | undefined {
  return activity.getStore();
}
