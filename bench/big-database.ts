/**
 * A big Recipe Database for the backup benchmark: the demo schema (src/dev/demo-database.ts) filled
 * with INSERT … SELECT over generate_series, in id ranges on two connections at once. The text is
 * assembled from word lists with random picks and numbers, so that it compresses like written
 * recipes do (a few times, not the hundredfold of repeated padding, nor not at all like random bytes).
 *
 *   const big = await createBigDatabase(adminUrl, 'recipe_bench', { recipes: 300_000 }, say);
 *   big.sizeBytes // pg_database_size, ≥ 500 MB at the default size
 *   const big = await createSectionDatabase(adminUrl, 'pitr', say); // the backup and pitr sections': BIG_DATABASE, ≥ 500 MB or an error
 */
import type pg from 'pg';
import { createDemoDatabase } from '../src/dev/demo-database.js';
import { databaseUrl, withConnection } from '../src/ops/postgres/databases.js';
import { quoteIdent } from '../src/ops/postgres/quote-ident.js';
import { runConcurrently } from './stats.js';

export interface BigDatabase {
  url: string;
  sizeBytes: number;
  generationMs: number;
  rows: { users: number; recipes: number; ingredients: number; reviews: number };
}

export interface BigDatabaseOptions {
  recipes: number;
  users: number;
  /** Recipes per INSERT (with their ingredients and reviews): small enough to report progress. */
  chunk: number;
  connections: number;
}

const DEFAULTS: BigDatabaseOptions = { recipes: 200_000, users: 25_000, chunk: 10_000, connections: 2 };

/** The database the backup and pitr sections generate and drop. */
export const BIG_DATABASE = 'recipe_bench';
/** 500 MiB: "at least 500 MB" whichever way MB is read. */
export const MIN_BIG_DATABASE_BYTES = 500 * 1024 * 1024;
const MB = 1e6;

/** BIG_DATABASE at the default size, its progress said as the section's; a section measured on less than 500 MB would say nothing. */
export async function createSectionDatabase(adminUrl: string, section: string, say: (line: string) => void): Promise<BigDatabase> {
  const big = await createBigDatabase(adminUrl, BIG_DATABASE, {}, (line) => say(`${section}: ${line}`));
  say(`${section}: ${(big.sizeBytes / MB).toFixed(0)} MB generated in ${(big.generationMs / 1000).toFixed(1)} s.`);
  if (big.sizeBytes < MIN_BIG_DATABASE_BYTES) throw new Error(`the generated database has only ${(big.sizeBytes / MB).toFixed(0)} MB`);
  return big;
}

