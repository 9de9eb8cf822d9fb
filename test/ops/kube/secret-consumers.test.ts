/** Which pods read a Secret key: by env, envFrom, or a volume that does not leave the key out. */
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podReads } from '../../../src/ops/kube/secret-consumers.js';

const ref = { name: 'recipe-database-secret', key: 'API_PASSWORD' };
const pod = (spec: V1Pod['spec']): V1Pod => ({ spec });

describe('podReads', () => {
  it('finds the key through env, envFrom, secret and projected volumes, in init containers too', () => {
    expect(
      podReads(
        pod({
          initContainers: [{ name: 'migrate', envFrom: [{ secretRef: { name: 'recipe-database-secret' } }] }],
          containers: [{ name: 'api', env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'recipe-database-secret', key: 'API_PASSWORD' } } }] }],
          volumes: [
            { name: 'all', secret: { secretName: 'recipe-database-secret' } },
            { name: 'one', secret: { secretName: 'recipe-database-secret', items: [{ key: 'API_PASSWORD', path: 'pw' }] } },
            { name: 'mixed', projected: { sources: [{ secret: { name: 'recipe-database-secret' } }] } },
          ],
        }),
        ref,
      ),
    ).toEqual(['envFrom', 'env DB_PASSWORD', 'volume all', 'volume one', 'volume mixed']);
  });

  it('leaves out other keys, other Secrets, and volumes that mount only other keys', () => {
    expect(
      podReads(
        pod({
          containers: [
            { name: 'db', env: [{ name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'recipe-database-secret', key: 'POSTGRES_PASSWORD' } } }] },
            { name: 'other', envFrom: [{ secretRef: { name: 'another-secret' } }] },
          ],
          volumes: [{ name: 'superuser', secret: { secretName: 'recipe-database-secret', items: [{ key: 'POSTGRES_PASSWORD', path: 'pw' }] } }],
        }),
        ref,
      ),
    ).toEqual([]);
  });
});
