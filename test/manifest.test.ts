/**
 * manifest.yml against the rules Slack documents for app manifests, and against the code: what the
 * bot listens for and which Web API methods it calls (src/bot/slack-surface.ts is the one list).
 *
 * Limits: Slack's published manifest schema, slackapi/manifest-schema
 * schemas/manifest.schema.1.0.0.json (https://github.com/slackapi/manifest-schema), which agrees with
 * the App manifest reference (https://docs.slack.dev/reference/app-manifest) and with the comments of
 * @slack/web-api's Manifest type. Scope names: https://docs.slack.dev/reference/scopes.
 * The schema is not on npm; its rules for the parts this app uses are written out below.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import * as surface from '../src/bot/slack-surface.js';
import { LISTENERS, SCOPES_NEEDED, type ListenerKind } from '../src/bot/slack-surface.js';
import { COMMANDS } from '../src/bot/commands.js';

const root = path.resolve(import.meta.dirname, '..');
const text = (length: { min?: number; max: number }) => z.string().min(length.min ?? 1).max(length.max);
const httpsUrl = z.string().max(3_500).regex(/^https:\/\//, 'must be an https URL');
/** Allowed but not used here: present only so that a misspelt key is refused, as Slack refuses it. */
const other = z.unknown().optional();

// The v1 schema's rules (additionalProperties: false everywhere, hence strictObject).
const manifestSchema = z.strictObject({
  $schema: other,
  _metadata: other,
  app_directory: other,
  display_information: z.strictObject({
    name: text({ max: 35 }),
    description: text({ max: 140 }).optional(),
    long_description: text({ min: 175, max: 4_000 }).optional(),
    background_color: z.string().regex(/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/).optional(),
  }),
  features: z
    .strictObject({
      bot_user: z
        .strictObject({
          // Allowed characters per @slack/web-api's ManifestBotUser: a-z, 0-9, -, _ and .
          display_name: text({ max: 80 }).regex(/^[a-z0-9._-]+$/, 'only a-z, 0-9, -, _ and .'),
          always_online: z.boolean().optional(),
        })
        .optional(),
      slash_commands: z
        .array(
          z.strictObject({
            // Schema: 2–32 characters starting with "/". Lowercase and no spaces: a space ends the command
            // where it is typed, and Slack matches commands in lowercase.
            command: text({ min: 2, max: 32 }).regex(/^\/[a-z0-9_-]+$/, 'must start with / and be lowercase without spaces'),
            url: httpsUrl.max(3_000).optional(),
            description: text({ max: 2_000 }),
            usage_hint: text({ max: 1_000 }).optional(),
            should_escape: z.boolean().optional(),
          }),
        )
        .min(1)
        .max(50)
        .optional(),
      shortcuts: z
        .array(
          z.strictObject({
            name: text({ max: 24 }),
            type: z.enum(['message', 'global']),
            callback_id: text({ max: 255 }),
            description: text({ max: 150 }),
          }),
        )
        .min(1)
        .max(10)
        .optional(),
      app_home: z
        .strictObject({
          home_tab_enabled: z.boolean().optional(),
          messages_tab_enabled: z.boolean().optional(),
          messages_tab_read_only_enabled: z.boolean().optional(),
        })
        .optional(),
      functions: other,
      workflow_steps: other,
      unfurl_domains: other,
      assistant_view: other,
    })
    .optional(),
  oauth_config: z
    .strictObject({
      scopes: z
        .strictObject({
          bot: z.array(z.string().max(50)).max(255).optional(),
          user: z.array(z.string().max(50)).max(255).optional(),
          bot_optional: other,
          user_optional: other,
        })
        .optional(),
      redirect_urls: other,
      token_management_enabled: other,
      pkce_enabled: other,
    })
    .optional(),
  settings: z
    .strictObject({
      event_subscriptions: z
        .strictObject({
          request_url: httpsUrl.optional(),
          bot_events: z.array(z.string().max(50)).max(100).optional(),
          user_events: z.array(z.string().max(50)).max(100).optional(),
          metadata_subscriptions: other,
        })
        .optional(),
      interactivity: z
        .strictObject({
          is_enabled: z.boolean(),
          request_url: httpsUrl.optional(),
          message_menu_options_url: httpsUrl.optional(),
        })
        .optional(),
      socket_mode_enabled: z.boolean().optional(),
      org_deploy_enabled: z.boolean().optional(),
      token_rotation_enabled: z.boolean().optional(),
      is_hosted: z.boolean().optional(),
      allowed_ip_address_ranges: other,
      incoming_webhooks: other,
      siws_links: other,
      hermes_app_type: other,
      function_runtime: other,
      is_mcp_enabled: other,
    })
    .optional(),
  functions: other,
  workflows: other,
  datastores: other,
  outgoing_domains: other,
  types: other,
  external_auth_providers: other,
});

