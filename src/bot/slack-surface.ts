/**
 * Everything Slack has to know about this bot, in one place: the slash command, the shortcut, the
 * events and the button ids it listens for, and the bot scopes each Web API method it calls needs.
 * manifest.yml declares the same; test/manifest.test.ts keeps the two, and the listeners in
 * src/bot, equal.
 *
 *   app.command(SLASH_COMMAND, …); app.shortcut(ADD_TO_TIMELINE_SHORTCUT, …);
 */

export const SLASH_COMMAND = '/recipedb';
/** A message shortcut ("Add to incident timeline" in a message's menu). */
export const ADD_TO_TIMELINE_SHORTCUT = 'add_to_incident_timeline';
export const REACTION_ADDED_EVENT = 'reaction_added';
/** Someone opened the bot's App Home (Home or Messages tab). */
export const APP_HOME_OPENED_EVENT = 'app_home_opened';
export const APPROVE_ACTION = 'approval_approve';
export const REJECT_ACTION = 'approval_reject';
/** The buttons of an alert group's message (value: the group's id in the state database). */
export const ALERT_STATUS_ACTION = 'alert_status';
export const ALERT_ACTIVE_ACTION = 'alert_active';
export const ALERT_INCIDENT_ACTION = 'alert_start_incident';
export const ALERT_SILENCE_ACTION = 'alert_silence';
export const ALERT_EXPIRE_SILENCE_ACTION = 'alert_expire_silence';
export const ALERT_KILL_ACTION = 'alert_kill';
/** The Cancel button of a running maintenance operation (value: its run id). */
export const CANCEL_MAINTENANCE_ACTION = 'maintenance_cancel';

/** What the bot listens for, by Bolt listener (`app.command`, `app.shortcut`, …). Shortcuts are message shortcuts. */
export const LISTENERS = {
  command: [SLASH_COMMAND],
  shortcut: [ADD_TO_TIMELINE_SHORTCUT],
  event: [REACTION_ADDED_EVENT, APP_HOME_OPENED_EVENT],
  action: [
    APPROVE_ACTION, REJECT_ACTION, CANCEL_MAINTENANCE_ACTION,
    ALERT_STATUS_ACTION, ALERT_ACTIVE_ACTION, ALERT_INCIDENT_ACTION, ALERT_SILENCE_ACTION, ALERT_EXPIRE_SILENCE_ACTION, ALERT_KILL_ACTION,
  ],
} as const;

export type ListenerKind = keyof typeof LISTENERS;

export type BotScope =
  | 'commands'
  | 'chat:write'
  | 'chat:write.public'
  | 'reactions:read'
  | 'reactions:write'
  | 'channels:history'
  | 'groups:history'
  | 'files:write'
  | 'files:read';

/**
 * The bot scopes by what needs them (from each method's and event's page in Slack's docs). The
 * manifest asks for exactly those of the methods the code calls and the listeners it registers.
 */
export const SCOPES_NEEDED = {
  listeners: {
    command: ['commands'],
    shortcut: ['commands'],
    event: [],
    action: [],
  },
  events: {
    [REACTION_ADDED_EVENT]: ['reactions:read'],
    // "No scopes required" (https://docs.slack.dev/reference/events/app_home_opened); the manifest's app_home.home_tab_enabled turns the tab on.
    [APP_HOME_OPENED_EVENT]: [],
  },
  methods: {
    // chat:write.public: answers, scheduled-backup reports, alert messages and incident threads may go to public channels nobody invited the bot to.
    'chat.postMessage': ['chat:write', 'chat:write.public'],
    'chat.update': ['chat:write'],
    'chat.postEphemeral': ['chat:write'],
    // "No scope required" (https://api.slack.com/methods/chat.getPermalink).
    'chat.getPermalink': [],
    'reactions.add': ['reactions:write'],
    // The pinned message's text: public channels, and private ones (groups) the bot was invited to.
    'conversations.history': ['channels:history', 'groups:history'],
    // The WebClient helper: files.getUploadURLExternal and files.completeUploadExternal (incident documents, charts).
    filesUploadV2: ['files:write'],
    // The App Home picture: waiting until Slack has processed it (an image block may not name it before).
    'files.info': ['files:read'],
    // The App Home picture it replaces: the bot deletes its own file.
    'files.delete': ['files:write'],
    // "No scopes required" (https://docs.slack.dev/reference/methods/views.publish): the App Home tab.
    'views.publish': [],
  },
} as const satisfies {
  listeners: Record<ListenerKind, readonly BotScope[]>;
  events: Record<(typeof LISTENERS.event)[number], readonly BotScope[]>;
  methods: Record<string, readonly BotScope[]>;
};
