import { beforeAll, describe, expect, it } from 'vitest';
import { createDemoDatabase, demoDatabaseExists } from '../../src/dev/demo-database.js';
import { withConnection } from '../../src/ops/postgres/databases.js';
import { createDemoTestDatabase, createTestDatabase, sharedTestPostgres } from '../support/postgres.js';

async function rowCounts(url: string): Promise<Record<string, number>> {
  return withConnection(url, async (client) => {
    const { rows } = await client.query<{ users: string; recipes: string; ingredients: string; reviews: string }>(`
      SELECT (SELECT count(*) FROM recipe_manager.users) AS users,
             (SELECT count(*) FROM recipe_manager.recipes) AS recipes,
             (SELECT count(*) FROM recipe_manager.ingredients) AS ingredients,
             (SELECT count(*) FROM recipe_manager.reviews) AS reviews`);
    return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([table, count]) => [table, Number(count)]));
  });
}

describe('createDemoDatabase', () => {
  const { adminUrl } = sharedTestPostgres();
  let url: string;
  let name: string;
  let firstCounts: Record<string, number>;

  beforeAll(async () => {
    url = await createTestDatabase('demo');
    name = decodeURIComponent(new URL(url).pathname.slice(1));
    expect(await demoDatabaseExists(adminUrl, name)).toBe(false);
    const started = Date.now();
    await createDemoDatabase(adminUrl, name); // the defaults, as the console uses them
    console.info(`demo database with default sizes generated in ${Date.now() - started} ms`);
    firstCounts = await rowCounts(url);
  });

  it('fills every table with the default amounts', async () => {
    expect(await demoDatabaseExists(adminUrl, name)).toBe(true);
    expect(firstCounts['users']).toBe(1000);
    expect(firstCounts['recipes']).toBe(5000);
    expect(firstCounts['ingredients']).toBeGreaterThan(6 * 5000);
    expect(firstCounts['ingredients']).toBeLessThan(11 * 5000);
    expect(firstCounts['reviews']).toBeGreaterThan(2 * 5000);
    expect(firstCounts['reviews']).toBeLessThan(4 * 5000);
  });

  it('links the tables with foreign keys and guards values with checks', async () => {
    await withConnection(url, async (client) => {
      const { rows } = await client.query<{ source: string; target: string }>(`
        SELECT conrelid::regclass::text AS source, confrelid::regclass::text AS target
        FROM pg_constraint
        WHERE contype = 'f' AND connamespace = 'recipe_manager'::regnamespace
        ORDER BY 1, 2`);
      expect(rows).toEqual([
        { source: 'recipe_manager.ingredients', target: 'recipe_manager.recipes' },
        { source: 'recipe_manager.recipes', target: 'recipe_manager.users' },
        { source: 'recipe_manager.reviews', target: 'recipe_manager.recipes' },
        { source: 'recipe_manager.reviews', target: 'recipe_manager.users' },
      ]);
      await expect(
        client.query('INSERT INTO recipe_manager.reviews (recipe_id, user_id, rating) VALUES (1, 1, 6)'),
      ).rejects.toMatchObject({ code: '23514' });
      await expect(
        client.query('INSERT INTO recipe_manager.recipes (user_id, title, cuisine, difficulty, prep_minutes, cook_minutes, servings, instructions) VALUES (999999, $1, $2, $3, 1, 1, 1, $4)', ['x', 'y', 'easy', 'z']),
      ).rejects.toMatchObject({ code: '23503' });
    });
  });

  it('generates readable data', async () => {
    await withConnection(url, async (client) => {
      const { rows } = await client.query<{ title: string; email: string; name: string; unit: string }>(`
        SELECT r.title, u.email, i.name, i.unit
        FROM recipe_manager.recipes r
        JOIN recipe_manager.users u ON u.id = r.user_id
        JOIN recipe_manager.ingredients i ON i.recipe_id = r.id
        LIMIT 5`);
      expect(rows).toHaveLength(5);
      for (const row of rows) {
        expect(row.title.split(' ').length).toBeGreaterThanOrEqual(4);
        expect(row.email).toMatch(/^[a-z.]+\d+@[a-z.]+$/);
        expect(row.name).not.toBe('');
      }
      const duplicates = await client.query(
        'SELECT recipe_id, name FROM recipe_manager.ingredients GROUP BY 1, 2 HAVING count(*) > 1',
      );
      expect(duplicates.rowCount).toBe(0);
    });
  });

  it('does not add rows when called again', async () => {
    await createDemoDatabase(adminUrl, name);
    expect(await rowCounts(url)).toEqual(firstCounts);
  });

  it('has pg_stat_statements working', async () => {
    await withConnection(url, async (client) => {
      await client.query('SELECT count(*) FROM recipe_manager.recipes');
      const { rows } = await client.query('SELECT * FROM pg_stat_statements LIMIT 1');
      expect(rows).toHaveLength(1);
    });
  });

  it('creates the database itself when it is missing, with a name that needs quoting', async () => {
    const odd = `Demo "quoted" ${Date.now()}`;
    await createDemoDatabase(adminUrl, odd, { recipes: 20, users: 5 });
    expect(await demoDatabaseExists(adminUrl, odd)).toBe(true);
  });

  it('gives tests a small demo database', async () => {
    const small = await createDemoTestDatabase();
    const counts = await rowCounts(small);
    expect(counts['recipes']).toBe(300);
    expect(counts['users']).toBe(100);
  });
});
