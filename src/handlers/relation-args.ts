/**
 * Table and index names as maintenance commands take them (`recipes`, `recipe_manager.recipes`),
 * and their lookup in the catalog with the refusals an operator reads: no such table, ambiguous,
 * an index where a table was meant, not the bot's to maintain. Names are plain identifiers only:
 * anything with quotes, semicolons or spaces is refused before any SQL runs (statements are built
 * from the catalog's names, quoted, never from what was typed).
 *
 *   parseRelationName('recipe_manager.recipes') // { schema: 'recipe_manager', name: 'recipes' }
 *   await resolveTable(ctx.db, { schema: null, name: 'recipes' }, { may: 'vacuum' })
 */
import type pg from 'pg';
import { findRelations, ownsDatabase, type Relation, type RelationName } from '../ops/postgres/maintenance-targets.js';
import { Refusal } from './refusal.js';

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_$]{0,62}';
const RELATION_NAME = new RegExp(`^(?:(${IDENTIFIER})\\.)?(${IDENTIFIER})$`);
export const PLAIN_IDENTIFIER = new RegExp(`^${IDENTIFIER}$`);

/** At most this many names in one command: each is a statement, one after the other. */
export const MAX_NAMES = 20;

/** The name, or the sentence saying why it is not one. */
export function parseRelationName(text: string): RelationName | string {
  const match = RELATION_NAME.exec(text);
  if (!match) {
    return `"${text.slice(0, 40)}" is not a table or index name: use letters, digits and _ (name or schema.name)`;
  }
  return { schema: match[1] ?? null, name: match[2] as string };
}

/** `schema.name`, as the operator reads and types it. */
export function qualifiedName(relation: Pick<Relation, 'schema' | 'name'>): string {
  return `${relation.schema}.${relation.name}`;
}

function typed(name: RelationName): string {
  return name.schema ? `${name.schema}.${name.name}` : name.name;
}

const TABLE_KINDS = new Set(['table', 'partitioned table', 'materialized view']);
const INDEX_KINDS = new Set(['index', 'partitioned index']);

/** What the bot's role must be allowed for each kind of work. */
export type Permission = 'vacuum' | 'analyze' | 'vacuum full' | 'reindex' | 'create an index on' | 'drop' | 'check';

/** One relation of the wanted kind, or a Refusal that says what is wrong. */
export async function resolveRelation(
  db: pg.Pool,
  name: RelationName,
  options: { want: 'table' | 'index' | 'table or index'; may: Permission },
): Promise<Relation> {
  const all = await findRelations(db, name);
  const wanted = all.filter((r) =>
    options.want === 'table' ? TABLE_KINDS.has(r.kind) : options.want === 'index' ? INDEX_KINDS.has(r.kind) : true,
  );
  if (wanted.length === 0) {
    const other = all[0];
    if (other) throw new Refusal(`\`${qualifiedName(other)}\` is ${article(other.kind)} ${other.kind}, not ${article(options.want)} ${options.want}; nothing was done.`);
    throw new Refusal(`There is no ${options.want} \`${typed(name)}\` in this database (outside the system schemas); nothing was done.`);
  }
  if (wanted.length > 1) {
    throw new Refusal(`\`${typed(name)}\` is ambiguous: say which one of ${wanted.map((r) => `\`${qualifiedName(r)}\``).join(', ')}; nothing was done.`);
  }
  const relation = wanted[0] as Relation;
  if (!(await mayMaintain(db, relation, options.may))) {
    throw new Refusal(
      `The bot's database role does not own \`${qualifiedName(relation)}\`, so PostgreSQL will not let it ${options.may} it: make the role its owner (or a member of the owning role); nothing was done.`,
    );
  }
  return relation;
}

/** The owner may do everything; the database owner may also VACUUM and ANALYZE any table. */
export async function mayMaintain(db: pg.Pool, relation: Relation, may: Permission): Promise<boolean> {
  // amcheck checks no ownership: its EXECUTE grants are the permission.
  if (relation.owned || may === 'check') return true;
  return (may === 'vacuum' || may === 'analyze') && (await ownsDatabase(db));
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/** Parses each positional word as a name; the first bad one is the zod issue. */
export function parseRelationNames(words: readonly string[], addIssue: (message: string) => void): RelationName[] | null {
  if (words.length > MAX_NAMES) {
    addIssue(`takes at most ${MAX_NAMES} names at once`);
    return null;
  }
  const names: RelationName[] = [];
  for (const word of words) {
    const parsed = parseRelationName(word);
    if (typeof parsed === 'string') {
      addIssue(parsed);
      return null;
    }
    if (!names.some((n) => n.schema === parsed.schema && n.name === parsed.name)) names.push(parsed);
  }
  return names;
}
