// An API outage as an incident of the environment (pure): once the API server has not answered for
// the grace period, one message says so; once it answers again, one resolved message follows.

export interface Outage {
  /** When the API server stopped answering. */
  readonly since: string;
  /** When some configuration took the outage message; undefined until then. */
  readonly announcedAt?: string;
}

export interface OutageStep {
  readonly outage?: Outage;
  /** The message due now, if any. */
  readonly send?: 'incident' | 'resolved';
}

/**
 * One step at `now`, given when the API server stopped answering (undefined while it answers): an
 * outage that lasted the grace period is announced, once; one that ends after it was announced is
 * resolved; one that ends before that leaves quietly. A message that no configuration took is due
 * again at the next step.
 */
export function advanceOutage(
  outage: Outage | undefined,
  troubleSince: Date | undefined,
  options: { now: Date; graceMs: number },
): OutageStep {
  if (troubleSince === undefined) {
    if (outage?.announcedAt === undefined) return {};
    return { outage, send: 'resolved' };
  }
  const current = outage ?? { since: troubleSince.toISOString() };
  if (current.announcedAt !== undefined) return { outage: current };
  const lasted = options.now.getTime() - Date.parse(current.since);
  return lasted >= options.graceMs ? { outage: current, send: 'incident' } : { outage: current };
}

/** The outage after an attempt to send `kind`, given whether any configuration took it. */
export function afterOutageAttempt(
  outage: Outage,
  kind: 'incident' | 'resolved',
  taken: boolean,
  now: Date,
): Outage | undefined {
  if (!taken) return outage;
  return kind === 'incident' ? { ...outage, announcedAt: now.toISOString() } : undefined;
}

/** The outage message's words. */
export function outageSummary(outage: Outage): string {
  return `the API server has not answered since ${outage.since}; incidents that open meanwhile are reported once it answers again`;
}

/** A stored outage, or undefined when the value is not one. */
export function parseOutage(value: unknown): Outage | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { since, announcedAt } = value as Record<string, unknown>;
  if (typeof since !== 'string' || Number.isNaN(Date.parse(since))) return undefined;
  return typeof announcedAt === 'string' ? { since, announcedAt } : { since };
}