/** Real Slack bot-token scope names (https://docs.slack.dev/reference/scopes), at least those plausible here. */
const KNOWN_BOT_SCOPES = new Set([
  'app_mentions:read', 'assistant:write', 'bookmarks:read', 'bookmarks:write', 'calls:read', 'calls:write',
  'canvases:read', 'canvases:write', 'channels:history', 'channels:join', 'channels:manage', 'channels:read',
  'channels:write.invites', 'channels:write.topic', 'chat:write', 'chat:write.customize', 'chat:write.public',
  'commands', 'dnd:read', 'emoji:read', 'files:read', 'files:write', 'groups:history', 'groups:read',
  'groups:write', 'groups:write.invites', 'groups:write.topic', 'im:history', 'im:read', 'im:write',
  'incoming-webhook', 'links:read', 'links:write', 'metadata.message:read', 'mpim:history', 'mpim:read',
  'mpim:write', 'pins:read', 'pins:write', 'reactions:read', 'reactions:write', 'reminders:read',
  'reminders:write', 'remote_files:read', 'remote_files:share', 'remote_files:write', 'team:read',
  'usergroups:read', 'usergroups:write', 'users.profile:read', 'users:read', 'users:read.email', 'users:write',
]);

type Manifest = z.infer<typeof manifestSchema>;

