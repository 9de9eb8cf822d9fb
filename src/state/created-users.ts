/**
 * The users `user create` made (state migration 9): the role, the Secret key holding its password
 * (never the password), who asked and who approved. `user rotate-password` accepts these besides
 * MANAGED_USERS.
 *
 *   await rememberCreatedUser(state, { role: 'reporting', namespace, secret, key: 'password', readOnly: true, createdBy, approvedBy, requestId });
 *   const user = await findCreatedUser(state, 'reporting'); // null when the bot did not create it
 */
import type pg from 'pg';

export interface CreatedUser {
  role: string;
  namespace: string;
  secret: string;
  key: string;
  readOnly: boolean;
  createdBy: string;
  approvedBy: string;
  requestId: string | null;
  createdAt: Date;
  rotatedAt: Date | null;
}

interface Row {
  role: string;
  namespace: string;
  secret: string;
  secret_key: string;
  read_only: boolean;
  created_by: string;
  approved_by: string;
  request_id: string | null;
  created_at: Date;
  rotated_at: Date | null;
}

const fromRow = (r: Row): CreatedUser => ({
  role: r.role,
  namespace: r.namespace,
  secret: r.secret,
  key: r.secret_key,
  readOnly: r.read_only,
  createdBy: r.created_by,
  approvedBy: r.approved_by,
  requestId: r.request_id,
  createdAt: r.created_at,
  rotatedAt: r.rotated_at,
});

export async function rememberCreatedUser(
  state: pg.Pool,
  user: Omit<CreatedUser, 'createdAt' | 'rotatedAt' | 'requestId'> & { requestId?: string },
): Promise<void> {
  // A role dropped by hand and created again under the same name is the new one.
  await state.query(
    `INSERT INTO created_users (role, namespace, secret, secret_key, read_only, created_by, approved_by, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (role) DO UPDATE SET namespace = $2, secret = $3, secret_key = $4, read_only = $5, created_by = $6,
       approved_by = $7, request_id = $8, created_at = now(), rotated_at = NULL`,
    [user.role, user.namespace, user.secret, user.key, user.readOnly, user.createdBy, user.approvedBy, user.requestId ?? null],
  );
}

export async function findCreatedUser(state: pg.Pool, role: string): Promise<CreatedUser | null> {
  const { rows } = await state.query<Row>('SELECT * FROM created_users WHERE role = $1', [role]);
  return rows[0] === undefined ? null : fromRow(rows[0]);
}

export async function listCreatedUsers(state: pg.Pool): Promise<CreatedUser[]> {
  const { rows } = await state.query<Row>('SELECT * FROM created_users ORDER BY role');
  return rows.map(fromRow);
}

export async function markUserRotated(state: pg.Pool, role: string): Promise<void> {
  await state.query('UPDATE created_users SET rotated_at = now() WHERE role = $1', [role]);
}
