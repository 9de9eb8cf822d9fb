/**
 * The application's schemas: those of VERIFY_TABLES (`recipe_manager` by default), which is where
 * the recipe application keeps its tables. `users` audits them and `user create` grants on them.
 *
 *   applicationSchemas(config) // ['recipe_manager']
 */
import type { Config } from '../config.js';

export function applicationSchemas(config: Pick<Config, 'verifyTables'>): string[] {
  return [...new Set(config.verifyTables.map((table) => table.split('.')[0] ?? '').filter(Boolean))];
}