function readManifest(): Manifest {
  const parsed = manifestSchema.safeParse(parse(readFileSync(path.join(root, 'manifest.yml'), 'utf8')));
  if (!parsed.success) throw new Error(`manifest.yml breaks Slack's manifest rules:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function sourceFiles(): { file: string; source: string }[] {
  const src = path.join(root, 'src');
  return (readdirSync(src, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts'))
    .map((file) => ({ file: path.join('src', file), source: readFileSync(path.join(src, file), 'utf8') }));
}

const LISTENER_KINDS = ['command', 'shortcut', 'event', 'action', 'message', 'view', 'options'] as const;

interface Registration {
  file: string;
  kind: (typeof LISTENER_KINDS)[number];
  argument: string;
}

/** Every Bolt listener registration, on any receiver: `app.event('x', …)`, `app.action<T>(NAME, …)`. */
function findRegistrations(file: string, source: string): Registration[] {
  const pattern = new RegExp(String.raw`\b[\w$]+\.(${LISTENER_KINDS.join('|')})\s*(?:<[^()]*?>)?\s*\(\s*([^,)]+)`, 'g');
  return [...source.matchAll(pattern)].map((m) => ({ file, kind: m[1] as Registration['kind'], argument: (m[2] ?? '').trim() }));
}

const surfaceStrings = new Map<string, string>(
  Object.entries(surface).flatMap(([name, value]): [string, string][] => (typeof value === 'string' ? [[name, value]] : [])),
);

/** What the registration listens for, when it names a slack-surface constant or is a plain string; else undefined. */
function listenedFor(argument: string): string | undefined {
  const literal = /^(['"`])([^'"`]*)\1$/.exec(argument);
  if (literal) return literal[2];
  return surfaceStrings.get(argument);
}

/** The sentences saying what a registration does wrong; none when it is one slack-surface declares. */
function registrationProblems(registrations: readonly Registration[]): string[] {
  return registrations.flatMap(({ file, kind, argument }) => {
    const value = listenedFor(argument);
    if (value === undefined) return [`${file}: app.${kind}(${argument}, …) does not name a constant of src/bot/slack-surface.ts`];
    const declared: readonly string[] = kind in LISTENERS ? LISTENERS[kind as ListenerKind] : [];
    return declared.includes(value) ? [] : [`${file}: app.${kind}('${value}', …) is not in LISTENERS.${kind} of src/bot/slack-surface.ts`];
  });
}

/** The Web API methods called, on any receiver: `client.chat.postMessage(`, `client.filesUploadV2(`. */
function findMethodCalls(source: string): string[] {
  // Method families of Slack's Web API (not `apps`: the Kubernetes client has `apps.readNamespacedDeployment`).
  const families = 'chat|reactions|conversations|files|users|usergroups|views|pins|bookmarks|reminders|team|search|canvases|dnd|emoji|bots|calls|dialog|workflows|assistant|functions|stars|auth';
  const calls = [...source.matchAll(new RegExp(String.raw`\.\s*(${families})\s*\.\s*([a-zA-Z]+)\s*\(`, 'g'))].map((m) => `${m[1]}.${m[2]}`);
  const helpers = [...source.matchAll(/\.\s*(files[A-Z]\w*)\s*\(/g)].map((m) => m[1] as string);
  const raw = [...source.matchAll(/\.\s*apiCall\s*\(\s*['"`]([\w.]+)['"`]/g)].map((m) => m[1] as string);
  return [...calls, ...helpers, ...raw];
}

const sources = sourceFiles();
const registrations = sources.flatMap(({ file, source }) => findRegistrations(file, source));
const methodsCalled = new Set(sources.flatMap(({ source }) => findMethodCalls(source)));
const methodScopes: Record<string, readonly string[]> = SCOPES_NEEDED.methods;
const eventScopes: Record<string, readonly string[]> = SCOPES_NEEDED.events;

describe('manifest.yml follows Slack’s manifest rules', () => {
  const manifest = readManifest();

  it('has a name, a bot user and the /recipedb command with a description and a usage hint', () => {
    expect(manifest.display_information.name).toBe('recipedb-ops');
    expect(manifest.features?.bot_user?.display_name).toBeTruthy();
    const [command, ...others] = manifest.features?.slash_commands ?? [];
    expect(others).toEqual([]);
    expect(command?.command).toBe('/recipedb');
    expect(command?.description).toBeTruthy();
    expect(command?.usage_hint).toBeTruthy();
  });

  it('names only real commands in the usage hint', () => {
    const hint = manifest.features?.slash_commands?.[0]?.usage_hint ?? '';
    const named = hint.split(' | ').map((alternative) => alternative.trim().split(/\s+/)[0]);
    const real = new Set(COMMANDS.map((c) => c.info.name));
    expect(named.filter((name) => name === undefined || !real.has(name))).toEqual([]);
  });

  it('uses Socket Mode, where Slack wants no request URLs', () => {
    expect(manifest.settings?.socket_mode_enabled).toBe(true);
    expect(manifest.features?.slash_commands?.map((c) => c.url).filter(Boolean)).toEqual([]);
    expect(manifest.settings?.interactivity?.request_url).toBeUndefined();
    expect(manifest.settings?.event_subscriptions?.request_url).toBeUndefined();
  });

  it('asks only for known bot scopes, each once, and not the app token’s connections:write', () => {
    const scopes = manifest.oauth_config?.scopes?.bot ?? [];
    expect(scopes.filter((scope) => !KNOWN_BOT_SCOPES.has(scope))).toEqual([]);
    expect(new Set(scopes).size).toBe(scopes.length);
    expect(scopes).not.toContain('connections:write');
    expect(manifest.oauth_config?.scopes?.user ?? []).toEqual([]);
  });

  it('refuses what Slack refuses', () => {
    const valid = parse(readFileSync(path.join(root, 'manifest.yml'), 'utf8')) as Manifest;
    const broken = (change: (m: Manifest) => void) => {
      const copy = structuredClone(valid);
      change(copy);
      return manifestSchema.safeParse(copy).success;
    };
    expect(broken(() => undefined)).toBe(true);
    expect(broken((m) => void (m.display_information.name = 'x'.repeat(36)))).toBe(false);
    expect(broken((m) => void (m.features!.slash_commands![0]!.command = 'recipedb'))).toBe(false);
    expect(broken((m) => void (m.features!.slash_commands![0]!.command = '/RecipeDB'))).toBe(false);
    expect(broken((m) => void (m.features!.slash_commands![0]!.command = `/${'r'.repeat(32)}`))).toBe(false);
    expect(broken((m) => void (m.features!.slash_commands![0]!.usage_hint = 'x'.repeat(1_001)))).toBe(false);
    expect(broken((m) => void (m.features!.shortcuts![0]!.name = 'x'.repeat(25)))).toBe(false);
    expect(broken((m) => void ((m.settings as Record<string, unknown>).socket_mode_enable = true))).toBe(false);
    expect(broken((m) => void ((m.features!.app_home as Record<string, unknown>).home_tab = true))).toBe(false);
  });
});

describe('manifest.yml declares what the code listens for, and the code listens for nothing else', () => {
  const manifest = readManifest();

  it('declares the slash command, the message shortcut and the bot events of slack-surface', () => {
    expect(manifest.features?.slash_commands?.map((c) => c.command)).toEqual([...LISTENERS.command]);
    expect(manifest.features?.shortcuts?.map((s) => [s.callback_id, s.type])).toEqual(LISTENERS.shortcut.map((id) => [id, 'message']));
    expect([...(manifest.settings?.event_subscriptions?.bot_events ?? [])].sort()).toEqual([...LISTENERS.event].sort());
    expect(manifest.settings?.event_subscriptions?.user_events ?? []).toEqual([]);
  });

  it('turns interactivity on, since the bot has buttons and a shortcut', () => {
    expect(LISTENERS.action.length + LISTENERS.shortcut.length).toBeGreaterThan(0);
    expect(manifest.settings?.interactivity?.is_enabled).toBe(true);
  });

  it('turns the Home tab on exactly when the bot listens for app_home_opened', () => {
    const listens = (LISTENERS.event as readonly string[]).includes('app_home_opened');
    expect(manifest.features?.app_home?.home_tab_enabled ?? false).toBe(listens);
  });

  it('registers only listeners slack-surface declares', () => {
    expect(registrationProblems(registrations)).toEqual([]);
  });

  it('registers every listener slack-surface declares', () => {
    const registered = new Set(registrations.map((r) => `${r.kind} ${listenedFor(r.argument)}`));
    const declared = Object.entries(LISTENERS).flatMap(([kind, values]) => values.map((value) => `${kind} ${value}`));
    expect(declared.filter((listener) => !registered.has(listener))).toEqual([]);
  });

  it('would notice a listener that slack-surface does not declare', () => {
    const added = findRegistrations('src/bot/x.ts', "app.event('app_mention', async () => {});\napp.view<V>(SOME_VIEW, async () => {});");
    expect(registrationProblems(added)).toEqual([
      "src/bot/x.ts: app.event('app_mention', …) is not in LISTENERS.event of src/bot/slack-surface.ts",
      'src/bot/x.ts: app.view(SOME_VIEW, …) does not name a constant of src/bot/slack-surface.ts',
    ]);
    expect(registrationProblems(findRegistrations('src/bot/x.ts', "app.action('approval_approve', h);"))).toEqual([]);
  });
});

describe('the bot scopes are exactly those the code needs', () => {
  const manifest = readManifest();

  it('knows the scopes of every Web API method the code calls', () => {
    expect(methodsCalled.size).toBeGreaterThan(0);
    expect([...methodsCalled].filter((method) => !(method in methodScopes))).toEqual([]);
  });

  it('lists no method the code no longer calls', () => {
    expect(Object.keys(methodScopes).filter((method) => !methodsCalled.has(method))).toEqual([]);
  });

  it('asks for every scope a method, an event or a listener needs, and for nothing else', () => {
    const needed = new Set([
      ...[...methodsCalled].flatMap((method) => methodScopes[method] ?? []),
      ...LISTENERS.event.flatMap((event) => eventScopes[event] ?? []),
      ...(Object.keys(LISTENERS) as ListenerKind[]).filter((kind) => LISTENERS[kind].length > 0).flatMap((kind) => SCOPES_NEEDED.listeners[kind]),
    ]);
    expect([...(manifest.oauth_config?.scopes?.bot ?? [])].sort()).toEqual([...needed].sort());
  });

  it('finds calls however they are written', () => {
    const source = "await app.client.chat\n  .postEphemeral({});\nclient.filesUploadV2({});\nclient.apiCall('pins.add', {});\nkube.apps.readNamespacedDeployment({});";
    expect(findMethodCalls(source)).toEqual(['chat.postEphemeral', 'filesUploadV2', 'pins.add']);
  });
});
