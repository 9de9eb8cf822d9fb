/**
 * Running a handler the way the bot does after parsing a command line, for handler tests that
 * assert on its typed result.
 *
 *   const result = await runHandler(activeHandler, handlerContext(services), { flags: { 'older-than': '1s' } });
 *   expect(argsProblem(activeHandler, { positional: ['10m'] })).toBe('takes no arguments, only --older-than D');
 */
import type { z } from 'zod';
import type { Handler, HandlerContext } from '../../src/handlers/handler.js';

export interface Words {
  positional?: string[];
  flags?: Record<string, string | true>;
  text?: string;
}

const raw = (words: Words) => ({ positional: words.positional ?? [], flags: words.flags ?? {}, text: words.text ?? '' });

export function runHandler<Args, Result>(handler: Handler<Args, Result>, ctx: HandlerContext, words: Words = {}): Promise<Result> {
  return handler.run(handler.args.parse(raw(words)), ctx);
}

/** The sentence the user is told (with the usage) for these words; undefined when they parse. */
export function argsProblem(handler: { args: z.ZodType<unknown> }, words: Words): string | undefined {
  const parsed = handler.args.safeParse(raw(words));
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
}
