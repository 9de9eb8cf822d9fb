/** The Recipe Database as the tests find it in the fake Kubernetes API. */
import type { FakeKube } from './fake-kube.js';

export const RECIPE_DATABASE_NAMESPACE = 'recipe-database';
export const RECIPE_DATABASE_IMAGE = 'postgres:15.4';
export const EXPORTER_IMAGE = 'quay.io/prometheuscommunity/postgres-exporter:v0.11.1';

export interface RecipeDatabaseOptions {
  /** The database container's image (default postgres:15.4). */
  image?: string;
  /** The data volume's class: `standard` allows expansion, `fixed` does not. */
  storageClass?: 'standard' | 'fixed';
  /** The data volume's size (default 10Gi). */
  volumeSize?: string;
  /** How the class's driver expands the volume. */
  resize?: 'online' | 'offline';
}

/**
 * PostgreSQL with requests and limits and postgres_exporter beside it without any: one pod, replaced
 * by `Recreate` (its volume is ReadWriteOnce); the Service recipe-database-service in front of it;
 * its data on the claim recipe-database-pvc.
 */
export function addRecipeDatabase(fake: FakeKube, options: RecipeDatabaseOptions = {}): void {
  fake.addDeployment({
    namespace: RECIPE_DATABASE_NAMESPACE,
    name: 'recipe-database',
    replicas: 1,
    strategy: 'Recreate',
    containers: [
      { name: 'recipe-database', image: options.image ?? RECIPE_DATABASE_IMAGE, requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      { name: 'postgres-exporter', image: EXPORTER_IMAGE },
    ],
  });
  fake.addService({
    namespace: RECIPE_DATABASE_NAMESPACE,
    name: 'recipe-database-service',
    selector: { app: 'recipe-database' },
    ports: [
      { name: 'postgres', port: 5432 },
      { name: 'metrics', port: 9187 },
    ],
  });
  fake.addStorageClass({ name: 'standard', allowVolumeExpansion: true, provisioner: 'pd.csi.storage.gke.io' });
  fake.addStorageClass({ name: 'fixed', provisioner: 'kubernetes.io/no-provisioner' });
  fake.addVolumeClaim({
    namespace: RECIPE_DATABASE_NAMESPACE,
    name: 'recipe-database-pvc',
    storageClassName: options.storageClass ?? 'standard',
    size: options.volumeSize ?? '10Gi',
    resize: options.resize,
  });
}

