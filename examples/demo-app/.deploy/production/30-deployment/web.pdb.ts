// A TypeScript module: its default export receives the template context and returns objects.
// defineTemplate types the context (`values` as declared here) and checks the objects returned
// against the Kubernetes models; the declared return type makes TypeScript refuse unknown fields
// too, so `npx tsc` catches a misspelled field before a deploy does.
import { defineTemplate, type PodDisruptionBudget } from 'capstan';

interface Values {
  web: { replicas: number };
}

export default defineTemplate<Values>(({ app, values }): PodDisruptionBudget => ({
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
}));
