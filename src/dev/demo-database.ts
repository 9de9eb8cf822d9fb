/**
 * The demo Recipe Database: the schema the bot operates in production (recipe_manager.users,
 * recipes, ingredients, reviews), filled with plausible generated data so that the local console
 * and the tests have something real to inspect, back up and restore.
 */
import type pg from 'pg';
import { databaseExists, databaseUrl, ensureDatabase, withConnection } from '../ops/postgres/databases.js';
import { errorText } from '../ops/failure.js';

export interface DemoDatabaseOptions {
  /** Default 5000. */
  recipes?: number;
  /** Default 1000. */
  users?: number;
}


/** True when the database exists and its demo data is in place. */
export async function demoDatabaseExists(adminUrl: string, databaseName: string): Promise<boolean> {
  if (!(await databaseExists(adminUrl, databaseName))) return false;
  return withConnection(databaseUrl(adminUrl, databaseName), async (client) => {
    const table = await client.query<{ found: string | null }>(
      `SELECT to_regclass('recipe_manager.recipes')::text AS found`,
    );
    if (table.rows[0]?.found == null) return false;
    const rows = await client.query('SELECT 1 FROM recipe_manager.recipes LIMIT 1');
    return rows.rowCount === 1;
  });
}

/**
 * Creates the database if missing, then the schema and its data. Safe to call again: tables that
 * exist are kept, and data is generated only while recipe_manager.recipes is empty.
 */
export async function createDemoDatabase(
  adminUrl: string,
  databaseName: string,
  opts: DemoDatabaseOptions = {},
): Promise<void> {
  const recipes = opts.recipes ?? 5000;
  const users = opts.users ?? 1000;
  if (!Number.isInteger(recipes) || recipes < 0 || !Number.isInteger(users) || users < 1) {
    throw new Error(`The demo database needs a whole number of recipes (got ${recipes}) and at least one user (got ${users}).`);
  }
  await ensureDatabase(adminUrl, databaseName);
  await withConnection(databaseUrl(adminUrl, databaseName), async (client) => {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await client.query('BEGIN');
    try {
      // Concurrent callers would race on CREATE TABLE IF NOT EXISTS and on the emptiness check.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('recipedb-ops demo database'))`);
      await client.query(SCHEMA_SQL);
      const existing = await client.query('SELECT 1 FROM recipe_manager.recipes LIMIT 1');
      const populate = existing.rowCount === 0;
      if (populate) await populateDemoData(client, recipes, users);
      await client.query('COMMIT');
      if (populate) await client.query(ANALYZE_SQL);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new Error(`Could not create the demo data in database "${databaseName}": ${errorText(error)}`);
    }
  });
}




const SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS recipe_manager;

