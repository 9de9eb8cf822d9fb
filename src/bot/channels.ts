/** ALLOWED_CHANNELS: the bot answers only there (every channel when the list is empty). */
export function channelAllowed(allowed: readonly string[], channelId: string): boolean {
  return allowed.length === 0 || allowed.includes(channelId);
}

export function wrongChannel(allowed: readonly string[]): string {
  return `recipedb-ops only answers in ${allowed.map((c) => `#${c}`).join(', ')}.`;
}
