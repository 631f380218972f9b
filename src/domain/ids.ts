/** Crockford base32, lower case: sortable, unambiguous, URL-safe. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * A 26-character id whose first 10 characters encode the creation time in milliseconds, so ids
 * sort by creation time (KV lists keys in lexicographic order) and the rest is 80 random bits.
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  let rest = "";
  for (const byte of random) rest += ALPHABET[byte % 32];
  return `${prefix}${time}${rest}`;
}

export const isoDate = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Rancher ids go into Cattle URLs and storage keys: a strict alphabet keeps both unambiguous. */
export const RESOURCE_ID = /^[0-9A-Za-z]{1,64}$/;
