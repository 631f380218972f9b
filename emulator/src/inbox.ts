/**
 * Inboxes that stand in for Slack, Teams, Discord or a webhook endpoint during development and
 * tests (emulator/README.md, "Inboxes"): each keeps what was posted to it and answers as told.
 */

/** One request an inbox received. */
export interface InboxMessage {
  inbox: string;
  at: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
}

/** How an inbox answers its next requests, in order; once they are used up, 200. */
export interface InboxAnswer {
  status: number;
  /** Sent as `Retry-After` (seconds). */
  retryAfter?: number;
  body?: string;
}

/** Messages kept per inbox (the oldest go first), and the largest body kept. */
export const INBOX_KEPT = 500;
export const INBOX_BODY_BYTES = 256 * 1024;

export class Inboxes {
  readonly #messages = new Map<string, InboxMessage[]>();
  readonly #answers = new Map<string, InboxAnswer[]>();

  receive(message: InboxMessage): InboxAnswer {
    const list = this.#messages.get(message.inbox) ?? [];
    list.push(message);
    if (list.length > INBOX_KEPT) list.splice(0, list.length - INBOX_KEPT);
    this.#messages.set(message.inbox, list);
    return this.#answers.get(message.inbox)?.shift() ?? { status: 200, body: "ok" };
  }

  messages(inbox?: string): InboxMessage[] {
    if (inbox !== undefined) return [...(this.#messages.get(inbox) ?? [])];
    return [...this.#messages.values()].flat().sort((a, b) => a.at - b.at);
  }

  /** Replaces what the inbox answers next. */
  answer(inbox: string, answers: InboxAnswer[]): void {
    this.#answers.set(inbox, [...answers]);
  }

  clear(): void {
    this.#messages.clear();
    this.#answers.clear();
  }
}
