// What the route handlers need from the local Discord, so each concern's file can be read apart.
import type { AttachmentStore, FileInput, LocalMessage, MessageInteraction } from "./messages.ts";
import type { LocalChannel, LocalUser } from "./world.ts";

export interface PostOptions {
  /** 0 default, 19 reply, 20 a slash command's response. */
  readonly type?: number;
  readonly interaction?: MessageInteraction;
  readonly referencedId?: string;
  /** Set on messages only the interacting user sees (flag 64) or "thinking…" ones (flag 128). */
  readonly flags?: number;
  /** An interaction's deferred answer has no content yet. */
  readonly allowEmpty?: boolean;
}

export interface Site {
  readonly application: { readonly id: string; readonly token: string };
  readonly bot: LocalUser;
  readonly attachments: AttachmentStore;
  /** Posts a bot's (or user's) message into a channel, thread or DM and tells the gateway. */
  post(channel: LocalChannel, author: LocalUser, body: Record<string, any>, files: FileInput[], options?: PostOptions): LocalMessage;
  /** Applies an edit and tells the gateway. */
  edit(message: LocalMessage, body: Record<string, any>, files: FileInput[]): void;
  remove(message: LocalMessage): void;
}
