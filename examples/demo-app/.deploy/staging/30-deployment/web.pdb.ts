// A TypeScript module: its default export receives the template context and returns objects.
interface Context {
  app: string;
  values: { web: { replicas: number } };
}

export default function webDisruptionBudget({ app, values }: Context) {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: 'web',
      labels: { 'app.kubernetes.io/name': app, 'app.kubernetes.io/component': 'web' },
    },
    spec: {
      // With a single replica, a budget of 1 would block every node drain.
      ...(values.web.replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }),
      selector: { matchLabels: { 'app.kubernetes.io/name': app, 'app.kubernetes.io/component': 'web' } },
    },
  };
}
