// Search over the whole history (GET /api/search). The box sits above the
// conversation list; "/" focuses it, results replace the list while there
// is a query, Enter opens the selected hit, Esc goes back: from an opened
// hit to the results, from the results to the list.
//
// A snippet is plain text plus highlight ranges, counted in code points.
// It is put into the page as text nodes and <mark> elements made here, so
// stored text is never read as HTML.

import { ApiError, json, request } from "./api.js";

const LIMIT = 20;
const DEBOUNCE_MS = 200;
const ROLE_NAMES = { user: "You", assistant: "Advisor", system: "System" };
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

const $ = (id) => document.getElementById(id);

// setupSearch wires the search box. app supplies what it owns:
// openConversation(id) and setSidebarOpen(open).
export function setupSearch(app) {
  const el = {
    form: $("search-form"),
    input: $("search-input"),
    status: $("search-status"),
    results: $("search-results"),
    more: $("search-more"),
    sidebar: $("sidebar"),
    thread: $("thread"),
  };
  const s = { query: "", hits: [], next: "", selected: -1, timer: 0, seq: 0, opened: false };

  function active() {
    return s.query !== "";
  }

  // The conversation list and the results take turns in the sidebar: the
  // class hides the list's parts (style.css), whatever the list code sets.
  function showResults(on) {
    el.sidebar.classList.toggle("searching", on);
    el.results.hidden = !on;
    el.more.hidden = !on || !s.next;
  }

  async function run({ more = false } = {}) {
    const q = el.input.value;
    const seq = ++s.seq;
    if (q.trim() === "") {
      clear({ keepInput: true });
      return;
    }
    const params = new URLSearchParams({ q, limit: String(LIMIT) });
    if (more) params.set("cursor", s.next);
    el.status.textContent = "Searching…";
    let page;
    try {
      page = await json(`api/search?${params}`);
    } catch (err) {
      if (seq !== s.seq) return;
      el.status.textContent = err instanceof ApiError ? err.message : String(err);
      return;
    }
    if (seq !== s.seq) return; // a newer query answered first, or will
    s.query = q;
    s.hits = more ? s.hits.concat(page.hits) : page.hits;
    s.next = page.next_cursor || "";
    if (!more) s.selected = s.hits.length ? 0 : -1;
    render();
  }

  function render() {
    el.results.replaceChildren(...s.hits.map(hitItem));
    const n = s.hits.length;
    el.status.textContent = n === 0 ? "No matches." : `${n}${s.next ? "+" : ""} ${n === 1 ? "match" : "matches"}`;
    select(s.selected, { focus: false });
    showResults(true);
  }

  function hitItem(hit, i) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "search-hit";
    b.id = `search-hit-${i}`;
    b.dataset.index = String(i);
    if (hit.message_id) b.dataset.messageId = hit.message_id;
    const head = document.createElement("span");
    head.className = "search-hit-head";
    const title = document.createElement("span");
    title.className = "search-hit-title";
    title.textContent = hit.conversation_title || "Untitled";
    const meta = document.createElement("span");
    meta.className = "muted search-hit-meta";
    const who = hit.message_id ? ROLE_NAMES[hit.role] || hit.role : "Title";
    meta.textContent = `${who} · ${dateFormat.format(new Date(hit.created_at))}`;
    head.append(title, " ", meta);
    const snippet = document.createElement("span");
    snippet.className = "search-snippet";
    snippet.append(...marked(hit.snippet));
    b.append(head, snippet);
    b.addEventListener("click", () => open(i));
    li.append(b);
    return li;
  }

  function select(i, { focus = true } = {}) {
    const buttons = el.results.querySelectorAll(".search-hit");
    if (!buttons.length) {
      s.selected = -1;
      el.input.removeAttribute("aria-activedescendant");
      return;
    }
    s.selected = Math.max(0, Math.min(i, buttons.length - 1));
    buttons.forEach((b, j) => b.setAttribute("aria-current", String(j === s.selected)));
    const b = buttons[s.selected];
    el.input.setAttribute("aria-activedescendant", b.id);
    b.scrollIntoView({ block: "nearest" });
    if (focus) b.focus();
  }

  // open shows the conversation that holds the hit, on the branch that holds
  // it: the server is asked to make the message the active one (PATCH
  // active_message_id, issue 12), then the thread is loaded and the message
  // scrolled into view and marked. A server without branches refuses the
  // member (400) or the route (404, 405); the message is then on the one
  // path there is, and is shown all the same. While a reply is being
  // written the server refuses to switch (409): the current branch is shown.
  async function open(i) {
    const hit = s.hits[i];
    if (!hit) return;
    s.selected = i;
    if (hit.message_id) {
      try {
        await request(`api/conversations/${encodeURIComponent(hit.conversation_id)}`, {
          method: "PATCH",
          body: { active_message_id: hit.message_id },
        });
      } catch (err) {
        if (!(err instanceof ApiError) || ![400, 404, 405, 409].includes(err.status)) {
          el.status.textContent = `Could not open that hit: ${err.message}`;
          return;
        }
        // 409: a reply is being written there; the branch stays as it is.
        if (err.status === 409) el.status.textContent = err.message;
      }
    }
    await app.openConversation(hit.conversation_id, { focusTitle: !hit.message_id });
    s.opened = true;
    if (hit.message_id) markMessage(hit.message_id);
  }

  function markMessage(id) {
    for (const old of el.thread.querySelectorAll(".search-target")) old.classList.remove("search-target");
    const li = [...el.thread.querySelectorAll("li.message")].find((m) => m.dataset.id === id);
    if (!li) return;
    li.classList.add("search-target");
    li.tabIndex = -1;
    li.scrollIntoView({ block: "center" });
    li.focus({ preventScroll: true });
  }

  function clear({ keepInput = false } = {}) {
    s.seq++;
    clearTimeout(s.timer);
    s.query = "";
    s.hits = [];
    s.next = "";
    s.selected = -1;
    s.opened = false;
    if (!keepInput) el.input.value = "";
    el.results.replaceChildren();
    el.status.textContent = "";
    el.input.removeAttribute("aria-activedescendant");
    showResults(false);
  }

  // Back to the results from an opened hit, with the hit selected.
  function back() {
    s.opened = false;
    app.setSidebarOpen(true);
    select(s.selected);
  }

  // Enter opens the selected hit, searching first if the box changed.
  function enter() {
    clearTimeout(s.timer);
    if (s.query === el.input.value && s.selected >= 0) open(s.selected);
    else run().then(() => s.selected >= 0 && open(s.selected));
  }
  el.form.addEventListener("submit", (e) => {
    e.preventDefault();
    enter();
  });
  el.input.addEventListener("input", () => {
    clearTimeout(s.timer);
    s.timer = setTimeout(run, DEBOUNCE_MS);
  });
  el.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.isComposing) {
      e.preventDefault();
      enter();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!s.hits.length) return;
      e.preventDefault();
      select(s.selected + (e.key === "ArrowDown" ? 1 : -1), { focus: false });
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      clear();
    }
  });
  el.results.addEventListener("keydown", (e) => {
    const i = Number(e.target.dataset?.index);
    if (Number.isNaN(i)) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      select(i + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      el.input.focus();
    }
  });
  el.more.addEventListener("click", () => run({ more: true }));

  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.isComposing) return;
    const t = e.target;
    const typing = t instanceof HTMLElement && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      app.setSidebarOpen(true);
      el.input.focus();
      el.input.select();
    } else if (e.key === "Escape" && !typing && active() && s.opened && !document.querySelector("dialog[open]")) {
      e.preventDefault();
      e.stopImmediatePropagation();
      back();
    }
  });
}

// marked turns a snippet into text nodes and <mark> elements.
export function marked(snippet) {
  const chars = Array.from(snippet.text || "");
  const out = [];
  let at = 0;
  for (const { start, end } of snippet.highlights || []) {
    if (start < at || end > chars.length || end <= start) continue;
    if (start > at) out.push(document.createTextNode(chars.slice(at, start).join("")));
    const m = document.createElement("mark");
    m.textContent = chars.slice(start, end).join("");
    out.push(m);
    at = end;
  }
  if (at < chars.length) out.push(document.createTextNode(chars.slice(at).join("")));
  return out;
}
