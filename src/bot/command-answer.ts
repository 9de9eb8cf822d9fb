/**
 * What a command answers with, beyond its one message: where it goes (a thread), what it
 * remembers once posted, other messages to redraw, a file to attach. Shared by the command table
 * and the answers that need more than a view (incidents).
 */
import type { Message } from './blocks.js';

export interface MessageEdit {
  channel: string;
  ts: string;
  message: Message;
}

export interface FileUpload {
  filename: string;
  title: string;
  content: string;
}

/** A picture that goes with the answer: on Slack one file share carrying the answer's blocks, in the console a file. */
export interface ImageAnswer {
  png: Buffer;
  filename: string;
  title: string;
  altText: string;
}

export interface CommandAnswer {
  message: Message;
  /** Called with the posted message's ts, for answers that must remember where they are. */
  posted?: (ts: string) => Promise<void>;
  /** Post the answer as a reply in this thread of the channel. */
  threadTs?: string;
  /** Other messages to redraw (an incident's root message). */
  edits?: MessageEdit[];
  /** A file to attach next to the answer (in the same thread). */
  upload?: FileUpload;
  /**
   * The result in one plain line for the incident timeline; null when the answer records its own
   * (an approval request, an incident change). Undefined: the message's text.
   */
  verdict?: string | null;
  /** The answer's picture (a chart): the message is posted with it. */
  image?: ImageAnswer;
}
