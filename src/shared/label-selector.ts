/** A metav1.LabelSelector as the audit and the scheduling preflight read it. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { key: string; operator: string; values?: readonly string[] }[];
}

/**
 * Kubernetes label selector semantics (matchLabels and matchExpressions ANDed): an empty selector
 * matches everything, an unknown operator nothing. Keys are own properties only, so a label named
 * `constructor` is not mistaken for one that is set.
 */
export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (!Object.hasOwn(labels, key) || labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expression.key);
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
        if (!has || !values.includes(labels[expression.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[expression.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