export async function createBigDatabase(
  adminUrl: string,
  name: string,
  options: Partial<BigDatabaseOptions>,
  say: (line: string) => void,
): Promise<BigDatabase> {
  const o = { ...DEFAULTS, ...options };
  const started = performance.now();
  const url = databaseUrl(adminUrl, name);
  // The demo schema with one user, then emptied: the same tables, constraints and indexes as production.
  await createDemoDatabase(adminUrl, name, { recipes: 0, users: 1 });
  await withConnection(url, (client) =>
    client.query('TRUNCATE recipe_manager.reviews, recipe_manager.ingredients, recipe_manager.recipes, recipe_manager.users RESTART IDENTITY'),
  );

  await withConnection(url, async (client) => {
    await client.query('SELECT setseed(0.5)');
    await client.query(USERS_SQL, [o.users, FIRST_NAMES, LAST_NAMES, EMAIL_DOMAINS]);
  });

  const chunks = Math.ceil(o.recipes / o.chunk);
  let done = 0;
  await runConcurrently(chunks, o.connections, async (i) => {
    const from = i * o.chunk + 1;
    const to = Math.min(o.recipes, (i + 1) * o.chunk);
    await withConnection(url, async (client) => {
      // The rows are consistent by construction; per-row foreign-key triggers would only slow the load.
      await client.query(`SET session_replication_role = replica`);
      // Seeded per range: the same database every run, whichever connection fills which range.
      await client.query('SELECT setseed($1)', [i / chunks]);
      await fillRange(client, from, to, o.users);
    });
    done++;
    if (done % 4 === 0 || done === chunks) say(`generated ${Math.min(o.recipes, done * o.chunk).toLocaleString('en-US')} of ${o.recipes.toLocaleString('en-US')} recipes…`);
  });

  // Identity columns were bypassed (explicit ids); later inserts must not collide with them.
  await withConnection(url, async (client) => {
    for (const table of TABLES) {
      await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT coalesce(max(id), 0) + 1 FROM ${qualified(table)}), false)`, [
        `recipe_manager.${table}`,
      ]);
    }
  });
  // Vacuumed (hint bits, visibility map) and checkpointed now, so neither side of the comparison
  // pays for first-read page writes or lands on a checkpoint the other side did not have.
  say('vacuuming and checkpointing the generated database…');
  await runConcurrently(TABLES.length, o.connections, async (i) => {
    await withConnection(url, (client) => client.query(`VACUUM (ANALYZE) ${qualified(TABLES[i] as string)}`));
  });
  await withConnection(url, (client) => client.query('CHECKPOINT'));

  const facts = await withConnection(url, async (client) => {
    const { rows } = await client.query<{ size: string; users: string; recipes: string; ingredients: string; reviews: string }>(
      `SELECT pg_database_size(current_database()) AS size,
              (SELECT count(*) FROM recipe_manager.users) AS users,
              (SELECT count(*) FROM recipe_manager.recipes) AS recipes,
              (SELECT count(*) FROM recipe_manager.ingredients) AS ingredients,
              (SELECT count(*) FROM recipe_manager.reviews) AS reviews`,
    );
    return rows[0];
  });
  if (facts === undefined) throw new Error('could not measure the generated database');
  return {
    url,
    sizeBytes: Number(facts.size),
    generationMs: performance.now() - started,
    rows: { users: Number(facts.users), recipes: Number(facts.recipes), ingredients: Number(facts.ingredients), reviews: Number(facts.reviews) },
  };
}

const TABLES = ['recipes', 'ingredients', 'reviews', 'users'] as const;
const qualified = (table: string): string => `${quoteIdent('recipe_manager')}.${quoteIdent(table)}`;

async function fillRange(client: pg.Client, from: number, to: number, users: number): Promise<void> {
  await client.query(RECIPES_SQL, [from, to, users, ADJECTIVES, FLAVOURS, MAINS, DISHES, CUISINES, TECHNIQUES, INGREDIENT_NAMES, CUES, TOOLS]);
  await client.query(INGREDIENTS_SQL, [from, to, INGREDIENT_NAMES, UNITS, NOTES]);
  await client.query(REVIEWS_SQL, [from, to, users, REVIEW_OPENINGS, REVIEW_DETAILS, INGREDIENT_NAMES, REVIEW_CLOSINGS]);
}

/** One random item of a text array. */
const pick = (param: string): string => `(${param}::text[])[1 + floor(random() * cardinality(${param}::text[]))::int]`;

const USERS_SQL = `
INSERT INTO recipe_manager.users (id, username, email, display_name, created_at) OVERRIDING SYSTEM VALUE
SELECT i, lower(f || '.' || l) || i, lower(f || '.' || l) || i || '@' || d, f || ' ' || l, t
FROM (SELECT g.i, ${pick('$2')} AS f, ${pick('$3')} AS l, ${pick('$4')} AS d,
             timestamptz '2021-01-01' + random() * interval '1000 days' AS t
      FROM generate_series(1, $1::int) AS g(i)) AS people`;

// Steps follow one of three sentence shapes, with quantities, times and temperatures drawn per step.
const RECIPES_SQL = `
INSERT INTO recipe_manager.recipes
  (id, user_id, title, description, cuisine, difficulty, prep_minutes, cook_minutes, servings, instructions, created_at, updated_at)
  OVERRIDING SYSTEM VALUE
SELECT i, user_id, concat_ws(' ', adjective, flavour, main, dish),
       format('A %s %s %s with %s and %s, ready in about %s minutes. Serves %s; keeps %s days in the fridge.',
              lower(adjective), cuisine, lower(dish), lower(main), lower(flavour), prep + cook, servings, 1 + i % 4),
       cuisine, (ARRAY['easy', 'easy', 'medium', 'medium', 'hard'])[1 + i % 5], prep, cook, servings,
       (SELECT string_agg(
                 CASE floor(random() * 3)::int
                   WHEN 0 THEN format('%s. %s the %s in a %s over medium heat for %s minutes, until %s.',
                                      n, ${pick('$9')}, ${pick('$10')}, ${pick('$12')}, 2 + floor(random() * 18)::int, ${pick('$11')})
                   WHEN 1 THEN format('%s. Add %s g of %s and %s ml of water, stir, and let it %s for %s minutes.',
                                      n, 10 * (1 + floor(random() * 40)::int), ${pick('$10')}, 25 * (1 + floor(random() * 20)::int),
                                      lower(${pick('$9')}), 1 + floor(random() * 30)::int)
                   ELSE format('%s. Heat the oven to %s °C, move the %s to a %s and %s until %s; season with %s.',
                               n, 160 + 10 * floor(random() * 9)::int, ${pick('$10')}, ${pick('$12')}, lower(${pick('$9')}),
                               ${pick('$11')}, ${pick('$10')})
                 END, E'\\n' ORDER BY n)
          FROM generate_series(1, 5 + (i % 7)) AS s(n)),
       created_at, created_at + (i % 13) * interval '1 day'
FROM (SELECT g.i, 1 + floor(random() * $3::int)::int AS user_id,
             ${pick('$4')} AS adjective, ${pick('$5')} AS flavour, ${pick('$6')} AS main, ${pick('$7')} AS dish, ${pick('$8')} AS cuisine,
             5 * (1 + floor(random() * 8)::int) AS prep, 5 * floor(random() * 25)::int AS cook,
             (ARRAY[1, 2, 2, 4, 4, 4, 6, 8, 12])[1 + floor(random() * 9)::int] AS servings,
             timestamptz '2021-06-01' + random() * interval '1000 days' AS created_at
      FROM generate_series($1::int, $2::int) AS g(i)) AS r`;

// Ids are derived from the recipe id and position, so that chunks loaded concurrently never collide.
const INGREDIENTS_SQL = `
INSERT INTO recipe_manager.ingredients (id, recipe_id, position, name, quantity, unit) OVERRIDING SYSTEM VALUE
SELECT r.i * 16 + n, r.i, n, ${pick('$3')} || CASE WHEN random() < 0.3 THEN ', ' || ${pick('$5')} ELSE '' END,
       round((0.25 + random() * 3.75) * 4) / 4, ${pick('$4')}
FROM generate_series($1::int, $2::int) AS r(i)
CROSS JOIN LATERAL generate_series(1, 5 + (r.i % 8)) AS s(n)`;

const REVIEWS_SQL = `
INSERT INTO recipe_manager.reviews (id, recipe_id, user_id, rating, comment, created_at) OVERRIDING SYSTEM VALUE
SELECT r.i * 8 + n, r.i, 1 + floor(random() * $3::int)::int, 1 + floor(power(random(), 0.5) * 5)::int,
       CASE WHEN random() < 0.15 THEN NULL
            ELSE concat_ws(' ', ${pick('$4')}, format(${pick('$5')}, ${pick('$6')}, 1 + floor(random() * 20)::int), ${pick('$7')}) END,
       timestamptz '2022-01-01' + random() * interval '900 days'
FROM generate_series($1::int, $2::int) AS r(i)
CROSS JOIN LATERAL generate_series(1, (r.i * 37 % 7)) AS s(n)`;

// ---------------------------------------------------------------------------------------------
// Word lists

const FIRST_NAMES = [
  'Ada', 'Amara', 'Ben', 'Carla', 'Chen', 'Dana', 'Diego', 'Elif', 'Emma', 'Farah', 'Finn', 'Grace', 'Hana', 'Hugo', 'Ines', 'Ivan',
  'Jamal', 'Julia', 'Kai', 'Lena', 'Leo', 'Maya', 'Mateo', 'Nadia', 'Noah', 'Olga', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sam', 'Sofia',
];
const LAST_NAMES = [
  'Adams', 'Baker', 'Costa', 'Dubois', 'Evans', 'Fischer', 'Garcia', 'Hansen', 'Ibrahim', 'Jensen', 'Kim', 'Lopez', 'Martin',
  'Nakamura', 'Okafor', 'Patel', 'Quintero', 'Rossi', 'Schmidt', 'Tanaka', 'Ueda', 'Varga', 'Walker', 'Xu', 'Yilmaz', 'Zhang',
];
const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example.com', 'kitchen.example'];
const ADJECTIVES = [
  'Smoky', 'Creamy', 'Spicy', 'Crispy', 'Zesty', 'Hearty', 'Roasted', 'Grilled', 'Slow-Cooked', 'Tangy', 'Golden', 'Rustic',
  'Honey-Glazed', 'Garlicky', 'Herbed', 'Charred', 'Sticky', 'Fresh', 'Braised', 'Quick', 'Silky', 'Peppery', 'Buttery', 'Bright',
];
const FLAVOURS = [
  'Chipotle', 'Lemon', 'Ginger', 'Miso', 'Basil', 'Coconut', 'Sesame', 'Harissa', 'Maple', 'Cajun', 'Teriyaki', 'Pesto', 'Paprika',
  'Cumin', 'Rosemary', 'Lime', 'Gochujang', 'Tahini', 'Tamarind', 'Dill', 'Saffron', 'Sumac', 'Fennel', 'Mustard',
];
const MAINS = [
  'Black Bean', 'Chicken', 'Salmon', 'Tofu', 'Mushroom', 'Sweet Potato', 'Lentil', 'Shrimp', 'Beef', 'Chickpea', 'Pork', 'Eggplant',
  'Cauliflower', 'Halloumi', 'Turkey', 'Cod', 'Butternut Squash', 'Lamb', 'Tempeh', 'Duck', 'Mackerel', 'Paneer',
];
const DISHES = [
  'Chili', 'Tacos', 'Curry', 'Stew', 'Salad', 'Soup', 'Risotto', 'Bowl', 'Pasta', 'Stir-Fry', 'Casserole', 'Skewers', 'Flatbread',
  'Burgers', 'Noodles', 'Traybake', 'Wraps', 'Pie', 'Gratin', 'Dumplings',
];
const CUISINES = [
  'Mexican', 'Italian', 'Indian', 'Japanese', 'Thai', 'Moroccan', 'Korean', 'Greek', 'Lebanese', 'American', 'French', 'Vietnamese',
  'Spanish', 'Ethiopian', 'Peruvian',
];
const TECHNIQUES = ['Sear', 'Roast', 'Simmer', 'Grill', 'Toss', 'Braise', 'Saute', 'Bake', 'Steam', 'Marinate', 'Poach', 'Fry', 'Glaze', 'Reduce'];
const INGREDIENT_NAMES = [
  'olive oil', 'garlic', 'yellow onion', 'red onion', 'black beans', 'chipotle in adobo', 'ground cumin', 'smoked paprika', 'sea salt',
  'black pepper', 'chicken thighs', 'salmon fillet', 'firm tofu', 'cremini mushrooms', 'sweet potato', 'red lentils', 'shrimp',
  'ground beef', 'chickpeas', 'eggplant', 'cauliflower', 'halloumi', 'crushed tomatoes', 'tomato paste', 'coconut milk',
  'vegetable stock', 'chicken stock', 'basmati rice', 'arborio rice', 'spaghetti', 'rice noodles', 'corn tortillas', 'fresh ginger',
  'soy sauce', 'white miso', 'sesame oil', 'maple syrup', 'honey', 'lime juice', 'lemon zest', 'fresh cilantro', 'fresh basil',
  'flat-leaf parsley', 'rosemary', 'butter', 'heavy cream', 'greek yogurt', 'feta', 'parmesan', 'baby spinach', 'bell pepper',
  'jalapeno', 'zucchini', 'carrot', 'celery', 'frozen peas', 'tahini', 'harissa', 'gochujang', 'rice vinegar', 'brown sugar',
  'chili flakes', 'shallots', 'capers', 'anchovies', 'pine nuts', 'walnuts', 'dijon mustard', 'white wine', 'red wine vinegar',
];
const UNITS = ['tbsp', 'tsp', 'cup', 'g', 'kg', 'ml', 'l', 'oz', 'lb', 'clove', 'whole', 'can', 'pinch', 'bunch', 'sprig', 'slice'];
const NOTES = ['finely chopped', 'thinly sliced', 'diced', 'minced', 'grated', 'rinsed and drained', 'at room temperature', 'divided', 'to taste', 'roughly torn'];
const CUES = [
  'golden brown', 'soft and translucent', 'fragrant', 'the sauce has thickened', 'tender when pierced', 'the edges are crisp',
  'most of the liquid has gone', 'bubbling at the edges', 'glossy', 'cooked through', 'lightly charred', 'the rice is fluffy',
];
const TOOLS = ['large skillet', 'heavy pot', 'roasting tin', 'wok', 'saucepan', 'baking dish', 'dutch oven', 'sheet pan', 'grill pan', 'mixing bowl'];
const REVIEW_OPENINGS = [
  'Made this last night.', 'Second time making it.', 'Followed the recipe exactly.', 'Cooked it for a dinner party.',
  'Tried it on a weeknight.', 'My partner picked this one.', 'Made a double batch.', 'First attempt at this cuisine.',
  'Did not have everything on hand.', 'Saw this on the front page.', 'Cooked it with the kids.', 'Meal-prepped it for the week.',
];
const REVIEW_DETAILS = [
  'I swapped in %s and cooked it %s minutes longer.', 'Used extra %s and it took about %s minutes more.',
  'Left out the %s; still good after %s minutes of resting.', 'Added a handful of %s at the end, %s minutes before serving.',
  'Would go easier on the %s next time; %s minutes was plenty.', 'The %s really makes it, and it was ready in %s minutes.',
];
const REVIEW_CLOSINGS = [
  'Will make again.', 'Five stars from the whole family.', 'Good, but not great.', 'A new favourite.', 'Too salty for us.',
  'Needed more seasoning.', 'Perfect for cold evenings.', 'Leftovers were even better.', 'Not worth the effort.', 'Highly recommend.',
];