CREATE TABLE IF NOT EXISTS recipe_manager.users (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username     text NOT NULL UNIQUE CHECK (length(username) BETWEEN 3 AND 64),
  email        text NOT NULL UNIQUE CHECK (email LIKE '%_@_%._%'),
  display_name text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS recipe_manager.recipes (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES recipe_manager.users (id) ON DELETE CASCADE,
  title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description  text,
  cuisine      text NOT NULL,
  difficulty   text NOT NULL CHECK (difficulty IN ('easy', 'medium', 'hard')),
  prep_minutes integer NOT NULL CHECK (prep_minutes >= 0),
  cook_minutes integer NOT NULL CHECK (cook_minutes >= 0),
  servings     integer NOT NULL CHECK (servings BETWEEN 1 AND 50),
  instructions text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (updated_at >= created_at)
);
CREATE INDEX IF NOT EXISTS recipes_user_id_idx ON recipe_manager.recipes (user_id);
CREATE INDEX IF NOT EXISTS recipes_created_at_idx ON recipe_manager.recipes (created_at);

CREATE TABLE IF NOT EXISTS recipe_manager.ingredients (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recipe_id bigint NOT NULL REFERENCES recipe_manager.recipes (id) ON DELETE CASCADE,
  position  integer NOT NULL CHECK (position > 0),
  name      text NOT NULL,
  quantity  numeric(8, 2) CHECK (quantity > 0),
  unit      text NOT NULL
);
CREATE INDEX IF NOT EXISTS ingredients_recipe_id_idx ON recipe_manager.ingredients (recipe_id);

CREATE TABLE IF NOT EXISTS recipe_manager.reviews (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recipe_id  bigint NOT NULL REFERENCES recipe_manager.recipes (id) ON DELETE CASCADE,
  user_id    bigint NOT NULL REFERENCES recipe_manager.users (id) ON DELETE CASCADE,
  rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  comment    text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS reviews_recipe_id_idx ON recipe_manager.reviews (recipe_id);
CREATE INDEX IF NOT EXISTS reviews_user_id_idx ON recipe_manager.reviews (user_id);
`;

const ANALYZE_SQL =
  'ANALYZE recipe_manager.users, recipe_manager.recipes, recipe_manager.ingredients, recipe_manager.reviews';

async function populateDemoData(client: pg.Client, recipes: number, users: number): Promise<void> {
  // Without recipes nothing refers to these rows; restarting the identities lets the generators
  // below address users as 1..N.
  await client.query(
    'TRUNCATE recipe_manager.reviews, recipe_manager.ingredients, recipe_manager.recipes, recipe_manager.users RESTART IDENTITY',
  );
  // A fixed seed: every demo database holds the same data, which keeps test failures reproducible.
  await client.query('SELECT setseed(0.4242)');
  await client.query(`
    CREATE FUNCTION pg_temp.pick(items text[]) RETURNS text LANGUAGE sql VOLATILE
    AS $$ SELECT items[1 + floor(random() * cardinality(items))::int] $$`);

  await client.query(
    `WITH people AS MATERIALIZED (
       SELECT g.i, pg_temp.pick($2) AS first_name, pg_temp.pick($3) AS last_name, pg_temp.pick($4) AS domain,
              now() - random() * interval '1095 days' AS created_at
       FROM generate_series(1, $1::int) AS g(i)
     )
     INSERT INTO recipe_manager.users (username, email, display_name, created_at)
     SELECT lower(first_name || '.' || last_name) || i,
            lower(first_name || '.' || last_name) || i || '@' || domain,
            first_name || ' ' || last_name,
            created_at
     FROM people ORDER BY created_at`,
    [users, FIRST_NAMES, LAST_NAMES, EMAIL_DOMAINS],
  );

  await client.query(
    `WITH picked AS MATERIALIZED (
       SELECT 1 + floor(power(random(), 2) * $2::int)::int AS user_id, -- a few prolific authors
              pg_temp.pick($3) AS adjective, pg_temp.pick($4) AS flavour, pg_temp.pick($5) AS main,
              pg_temp.pick($6) AS dish, pg_temp.pick($7) AS cuisine, pg_temp.pick($8) AS technique,
              random() AS age, random() AS edit
       FROM generate_series(1, $1::int)
     ), dated AS (
       SELECT p.*, u.created_at + p.age * (now() - u.created_at) AS created_at
       FROM picked p JOIN recipe_manager.users u ON u.id = p.user_id
     )
     INSERT INTO recipe_manager.recipes
       (user_id, title, description, cuisine, difficulty, prep_minutes, cook_minutes, servings, instructions, created_at, updated_at)
     SELECT user_id,
            concat_ws(' ', adjective, flavour, main, dish),
            format('%s %s %s built around %s and %s.', adjective, cuisine, lower(dish), lower(main), lower(flavour)),
            cuisine,
            (ARRAY['easy', 'easy', 'medium', 'medium', 'hard'])[1 + floor(random() * 5)::int],
            5 * (1 + floor(random() * 8)::int),
            5 * floor(random() * 25)::int,
            (ARRAY[1, 2, 2, 4, 4, 4, 6, 8, 12])[1 + floor(random() * 9)::int],
            format(E'1. Prepare the %s and measure out the rest of the ingredients.\\n2. %s the %s with the %s.\\n3. Build the %s, taste, and adjust the seasoning.\\n4. Serve warm.',
                   lower(main), technique, lower(main), lower(flavour), lower(dish)),
            created_at,
            created_at + edit * edit * (now() - created_at)
     FROM dated ORDER BY created_at`,
    [recipes, users, ADJECTIVES, FLAVOURS, MAINS, DISHES, CUISINES, TECHNIQUES],
  );

  // Consecutive items from a per-recipe offset: no ingredient twice in one recipe.
  await client.query(
    `WITH lines AS MATERIALIZED (
       SELECT r.id AS recipe_id, n.position,
              ($1::text[])[(1 + (r.id * 7919 + n.position) % cardinality($1::text[]))::int] AS item,
              random() AS amount
       FROM recipe_manager.recipes r
       CROSS JOIN LATERAL generate_series(1, 5 + (r.id % 8)::int) AS n(position)
     )
     INSERT INTO recipe_manager.ingredients (recipe_id, position, name, quantity, unit)
     SELECT recipe_id, position, split_part(item, '|', 1),
            CASE WHEN split_part(item, '|', 2) IN ('pinch', 'to taste') THEN NULL
                 ELSE round((0.25 + amount * 3.75) * 4) / 4 END,
            split_part(item, '|', 2)
     FROM lines`,
    [INGREDIENTS],
  );

  await client.query(
    `WITH picked AS MATERIALIZED (
       SELECT r.id AS recipe_id, r.created_at AS recipe_created,
              1 + floor(random() * $1::int)::int AS user_id,
              (ARRAY[5, 5, 5, 5, 4, 4, 4, 3, 3, 2, 1])[1 + floor(random() * 11)::int] AS rating,
              random() AS wording, random() AS age
       FROM recipe_manager.recipes r
       CROSS JOIN LATERAL generate_series(1, (r.id * 37 % 7)::int)
     )
     INSERT INTO recipe_manager.reviews (recipe_id, user_id, rating, comment, created_at)
     SELECT recipe_id, user_id, rating,
            CASE WHEN wording < 0.15 THEN NULL -- some people only leave stars
                 ELSE ($2::text[])[(rating - 1) * 4 + 1 + floor((wording - 0.15) / 0.85 * 4)::int] END,
            recipe_created + age * (now() - recipe_created)
     FROM picked ORDER BY 5`,
    [users, REVIEW_COMMENTS.flat()],
  );
}


// ---------------------------------------------------------------------------------------------
// Word lists

const FIRST_NAMES = [
  'Ada', 'Amara', 'Ben', 'Carla', 'Chen', 'Dana', 'Diego', 'Elif', 'Emma', 'Farah', 'Finn', 'Grace', 'Hana',
  'Hugo', 'Ines', 'Ivan', 'Jamal', 'Julia', 'Kai', 'Lena', 'Leo', 'Maya', 'Mateo', 'Nadia', 'Noah', 'Olga',
  'Omar', 'Priya', 'Quinn', 'Rosa', 'Sam', 'Sofia', 'Tariq', 'Uma', 'Victor', 'Wen', 'Yara', 'Zoe',
];
const LAST_NAMES = [
  'Adams', 'Baker', 'Costa', 'Dubois', 'Evans', 'Fischer', 'Garcia', 'Hansen', 'Ibrahim', 'Jensen', 'Kim',
  'Lopez', 'Martin', 'Nakamura', 'Okafor', 'Patel', 'Quintero', 'Rossi', 'Schmidt', 'Tanaka', 'Ueda',
  'Varga', 'Walker', 'Xu', 'Yilmaz', 'Zhang',
];
const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example.com', 'kitchen.example'];
const ADJECTIVES = [
  'Smoky', 'Creamy', 'Spicy', 'Crispy', 'Zesty', 'Hearty', 'Roasted', 'Grilled', 'Slow-Cooked', 'Tangy',
  'Golden', 'Rustic', 'Honey-Glazed', 'Garlicky', 'Herbed', 'Charred', 'Sticky', 'Fresh', 'Braised', 'Quick',
];
const FLAVOURS = [
  'Chipotle', 'Lemon', 'Ginger', 'Miso', 'Basil', 'Coconut', 'Sesame', 'Harissa', 'Maple', 'Cajun',
  'Teriyaki', 'Pesto', 'Paprika', 'Cumin', 'Rosemary', 'Lime', 'Gochujang', 'Tahini', 'Tamarind', 'Dill',
];
const MAINS = [
  'Black Bean', 'Chicken', 'Salmon', 'Tofu', 'Mushroom', 'Sweet Potato', 'Lentil', 'Shrimp', 'Beef',
  'Chickpea', 'Pork', 'Eggplant', 'Cauliflower', 'Halloumi', 'Turkey', 'Cod', 'Butternut Squash', 'Lamb',
];
const DISHES = [
  'Chili', 'Tacos', 'Curry', 'Stew', 'Salad', 'Soup', 'Risotto', 'Bowl', 'Pasta', 'Stir-Fry', 'Casserole',
  'Skewers', 'Flatbread', 'Burgers', 'Noodles', 'Traybake', 'Wraps', 'Pie',
];
const CUISINES = [
  'Mexican', 'Italian', 'Indian', 'Japanese', 'Thai', 'Moroccan', 'Korean', 'Greek', 'Lebanese', 'American',
  'French', 'Vietnamese', 'Spanish', 'Ethiopian', 'Peruvian',
];
const TECHNIQUES = ['Sear', 'Roast', 'Simmer', 'Grill', 'Toss', 'Braise', 'Saute', 'Bake', 'Steam', 'Marinate'];
/** name|unit */
const INGREDIENTS = [
  'olive oil|tbsp', 'garlic|clove', 'yellow onion|whole', 'red onion|whole', 'black beans|can', 'chipotle in adobo|tbsp',
  'ground cumin|tsp', 'smoked paprika|tsp', 'sea salt|pinch', 'black pepper|to taste', 'chicken thighs|lb',
  'salmon fillet|piece', 'firm tofu|block', 'cremini mushrooms|oz', 'sweet potato|whole', 'red lentils|cup',
  'shrimp|lb', 'ground beef|lb', 'chickpeas|can', 'eggplant|whole', 'cauliflower|head', 'halloumi|oz',
  'crushed tomatoes|can', 'tomato paste|tbsp', 'coconut milk|can', 'vegetable stock|cup', 'chicken stock|cup',
  'basmati rice|cup', 'arborio rice|cup', 'spaghetti|oz', 'rice noodles|oz', 'corn tortillas|piece',
  'fresh ginger|tbsp', 'soy sauce|tbsp', 'white miso|tbsp', 'sesame oil|tsp', 'maple syrup|tbsp', 'honey|tbsp',
  'lime|whole', 'lemon|whole', 'fresh cilantro|cup', 'fresh basil|cup', 'parsley|cup', 'rosemary|sprig',
  'butter|tbsp', 'heavy cream|cup', 'greek yogurt|cup', 'feta|oz', 'parmesan|cup', 'baby spinach|cup',
  'bell pepper|whole', 'jalapeno|whole', 'zucchini|whole', 'carrot|whole', 'celery|stalk', 'frozen peas|cup',
  'tahini|tbsp', 'harissa|tbsp', 'gochujang|tbsp', 'rice vinegar|tbsp', 'brown sugar|tbsp', 'chili flakes|pinch',
];
/** Four comments per rating, 1 to 5 stars. */
const REVIEW_COMMENTS = [
  ['Did not work for me at all.', 'Way too salty, will not make again.', 'The timings are wrong; it burned.', 'Bland and watery.'],
  ['Needed a lot more seasoning.', 'Took twice as long as stated.', 'Okay, but not worth the effort.', 'Texture was off.'],
  ['Decent weeknight option.', 'Good base, I added more spice.', 'Fine, nothing special.', 'Kids liked it, I found it plain.'],
  ['Really tasty, will make again.', 'Great flavours, a bit fiddly.', 'Doubled the garlic, loved it.', 'Solid recipe, clear steps.'],
  ['Absolutely delicious!', 'New family favourite.', 'Perfect as written.', 'Made it three times this month.'],
];
