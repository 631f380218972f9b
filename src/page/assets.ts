/** The page's stylesheet and script: small, static, cached, and allowed by a strict CSP. */

export const PAGE_CSS = `
:root { color-scheme: light dark; --bg: #fff; --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --accent: #0b62d6;
  --accent-fg: #fff; --danger: #b42318; --danger-fg: #fff; --ok: #067647; --row: #f6f8fb; --focus: #ffbf47; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #12161f; --fg: #e6e9ef; --muted: #9aa3b5; --line: #2c3444; --accent: #5b9dff; --accent-fg: #0b1220;
    --danger: #ff8a80; --danger-fg: #12161f; --ok: #6ee7a8; --row: #1a202c; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: center; justify-content: space-between;
  padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 600; }
header .session { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: center; }
header .signed-in code { word-break: normal; overflow-wrap: anywhere; }
main { padding: 1.25rem; max-width: 80rem; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.toolbar { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; justify-content: space-between; margin-bottom: 1rem; }
.button, button { display: inline-block; font: inherit; padding: .35rem .8rem; border-radius: 6px; border: 1px solid var(--line);
  background: var(--bg); color: var(--fg); cursor: pointer; text-decoration: none; }
.button.primary, button.primary { background: var(--accent); color: var(--accent-fg); border-color: var(--accent); }
button.danger, .button.danger { color: var(--danger); }
/* A danger button that does the deed (on a confirmation page) is filled: its text takes the fill's
   contrasting colour, in both themes, never the danger colour on the accent. */
button.primary.danger, .button.primary.danger { background: var(--danger); color: var(--danger-fg); border-color: var(--danger); }
/* A safety net: a table wider than the window scrolls on its own, never the whole page. */
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
td { overflow-wrap: break-word; }
/* Names, selectors and user agents may have no space to break at: they wrap anywhere rather than
   push the table past the window. */
td.free { overflow-wrap: anywhere; }
tbody tr:nth-child(even) { background: var(--row); }
/* A receiver's name is one word to its reader: it never breaks at its hyphens ("scale-" / "web"), and
   a name longer than its line breaks at the line's end, wherever that falls. */
.receiver-name { line-break: anywhere; }
/* In the table, room for a usual name on one line, however crowded the other columns are. */
td.name { min-width: 9rem; }
code { font: .85em ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
.url { display: flex; gap: .4rem; align-items: center; }
.url code { display: block; min-width: 0; max-width: 16rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.url button { flex: none; }
.nowrap { white-space: nowrap; }
.options { display: flex; flex-wrap: wrap; gap: .35rem; }
.options form { margin: 0; }
.options .button, .options button { white-space: nowrap; }
.state { display: inline-block; white-space: nowrap; overflow-wrap: normal; padding: 0 .5rem; border-radius: 999px; border: 1px solid currentColor; color: var(--ok); font-size: .85em; }
.muted { color: var(--muted); }
.outcome-failed, .outcome-cooldown, .outcome-rolledBack { color: var(--danger); }
/* A push's execution lists each service's upgrade under its reason: the images, the steps with their
   times (the one it is at now marked while the execution goes on), and why it ended as it did. */
.upgrades { list-style: none; margin: .5rem 0 0; padding: 0; display: grid; gap: .6rem; }
.upgrade { border-left: 3px solid var(--line); padding-left: .6rem; min-width: 0; }
.upgrade p { margin: 0; }
.upgrade .steps { margin: .2rem 0 0; padding-left: 1.4rem; }
.upgrade .current { font-weight: 600; }
.upgrade .now { display: inline-block; margin-left: .4rem; padding: 0 .45rem; border-radius: 999px; border: 1px solid currentColor;
  color: var(--accent); font-size: .8em; font-weight: 400; }
.upgrade .problem { color: var(--danger); }
[role="status"] { padding: .6rem .9rem; border: 1px solid var(--ok); border-radius: 6px; margin-bottom: 1rem; }
.alert { padding: .6rem .9rem; border: 1px solid var(--danger); border-radius: 6px; margin-bottom: 1rem; color: var(--danger); }
form.receiver { display: grid; gap: 1rem; max-width: 36rem; }
.field { display: grid; gap: .25rem; align-content: start; min-width: 0; }
.field label { font-weight: 600; }
.field textarea { width: 100%; font: .9rem ui-monospace, monospace; padding: .4rem .5rem; border-radius: 6px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); }
.field.checkbox { align-content: end; }
.field.checkbox label { font-weight: 400; display: flex; gap: .5rem; align-items: baseline; }
.field.checkbox input { width: auto; flex: none; margin: 0; padding: 0; }
/* A select whose options' words are long takes the row's whole width, so the chosen one shows whole;
   its row then stacks its fields. */
.row:has(> .field.wide) { grid-template-columns: minmax(0, 1fr); }
.field input, .field select { width: 100%; min-width: 0; font: inherit; padding: .4rem .5rem; border-radius: 6px; border: 1px solid var(--line);
  background: var(--bg); color: var(--fg); }
.field [aria-invalid="true"] { border-color: var(--danger); }
.field-error { color: var(--danger); margin: 0; font-size: .9rem; }
.hint { color: var(--muted); font-size: .85rem; margin: 0; }
.option-hints { list-style: none; padding: 0; margin: .25rem 0 0; }
.row { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: 1rem; }
.row:not(:has(> :not([hidden]))) { display: none; }
.kind-switch { margin: 0; display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.actions { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
fieldset { border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem 1rem; display: grid; gap: 1rem; }
legend { padding: 0 .35rem; font-weight: 600; }
.env { display: flex; gap: .5rem; align-items: center; }
.env select { font: inherit; padding: .25rem .4rem; }
.filter { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 0 0 1rem; }
.filter select { font: inherit; padding: .25rem .4rem; }
.refreshing { margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .75rem; }
.links { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; }
/* Notifications: a delivery's status in the outcome's colours, the signing secrets a save made set
   apart (shown once, so they must not be missed), each outcome's checkbox before its word. */
.delivery-failed { color: var(--danger); }
.delivery-delivered { color: var(--ok); }
.secrets { border: 1px solid var(--accent); border-radius: 8px; padding: .25rem 1rem .75rem; margin-bottom: 1rem; }
.secrets h2 { margin-top: .75rem; }
.secrets dt { font-weight: 600; }
.secrets dd { margin: .25rem 0 .75rem; }
.secret { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
.secret code { font-size: .95em; min-width: 0; }
fieldset.outcomes { border: 0; padding: 0; margin: 0; min-width: 0; display: grid; gap: .35rem; }
fieldset.outcomes legend { padding: 0; margin-bottom: .25rem; font-weight: 600; }
.choices { display: flex; flex-wrap: wrap; gap: .35rem 1.1rem; }
.choices label { display: inline-flex; gap: .35rem; align-items: baseline; }
.choices input { margin: 0; }
/* Narrow windows: each table row becomes a card, every value under its column's name. */
@media (max-width: 64rem) {
  table.stack, table.stack tbody, table.stack tr { display: block; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack tr { border: 1px solid var(--line); border-radius: 8px; padding: .35rem .75rem; margin-bottom: .75rem; }
  /* The column's name floats in the cell's left padding; flow-root keeps a two-line name inside the cell. */
  table.stack td { display: flow-root; padding: .35rem 0 .35rem 8.25rem; border-bottom: 0; border-top: 1px solid var(--line); }
  table.stack td:first-child { border-top: 0; }
  table.stack td:empty { display: none; }
  table.stack td::before { content: attr(data-label); float: left; width: 7.5rem; margin: .1rem 0 0 -8.25rem;
    font-size: .8rem; line-height: 1.3; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
  table.stack td.nowrap { white-space: normal; }
  table.stack td.name { font-weight: 600; }
  /* A Trigger URL is long (a signed token): two lines of it, the rest behind Copy and the tooltip. */
  table.stack .url { align-items: start; }
  table.stack .url code { max-width: none; white-space: normal; display: -webkit-box; -webkit-box-orient: vertical;
    -webkit-line-clamp: 2; line-clamp: 2; }
}
@media (max-width: 40rem) {
  header, main { padding: .75rem; }
  table.stack td { padding-left: 6.75rem; }
  table.stack td::before { width: 6rem; margin-left: -6.75rem; }
  .toolbar h1 { width: 100%; margin-bottom: 0; }
}
`;

