/**
 * The most characters of what a client sent that any one text of an answer repeats back: a value
 * shown again in a form, an error message, an execution's reason (docs/security.md). A request of
 * tens of kilobytes then never makes an answer, a page or a history row as large.
 */
export const MAX_ECHO_CHARS = 1024;

/** `text` cut to `max` characters, saying how long it was. */
export const clipEcho = (text: string, max = MAX_ECHO_CHARS): string =>
  text.length > max ? `${text.slice(0, max)}…(${text.length} characters)` : text;
