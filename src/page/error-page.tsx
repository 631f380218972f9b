import type { Context } from "hono";
import type { ApiError } from "../api/errors";
import { API_PREFIX } from "../api/resources";
import { q } from "./components";
import { sentence } from "./form";
import { Layout, PAGE_NAME } from "./layout";

/**
 * Errors of the page's own routes, as pages. A browser asks for HTML on every navigation and form
 * post, and gets the page's layout, a heading, what went wrong and a way back. The API under
 * /v1-webhooks, and any client that does not ask for HTML, keep the Rancher envelope.
 */
export function wantsPage(c: Context): boolean {
  return isPagePath(c.req.path) && (c.req.header("accept") ?? "").includes("text/html");
}

/** Every path outside the API's is the page's. */
export const isPagePath = (path: string): boolean =>
  path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`);

const HEADINGS: Readonly<Record<number, string>> = {
  401: "Sign in with a Rancher API key",
  403: "Not allowed",
  404: "Not found",
  413: "The form is too large",
  503: "Rancher cannot be reached",
};

const heading = (status: number) =>
  HEADINGS[status] ?? (status >= 500 ? "Something went wrong" : "This request could not be handled");

/** The same request, to try again: only a GET can be repeated by a link. */
const retryUrl = (c: Context) => {
  if (c.req.method !== "GET") return undefined;
  const url = new URL(c.req.url);
  return `${url.pathname}${url.search}`;
};

export function pageErrorResponse(c: Context, error: ApiError): Response | Promise<Response> {
  const projectId = c.req.query("projectId") || undefined;
  const retry = error.status === 401 || error.status >= 500 ? retryUrl(c) : undefined;
  const message = sentence(error.message);
  return c.html(
    <Layout title={heading(error.status)} projectId={projectId}>
      <h1>{heading(error.status)}</h1>
      <p class="alert">{/[.!?]$/.test(message) ? message : `${message}.`}</p>
      {error.status === 503 ? <p>This is usually brief: try again in a few seconds.</p> : null}
      <p class="actions">
        {retry ? (
          <a class="button primary" href={retry}>
            {error.status === 401 ? "Sign in again" : "Try again"}
          </a>
        ) : null}
        <a href={projectId ? `/?${q(projectId)}` : "/"}>← {PAGE_NAME}</a>
      </p>
    </Layout>,
    error.status,
    error.headers,
  );
}
