import type { Child, FC } from "hono/jsx";
import { raw } from "hono/utils/html";
import type { CattleCredentials } from "../cattle/client";

export interface Environment {
  id: string;
  name: string;
}

/** The page's icon (a small SVG, served as /favicon.ico too, for browsers that ask for that). */
export const FAVICON_PATH = "/assets/favicon.svg";

/** The page's name: every document title ends with it. */
export const PAGE_NAME = "Receiver Hooks";

/**
 * Who the page is signed in as, to show in its header: a key's access key (never its secret), or
 * only that it is a Rancher session (its token is a secret).
 */
export type Identity = { accessKey: string } | { session: true };

export const identityOf = (credentials: CattleCredentials): Identity =>
  "session" in credentials ? { session: true } : { accessKey: credentials.accessKey };

export interface Chrome {
  /** What this document is, before the page's name (none for the list, which is the page itself). */
  title?: string;
  /** The environments the key can see, for the picker (none on an error page: they may be unknown). */
  environments?: Environment[];
  projectId?: string;
  /** Who is signed in (none on an error page: the credentials may be the problem). */
  identity?: Identity;
  /**
   * Reload the document every so many seconds, for a browser without JavaScript (with it, the
   * page's script refreshes what changes in place).
   */
  refreshSeconds?: number;
  children?: Child;
}

/** "Add Receiver · Receiver Hooks"; the list is just "Receiver Hooks". */
export const documentTitle = (title?: string) => (title ? `${title} · ${PAGE_NAME}` : PAGE_NAME);

/** The page shell: header with the environment picker, one main region, the shared assets. */
const SignedIn: FC<{ identity: Identity }> = ({ identity }) =>
  "accessKey" in identity ? (
    // The browser keeps a Basic key until it is closed: there is no signing out of one page.
    <span class="signed-in" title="The browser keeps this key until it is closed.">
      Key <code>{identity.accessKey}</code>
    </span>
  ) : (
    <span class="signed-in">Signed in with a Rancher session</span>
  );

export const Layout: FC<Chrome> = ({
  title,
  environments,
  projectId,
  identity,
  refreshSeconds,
  children,
}) => (
  <>
    {/* Without a doctype a browser lays the page out in quirks mode. */}
    {raw("<!DOCTYPE html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{documentTitle(title)}</title>
        <link rel="icon" href={FAVICON_PATH} type="image/svg+xml" />
        <link rel="stylesheet" href="/assets/page.css" />
        <script src="/assets/page.js" defer />
        {refreshSeconds ? (
          <noscript>
            <meta http-equiv="refresh" content={String(refreshSeconds)} />
          </noscript>
        ) : null}
      </head>
      <body>
        <header>
          <a class="brand" href={projectId ? `/?projectId=${encodeURIComponent(projectId)}` : "/"}>
            Rancher · API · Webhooks
          </a>
          <div class="session">
            {identity ? <SignedIn identity={identity} /> : null}
            {environments && environments.length > 0 ? (
              <form class="env" method="get" action="/">
                <label for="environment">Environment</label>
                <select id="environment" name="projectId" data-autosubmit>
                  {environments.map((environment) => (
                    <option value={environment.id} selected={environment.id === projectId}>
                      {environment.name}
                    </option>
                  ))}
                </select>
                <button type="submit">Switch</button>
              </form>
            ) : null}
          </div>
        </header>
        <main>{children}</main>
      </body>
    </html>
  </>
);