/** The page's icon: a hook on the accent's blue, legible in both themes' tab bars. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="7" fill="#0b62d6"/>
<path d="M19 6v13a5 5 0 0 1-10 0v-2" fill="none" stroke="#fff" stroke-width="3.5" stroke-linecap="round"/>
<path d="M6.5 19.5 9 15.5l2.5 4" fill="none" stroke="#fff" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
`;

export const PAGE_JS = `
"use strict";
document.addEventListener("click", async (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const copy = target && target.closest("button[data-copy]");
  if (copy) {
    const text = copy.getAttribute("data-copy") || "";
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const code = document.getElementById(copy.getAttribute("aria-controls") || "");
      if (code) {
        const range = document.createRange();
        range.selectNodeContents(code);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
      }
    }
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = "Copy"; }, 2500);
    return;
  }
  const remove = target && target.closest("a[data-confirm]");
  if (remove) {
    event.preventDefault();
    if (!window.confirm(remove.getAttribute("data-confirm"))) return;
    const form = document.createElement("form");
    form.method = "post";
    form.action = remove.getAttribute("href");
    document.body.append(form);
    form.submit();
  }
});
// Show only the fields of the chosen kind, at once (without JavaScript the server shows them: the
// form's "Show this kind's fields" button, and the kind it showed, in shownKind).
const kind = document.getElementById("driver");
if (kind) {
  const shown = kind.form && kind.form.elements.namedItem("shownKind");
  const show = () => {
    for (const fieldset of document.querySelectorAll("fieldset[data-kind]")) {
      fieldset.hidden = fieldset.getAttribute("data-kind") !== kind.value;
    }
    if (shown) shown.value = kind.value;
  };
  kind.addEventListener("change", show);
  show(); // the browser may have restored another choice (back button)
}
// Show only the sender check's inputs its scheme reads (without JavaScript all are shown, each
// with a hint saying which scheme it is for).
const scheme = document.getElementById("senderVerification.scheme");
if (scheme) {
  const show = () => {
    for (const field of document.querySelectorAll("[data-schemes]")) {
      field.hidden = !field.getAttribute("data-schemes").split(" ").includes(scheme.value);
    }
  };
  scheme.addEventListener("change", show);
  show();
}
// Under a select whose options each have a line, show the chosen option's line only.
for (const list of document.querySelectorAll("ul[data-hints-for]")) {
  const select = document.getElementById(list.getAttribute("data-hints-for") || "");
  if (!select) continue;
  const show = () => {
    for (const item of list.querySelectorAll("li[data-option]")) {
      item.hidden = item.getAttribute("data-option") !== select.value;
    }
  };
  select.addEventListener("change", show);
  show();
}
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form && select.form.submit());
}
// A region that says data-refresh-ms (History, while an execution it shows is queued or pending; the
// delivery log, while a delivery is pending) is fetched again after that long and replaced in place;
// the new one says whether to go on. A failed fetch keeps the region as it is and tries again.
const refresh = (region) => {
  const wait = Number(region.getAttribute("data-refresh-ms"));
  if (!region.id || !(wait > 0)) return;
  setTimeout(async () => {
    let next = region;
    try {
      // The view the region comes from, where the document is the answer to a post (a test).
      const from = region.getAttribute("data-refresh-from") || location.href;
      const response = await fetch(from, { headers: { accept: "text/html" }, cache: "no-store" });
      if (response.ok) {
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById(region.id);
        if (fresh) {
          region.replaceWith(fresh);
          next = fresh;
        }
      }
    } catch {}
    refresh(next);
  }, wait);
};
for (const region of document.querySelectorAll("[data-refresh-ms]")) refresh(region);
`;
