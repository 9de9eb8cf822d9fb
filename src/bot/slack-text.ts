/**
 * What someone wrote in Slack, as plain text: Slack's markup for mentions (`<@U123|bob>`, `<!subteam^S1|dba>`,
 * `<#C1|ops>`) becomes `@U123`, `@S1`, `#ops`, then the &, < and > that Slack escaped are restored.
 * Handlers and the store see plain text only; the views turn ids back into mentions.
 */
export function plainSlackText(text: string): string {
  return text
    .replace(/<@([UW][A-Z0-9_]+)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<!subteam\^([A-Z0-9_]+)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<#([CG][A-Z0-9_]+)\|([^>]*)>/g, '#$2')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
