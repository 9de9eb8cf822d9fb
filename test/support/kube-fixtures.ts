/** The Recipe Database's deployment as the status tests find it in the fake Kubernetes API. */
import type { FakeKube } from './fake-kube.js';

export const RECIPE_DATABASE_NAMESPACE = 'recipe-database';

/** PostgreSQL with requests and limits, and postgres_exporter beside it without any: one pod. */
export function addRecipeDatabase(fake: FakeKube): void {
  fake.addDeployment({
    namespace: RECIPE_DATABASE_NAMESPACE,
    name: 'recipe-database',
    replicas: 1,
    containers: [
      { name: 'recipe-database', requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      { name: 'postgres-exporter' },
    ],
  });
}
