import type { Child, FC } from "hono/jsx";

export interface Environment {
  id: string;
  name: string;
}

export interface Chrome {
  title: string;
  environments: Environment[];
  projectId: string;
  /** Where the environment picker sends the user (the list, for every page). */
  children?: Child;
}

/** The page shell: header with the environment picker, one main region, the shared assets. */
export const Layout: FC<Chrome> = ({ title, environments, projectId, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light dark" />
      <title>{title} · Receiver Hooks</title>
      <link rel="stylesheet" href="/assets/page.css" />
      <script src="/assets/page.js" defer />
    </head>
    <body>
      <header>
        <a class="brand" href={`/?projectId=${encodeURIComponent(projectId)}`}>
          Rancher · API · Webhooks
        </a>
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
      </header>
      <main>{children}</main>
    </body>
  </html>
);
