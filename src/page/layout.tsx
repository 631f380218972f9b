import type { Child, FC } from "hono/jsx";
import { raw } from "hono/utils/html";

export interface Environment {
  id: string;
  name: string;
}

/** The page's name: every document title ends with it. */
export const PAGE_NAME = "Receiver Hooks";

export interface Chrome {
  /** What this document is, before the page's name (none for the list, which is the page itself). */
  title?: string;
  /** The environments the key can see, for the picker (none on an error page: they may be unknown). */
  environments?: Environment[];
  projectId?: string;
  children?: Child;
}

/** "Add Receiver · Receiver Hooks"; the list is just "Receiver Hooks". */
export const documentTitle = (title?: string) => (title ? `${title} · ${PAGE_NAME}` : PAGE_NAME);

/** The page shell: header with the environment picker, one main region, the shared assets. */
export const Layout: FC<Chrome> = ({ title, environments, projectId, children }) => (
  <>
    {/* Without a doctype a browser lays the page out in quirks mode. */}
    {raw("<!DOCTYPE html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{documentTitle(title)}</title>
        <link rel="stylesheet" href="/assets/page.css" />
        <script src="/assets/page.js" defer />
      </head>
      <body>
        <header>
          <a class="brand" href={projectId ? `/?projectId=${encodeURIComponent(projectId)}` : "/"}>
            Rancher · API · Webhooks
          </a>
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
        </header>
        <main>{children}</main>
      </body>
    </html>
  </>
);
