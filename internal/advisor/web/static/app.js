// The advisor page: a list of conversations, one open thread, and a
// composer whose reply streams in over Server-Sent Events. Everything the
// model or a user wrote is put into the page as text (textContent), never
// as HTML, so a reply cannot inject markup or script.
//
// A reply belongs to the server, not to the page: a dropped connection is
// resumed through /stream from the bytes already shown, a reload follows a
// reply still being written, and Stop asks the server to end it.

import { ApiError, json, request, setTokenPrompt } from "./api.js";
import { readEvents } from "./sse.js";
import { setupSearch } from "./search.js";

const PAGE_SIZE = 50;
const ROLE_NAMES = { user: "You", assistant: "Advisor", system: "System" };

const $ = (id) => document.getElementById(id);
const el = {
  sidebar: $("sidebar"),
  main: $("main"),
  sidebarToggle: $("sidebar-toggle"),
  newConversation: $("new-conversation"),
  list: $("conversation-list"),
  listStatus: $("list-status"),
  listRetry: $("list-retry"),
  modelNotice: $("model-notice"),
  loadMore: $("load-more"),
  empty: $("empty-state"),
  threadView: $("thread-view"),
  title: $("thread-title"),
  titleForm: $("title-form"),
  titleInput: $("title-input"),
  titleCancel: $("title-cancel"),
  meta: $("thread-meta"),
  rename: $("rename"),
  deleteCurrent: $("delete-current"),
  thread: $("thread"),
  problem: $("problem"),
  problemText: $("problem-text"),
  retry: $("retry"),
  composer: $("composer"),
  input: $("composer-input"),
  send: $("send"),
  stop: $("stop"),
  activity: $("activity"),
  tokenDialog: $("token-dialog"),
  tokenForm: $("token-form"),
  tokenInput: $("token-input"),
  tokenError: $("token-error"),
  confirmDialog: $("confirm-dialog"),
  confirmText: $("confirm-text"),
};

const state = {
  summaries: [], // newest first, as the server lists them
  nextCursor: "",
  current: null, // the open conversation, messages included
  busy: false, // a reply is streaming
  follow: null, // the AbortController of the reply being followed
};

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

function formatDate(iso, format = dateTimeFormat) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : format.format(d);
}

function titleOf(c) {
  return c.title || "New conversation";
}

function countText(n) {
  return n === 1 ? "1 message" : `${n} messages`;
}

function announce(text) {
  // Clear first so the same words twice are still announced.
  el.activity.textContent = "";
  requestAnimationFrame(() => {
    el.activity.textContent = text;
  });
}

function apiPath(id, suffix = "") {
  return `api/conversations/${encodeURIComponent(id)}${suffix}`;
}

// ---- sidebar -------------------------------------------------------------

async function loadList({ more = false } = {}) {
  const before = state.summaries.length;
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (more && state.nextCursor) params.set("cursor", state.nextCursor);
  el.loadMore.disabled = true;
  try {
    const page = await json(`api/conversations?${params}`);
    const fresh = page.conversations || [];
    if (more) {
      const seen = new Set(state.summaries.map((s) => s.id));
      state.summaries.push(...fresh.filter((s) => !seen.has(s.id)));
    } else {
      state.summaries = fresh;
    }
    state.nextCursor = page.next_cursor || "";
    renderList();
    if (more) {
      // The button may have just disappeared: put focus on the first new item.
      el.list.children[before]?.querySelector("a")?.focus();
    }
    el.listRetry.hidden = true;
    listRetryDelay = LIST_RETRY_MIN_MS;
  } catch (err) {
    el.listStatus.textContent = `Could not load conversations: ${err.message}`;
    // A database that is down now is usually back soon: try again on our
    // own, backing off to a minute, and offer the button meanwhile.
    el.listRetry.hidden = false;
    scheduleListRetry();
  } finally {
    el.loadMore.disabled = false;
  }
}

const LIST_RETRY_MIN_MS = 1000;
const LIST_RETRY_MAX_MS = 60000;
let listRetryDelay = LIST_RETRY_MIN_MS;
let listRetryTimer = 0;

function scheduleListRetry() {
  clearTimeout(listRetryTimer);
  listRetryTimer = setTimeout(() => loadList(), listRetryDelay);
  listRetryDelay = Math.min(listRetryDelay * 2, LIST_RETRY_MAX_MS);
}

function retryListNow() {
  clearTimeout(listRetryTimer);
  listRetryDelay = LIST_RETRY_MIN_MS;
  loadList();
}

// showModelNotice tells the user up front when the server has no model, so
// nobody types a question only to learn it at the first send.
async function showModelNotice() {
  try {
    const cfg = await json("api/config");
    el.modelNotice.hidden = cfg.model_configured;
    el.modelNotice.textContent = cfg.model_configured
      ? ""
      : "No model is configured on this server: conversations can be read, but nothing will be answered. " +
        "Set ADVISOR_MODEL_URL and ADVISOR_MODEL and restart (or try it with advisor dev-model).";
  } catch {
    // The notice is a courtesy; the send path still reports the 503.
  }
}

function renderList() {
  const items = state.summaries.map((s) => {
    const li = document.createElement("li");
    li.className = "conversation";
    li.dataset.id = s.id;

    const open = document.createElement("a");
    open.className = "conversation-open";
    open.href = `#c/${s.id}`;
    if (state.current && state.current.id === s.id) open.setAttribute("aria-current", "page");
    const name = document.createElement("span");
    name.className = "conversation-title";
    name.textContent = titleOf(s);
    const meta = document.createElement("span");
    meta.className = "conversation-meta";
    meta.textContent = `${countText(s.message_count)} · ${formatDate(s.started_at, dateFormat)}`;
    open.append(name, meta);

    const del = document.createElement("button");
    del.type = "button";
    del.className = "conversation-delete";
    del.textContent = "Delete";
    del.setAttribute("aria-label", `Delete “${titleOf(s)}”`);
    del.addEventListener("click", () => confirmDelete(s));

    li.append(open, del);
    return li;
  });
  el.list.replaceChildren(...items);
  el.loadMore.hidden = !state.nextCursor;
  el.listStatus.textContent = state.summaries.length === 0 ? "No conversations yet." : "";
}

function upsertSummary(c) {
  const summary = {
    id: c.id,
    title: c.title,
    model: c.model,
    started_at: c.started_at,
    message_count: c.message_count,
  };
  const i = state.summaries.findIndex((s) => s.id === c.id);
  if (i >= 0) state.summaries[i] = summary;
  else state.summaries.unshift(summary);
  renderList();
}

// Only on a narrow screen does the list cover the thread; then the thread
// is inert, so keyboard focus cannot wander behind the list.
const narrow = window.matchMedia("(max-width: 48rem)");

function setSidebarOpen(open) {
  const covering = open && narrow.matches;
  document.body.classList.toggle("sidebar-open", covering);
  el.sidebarToggle.setAttribute("aria-expanded", String(covering));
  el.main.inert = covering;
  if (covering) el.newConversation.focus();
}

// ---- thread --------------------------------------------------------------

// Replies that ended without being complete; the page marks them and, on
// the last message, offers Retry (a fresh reply; this one stays).
const UNFINISHED = new Set(["stopped", "interrupted", "failed"]);

function messageItem(m, stateName = m.status === "streaming" ? "streaming" : "done") {
  const li = document.createElement("li");
  li.className = `message role-${m.role}`;
  li.dataset.state = stateName;
  if (m.status) li.dataset.status = m.status;
  if (m.id) {
    li.dataset.id = m.id;
    li.dataset.siblings = siblingKey(m);
  }

  const head = document.createElement("p");
  head.className = "message-head";
  const who = document.createElement("span");
  who.className = "message-role";
  who.textContent = ROLE_NAMES[m.role] || m.role;
  head.append(who);
  if (m.created_at) {
    const when = document.createElement("time");
    when.dateTime = m.created_at;
    when.textContent = formatDate(m.created_at);
    head.append(" ", when);
  }
  if (UNFINISHED.has(m.status)) {
    const badge = document.createElement("span");
    badge.className = `message-badge badge-${m.status}`;
    badge.textContent = m.status;
    badge.title = STATUS_HELP[m.status];
    head.append(" ", badge);
  }

  const body = document.createElement("div");
  body.className = "message-content";
  body.textContent = m.content || "";
  li.append(head, body);

  const facts = m.role === "assistant" && m.status !== "streaming" ? replyFacts(m) : "";
  if (facts) {
    const meta = document.createElement("p");
    meta.className = "message-meta";
    meta.textContent = facts;
    if (m.first_token_ms != null) meta.title = `First token after ${formatDuration(m.first_token_ms)}`;
    li.append(meta);
  }
  const actions = messageActions(m);
  if (actions) li.append(actions);
  return li;
}

// ---- branches --------------------------------------------------------------
//
// A conversation is a tree: an edit stores a new question beside the old
// one, a regenerate a new answer beside the old one, and nothing is
// overwritten. The thread shows one path through it (the server keeps which
// one, so a reload or another browser shows the same), and a message with
// siblings carries a "‹ 2 / 3 ›" switcher to show another version.

// messageActions is the row under a stored message: its version switcher,
// and Edit (a question) or Regenerate (an answer). Not for a message still
// pending or streaming: it has nothing to branch from yet.
function messageActions(m) {
  if (!m.id || !state.current || state.current.draft) return null;
  if (m.status === "streaming") return null;
  const row = document.createElement("div");
  row.className = "message-actions";
  const siblings = m.siblings || [m.id];
  if (siblings.length > 1) row.append(branchSwitch(m, siblings));
  if (m.role === "user") {
    row.append(actionButton("Edit", "Edit this question (the original stays as a version)", () => showEditor(m)));
  } else if (m.role === "assistant") {
    row.append(
      actionButton("Regenerate", "Regenerate: ask for a new answer (this one stays as a version)", () =>
        regenerate(m),
      ),
    );
  }
  return row;
}

function actionButton(text, label, onClick, cls = "secondary") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `${cls} message-action`;
  b.textContent = text;
  b.setAttribute("aria-label", label);
  b.disabled = state.busy;
  b.addEventListener("click", onClick);
  return b;
}

// branchSwitch is "‹ 2 / 3 ›": a group whose buttons name what they do,
// and whose position is read out as "version 2 of 3".
function branchSwitch(m, siblings) {
  const at = siblings.indexOf(m.id);
  const noun = m.role === "user" ? "question" : "answer";
  const group = document.createElement("div");
  group.className = "branch-switch";
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", `Version ${at + 1} of ${siblings.length} of this ${noun}`);
  const prev = actionButton("‹", `Previous version of this ${noun}`, () => switchBranch(m, siblings[at - 1], "prev"), "branch-step");
  const next = actionButton("›", `Next version of this ${noun}`, () => switchBranch(m, siblings[at + 1], "next"), "branch-step");
  prev.dataset.branch = "prev";
  next.dataset.branch = "next";
  prev.dataset.edge = String(at <= 0);
  next.dataset.edge = String(at >= siblings.length - 1);
  prev.disabled = state.busy || at <= 0;
  next.disabled = state.busy || at >= siblings.length - 1;
  const pos = document.createElement("span");
  pos.className = "branch-position";
  pos.textContent = `${at + 1} / ${siblings.length}`;
  pos.setAttribute("aria-hidden", "true"); // the group's label says it
  group.append(prev, pos, next);
  return group;
}

// setActionsDisabled follows busy: while a reply is written the server
// refuses every branch operation (409), so the page does not offer them.
function setActionsDisabled(busy) {
  for (const b of el.thread.querySelectorAll(".message-action")) {
    b.disabled = busy || b.dataset.edge === "true";
  }
}

// redrawFrom replaces the thread's items from message index i on with the
// open conversation's, leaving those before it (and what a screen reader
// has read of them) alone. The log is quiet meanwhile: the change is
// announced once, in words, by the caller.
function redrawFrom(i) {
  const c = state.current;
  const items = [...el.thread.children];
  for (const item of items.slice(i)) item.remove();
  el.thread.setAttribute("aria-live", "off");
  el.thread.append(...c.messages.slice(i).map((m) => messageItem(m)));
  requestAnimationFrame(() => el.thread.setAttribute("aria-live", "polite"));
  offerRetryIfUnanswered();
}

// switchBranch shows another version of m (target, one of its siblings) and
// the newest path below it. The server keeps the choice (PATCH), so it
// survives a reload. The view stays in place: the switched message keeps its
// position on screen, and focus stays on the button that was pressed.
async function switchBranch(m, target, which) {
  const c = state.current;
  if (!c || c.draft || state.busy || !target) return;
  const i = c.messages.findIndex((x) => x.id === m.id);
  const item = el.thread.children[i];
  const top = item ? item.getBoundingClientRect().top : 0;
  hideProblem();
  let fresh;
  try {
    fresh = await json(apiPath(c.id), { method: "PATCH", body: { active_message_id: target } });
  } catch (err) {
    showProblem(`Could not show that version: ${err.message}`);
    if (err.status === 409 || err.status === 404) await resync(c.id);
    return;
  }
  if (state.current?.id !== c.id) return;
  fresh.messages = fresh.messages || [];
  state.current = fresh;
  renderHeader();
  upsertSummary(fresh);
  redrawFrom(i);
  const shown = el.thread.children[i];
  if (shown) {
    el.thread.scrollTop += shown.getBoundingClientRect().top - top;
    const again = shown.querySelector(`.branch-switch [data-branch="${which}"]`);
    const focus = again && !again.disabled ? again : shown.querySelector(".branch-switch button:not(:disabled)");
    focus?.focus();
    const group = shown.querySelector(".branch-switch");
    announce(`Showing ${group ? group.getAttribute("aria-label").toLowerCase() : "another version"}.`);
  }
  if (lastMessage()?.status === "streaming") resumeReply(fresh);
}

// syncBranches puts the switchers the server now reports (after an edit or
// a regenerate, the message it branched from has one more sibling) on the
// items already shown, replacing only the rows that changed.
function syncBranches() {
  const c = state.current;
  if (!c) return;
  const items = [...el.thread.children];
  const differs = items.findIndex((item, k) => item.dataset.id !== c.messages[k]?.id);
  if (differs >= 0 || items.length !== c.messages.length) {
    // The server's path is not the one shown (another browser switched
    // meanwhile): show the server's from where they part.
    redrawFrom(differs >= 0 ? differs : items.length);
    return syncBranches();
  }
  for (const item of items) {
    const m = c.messages.find((x) => x.id === item.dataset.id);
    if (!m || item.dataset.siblings === siblingKey(m)) continue;
    const row = messageActions(m);
    const old = item.querySelector(".message-actions");
    if (old && row) old.replaceWith(row);
    else if (row) item.append(row);
    else old?.remove();
    item.dataset.siblings = siblingKey(m);
  }
}

function siblingKey(m) {
  return (m.siblings || [m.id]).join(",");
}

// showEditor turns a question into an inline editor: Save sends the edited
// question as a new version (the old one and its answers stay, one switch
// away); Cancel or Escape puts the question back.
function showEditor(m) {
  if (state.busy) return;
  const item = el.thread.querySelector(`li[data-id="${CSS.escape(m.id)}"]`);
  if (!item || item.querySelector(".message-editor")) return;
  const content = item.querySelector(".message-content");
  const actions = item.querySelector(".message-actions");
  const form = document.createElement("form");
  form.className = "message-editor";
  const label = document.createElement("label");
  const labelText = document.createElement("span");
  labelText.className = "visually-hidden";
  labelText.textContent = "Edit question";
  const input = document.createElement("textarea");
  input.rows = Math.min(10, Math.max(2, (m.content || "").split("\n").length));
  input.value = m.content || "";
  input.required = true;
  input.setAttribute("aria-describedby", "composer-hint"); // the same keys as the composer
  label.append(labelText, input);
  const save = document.createElement("button");
  save.type = "submit";
  save.className = "primary";
  save.textContent = "Save and send";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "secondary";
  cancel.textContent = "Cancel";
  const buttons = document.createElement("div");
  buttons.className = "editor-actions";
  buttons.append(save, cancel);
  form.append(label, buttons);

  const close = () => {
    form.remove();
    content.hidden = false;
    if (actions) actions.hidden = false;
    item.querySelector('button[aria-label^="Edit"]')?.focus();
  };
  cancel.addEventListener("click", close);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      close();
    } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim() || state.busy) return;
    editMessage(m, text);
  });
  content.hidden = true;
  if (actions) actions.hidden = true;
  content.after(form);
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

// editMessage sends an edited question as a new version of m, answered
// like a chat message; regenerate asks for a new version of the answer m.
function editMessage(m, content) {
  return branchFrom(m, "edit", { content }, "Could not edit", content);
}

function regenerate(m) {
  return branchFrom(m, "regenerate", {}, "Could not regenerate");
}

// branchFrom cuts the thread back to before m (it and what follows stay on
// the server, one switch away) and streams in the new version that POST
// messages/{m}/{action} starts: a question (question set) and its answer,
// or an answer.
async function branchFrom(m, action, body, failure, question) {
  const c = state.current;
  if (!c || c.draft || state.busy) return;
  const i = c.messages.findIndex((x) => x.id === m.id);
  if (i < 0) return;
  hideProblem();
  c.messages = c.messages.slice(0, i);
  redrawFrom(i);
  el.input.focus(); // the editor or button is gone with m; typing goes on in the composer
  let pending = null;
  if (question !== undefined) {
    pending = messageItem({ role: "user", content: question, created_at: new Date().toISOString() }, "pending");
    el.thread.append(pending);
  }
  const stored = await streamReply(c, `messages/${encodeURIComponent(m.id)}/${action}`, body, pending);
  if (stored.refused && state.current?.id === c.id && !state.busy) {
    // Nothing was stored: resync has put the thread back as it was.
    showProblem(`${failure}: ${stored.refused.message}`);
  }
}

const STATUS_HELP = {
  stopped: "Stopped before the end; the text so far is kept.",
  interrupted: "The server stopped while writing this reply; the text so far is kept.",
  failed: "The model failed while writing this reply; the text so far is kept.",
};

// replyFacts is the small line under a reply: model, tokens, duration
// ("llama3 · 12 → 340 tokens · 4.2 s"), each part only when known.
function replyFacts(m) {
  const parts = [];
  if (m.model) parts.push(m.model);
  const p = m.prompt_tokens;
  const c = m.completion_tokens;
  if (p != null && c != null) parts.push(`${p} → ${c} tokens`);
  else if (c != null) parts.push(`${c} tokens`);
  else if (p != null) parts.push(`${p} prompt tokens`);
  if (m.duration_ms != null) parts.push(formatDuration(m.duration_ms));
  if (m.finish_reason === "length") parts.push("cut off at the length limit");
  return parts.join(" · ");
}

function formatDuration(ms) {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

function renderHeader() {
  const c = state.current;
  el.title.textContent = titleOf(c);
  if (c.draft) {
    el.meta.textContent = "Saved when you send the first message.";
  } else {
    const parts = [countText(c.message_count)];
    if (c.model) parts.push(`model ${c.model}`);
    parts.push(`started ${formatDate(c.started_at)}`);
    el.meta.textContent = parts.join(" · ");
  }
  el.deleteCurrent.hidden = Boolean(c.draft);
  document.title = `${titleOf(c)} — Lab advisor`;
}

// renderThread draws the open conversation; a reply still being written
// is then followed live (a reload mid-answer picks it up again).
function renderThread() {
  const c = state.current;
  el.empty.hidden = Boolean(c);
  el.threadView.hidden = !c;
  hideTitleForm();
  if (!c) {
    el.thread.replaceChildren();
    document.title = "Lab advisor";
    return;
  }
  renderHeader();
  el.thread.replaceChildren(...c.messages.map((m) => messageItem(m)));
  offerRetryIfUnanswered();
  scrollToEnd();
  if (lastMessage()?.status === "streaming") resumeReply(c);
}

function scrollToEnd() {
  el.thread.lastElementChild?.scrollIntoView({ block: "end" });
}

function lastMessage() {
  const ms = state.current?.messages || [];
  return ms[ms.length - 1];
}

// offerRetryIfUnanswered offers Retry where /reply would be accepted: after
// a question with no reply (in the problem bar), or on a last reply that
// ended stopped, interrupted or failed (on the reply itself).
function offerRetryIfUnanswered() {
  for (const b of el.thread.querySelectorAll(".message-retry")) b.remove();
  if (state.busy) return;
  const last = lastMessage();
  if (last?.role === "user") {
    showProblem("The last message has no reply yet.", { retry: true });
    return;
  }
  hideProblem();
  const item = el.thread.lastElementChild;
  if (last?.role === "assistant" && UNFINISHED.has(last.status) && item?.dataset.id === last.id) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary message-retry";
    b.textContent = "Retry";
    b.setAttribute("aria-label", "Retry: ask for a new reply (this one stays)");
    b.addEventListener("click", retry);
    item.append(b);
  }
}

function showProblem(text, { retry = false } = {}) {
  el.problemText.textContent = text;
  el.retry.hidden = !retry;
  el.problem.hidden = false;
}

function hideProblem() {
  el.problem.hidden = true;
  el.problemText.textContent = "";
  el.retry.hidden = true;
}

async function openConversation(id, { focusTitle = false } = {}) {
  leaveReply();
  try {
    state.current = await json(apiPath(id));
  } catch (err) {
    state.current = null;
    renderThread();
    renderList();
    if (err.status === 404) {
      history.replaceState(null, "", location.pathname + location.search);
      showProblem("That conversation does not exist any more.");
    } else {
      showProblem(`Could not open the conversation: ${err.message}`);
    }
    return;
  }
  if (location.hash !== `#c/${id}`) history.replaceState(null, "", `#c/${id}`);
  renderThread();
  renderList();
  setSidebarOpen(false);
  if (focusTitle) el.title.focus();
}

function showEmpty() {
  state.current = null;
  hideProblem();
  renderThread();
  renderList();
}

// newConversation opens an empty draft. Nothing is stored until its first
// message is sent, so clicks that send nothing leave no empty
// conversations in the list.
function newConversation() {
  leaveReply();
  showDraft();
  announce("New conversation. It is saved when you send the first message.");
  el.input.focus();
}

function showDraft() {
  state.current = {
    id: "",
    title: "",
    model: "",
    started_at: new Date().toISOString(),
    message_count: 0,
    messages: [],
    draft: true,
  };
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  hideProblem();
  renderThread();
  renderList();
  setSidebarOpen(false);
}

// createConversation stores the draft when its first message is sent.
async function createConversation() {
  try {
    const c = await json("api/conversations", { method: "POST", body: {} });
    c.messages = c.messages || [];
    state.current = c;
    history.replaceState(null, "", `#c/${c.id}`);
    upsertSummary(c);
    renderThread();
    return c;
  } catch (err) {
    showProblem(`Could not start a conversation: ${err.message}`);
    return null;
  }
}

// discardCreated deletes a conversation created for a first message that
// the server then refused, and goes back to the draft, so a refused send
// leaves no empty conversation behind either.
async function discardCreated(c) {
  try {
    await request(apiPath(c.id), { method: "DELETE" });
  } catch {
    return; // it stays, empty; the list shows it as it is
  }
  state.summaries = state.summaries.filter((s) => s.id !== c.id);
  if (state.current?.id === c.id) showDraft();
  else renderList();
}

// ---- title ---------------------------------------------------------------

function showTitleForm() {
  el.titleInput.value = state.current?.title || "";
  el.title.hidden = true;
  el.rename.hidden = true;
  el.titleForm.hidden = false;
  el.titleInput.focus();
  el.titleInput.select();
}

function hideTitleForm() {
  el.titleForm.hidden = true;
  el.title.hidden = false;
  // A draft has no title to rename until it is stored.
  el.rename.hidden = Boolean(state.current?.draft);
}

async function saveTitle(event) {
  event.preventDefault();
  const c = state.current;
  const title = el.titleInput.value.trim();
  if (!c || !title) return;
  try {
    const summary = await json(apiPath(c.id), { method: "PATCH", body: { title } });
    Object.assign(c, summary);
    upsertSummary(c);
    renderHeader();
    hideTitleForm();
    el.title.focus();
    announce("Title saved.");
  } catch (err) {
    showProblem(`Could not rename: ${err.message}`);
  }
}

// ---- delete --------------------------------------------------------------

function confirmDelete(summary) {
  if (state.busy) return;
  el.confirmText.textContent = `“${titleOf(summary)}” and its ${countText(summary.message_count)} will be deleted. This cannot be undone.`;
  el.confirmDialog.returnValue = "";
  el.confirmDialog.onclose = () => {
    if (el.confirmDialog.returnValue === "delete") deleteConversation(summary.id);
  };
  el.confirmDialog.showModal();
}

async function deleteConversation(id) {
  try {
    await request(apiPath(id), { method: "DELETE" });
  } catch (err) {
    // Already gone is what the user wanted.
    if (err.status !== 404) {
      showProblem(`Could not delete: ${err.message}`);
      return;
    }
  }
  state.summaries = state.summaries.filter((s) => s.id !== id);
  if (state.current?.id === id) {
    history.replaceState(null, "", location.pathname + location.search);
    showEmpty();
  } else {
    renderList();
  }
  announce("Conversation deleted.");
  el.newConversation.focus();
}

// ---- chat ----------------------------------------------------------------

function setBusy(busy) {
  state.busy = busy;
  el.send.disabled = busy;
  el.retry.disabled = busy;
  el.composer.setAttribute("aria-busy", String(busy));
  // Stop is shown for the whole reply but usable only once the server has
  // the generation (see follow); before that /stop would find nothing.
  el.stop.hidden = !busy;
  el.stop.disabled = true;
  setActionsDisabled(busy);
}

// beginFollow makes the page busy with one reply; outcome.signal ends when
// the page lets go of it.
function beginFollow() {
  setBusy(true);
  state.follow = new AbortController();
  return { signal: state.follow.signal };
}

// leaveReply lets go of the reply being followed, so the user may open
// something else meanwhile: the server goes on writing it, and opening its
// conversation again follows it from there.
function leaveReply() {
  if (!state.busy) return;
  state.follow?.abort();
  state.follow = null;
  setBusy(false);
}

async function sendMessage(event) {
  event.preventDefault();
  if (state.busy) return;
  const content = el.input.value;
  if (!content.trim()) return;
  let c = state.current;
  const created = !c || c.draft;
  if (created) {
    c = await createConversation();
    if (!c) return;
  }
  el.input.value = "";
  hideProblem();
  const pending = messageItem({ role: "user", content, created_at: new Date().toISOString() }, "pending");
  el.thread.append(pending);
  const stored = await streamReply(c, "chat", { content }, pending);
  if (stored.left) return; // the user opened something else meanwhile
  const last = lastMessage();
  const kept = stored.user || (last?.role === "user" && last.content === content);
  if (!kept && !el.input.value) {
    // The server kept nothing: give the text back so it is not lost.
    el.input.value = content;
  }
  if (created && stored.refused && state.current?.id === c.id && !lastMessage()) {
    await discardCreated(c);
    showProblem(stored.refused.message);
  }
}

async function retry() {
  const c = state.current;
  if (!c || c.draft || state.busy) return;
  hideProblem();
  const last = lastMessage();
  if (last?.role === "assistant" && UNFINISHED.has(last.status)) {
    // The retry is a new version of that reply (its sibling), which takes
    // its place on the path; the unfinished one is one switch away.
    c.messages = c.messages.slice(0, -1);
    redrawFrom(c.messages.length);
  }
  await streamReply(c, "reply", {}, null);
}

async function stopReply() {
  const c = state.current;
  if (!c || !state.busy) return;
  el.stop.disabled = true;
  announce("Stopping the reply…");
  try {
    // 200: stopped and stored; 202: it is ending. Either way the reply's
    // own stream brings its end.
    await request(apiPath(c.id, "/stop"), { method: "POST", body: {} });
  } catch (err) {
    // 409: it ended by itself meanwhile, which is no problem.
    if (err.status !== 409) {
      showProblem(`Could not stop the reply: ${err.message}`);
      el.stop.disabled = !state.busy;
    }
  }
}

// A reply as it arrives. bytes is how much of its text the page shows, in
// UTF-8 bytes, the unit of the token events' ids: a resume sends it as
// Last-Event-ID and gets only what it lacks.
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function liveReply(item, shown = "") {
  const text = item.querySelector(".message-content");
  text.textContent = shown;
  return { item, text, bytes: utf8.encode(shown).length, id: item.dataset.id || "" };
}

// addDelta shows one token event. Its id is the byte offset after the
// delta, so text already shown (a replay overlapping what the page read from
// the conversation) is skipped. It returns false for a delta that starts
// beyond what is shown: a gap, which only a fresh resume can fill.
function addDelta(live, delta, id) {
  const bytes = utf8.encode(delta);
  const end = /^\d+$/.test(id) ? Number(id) : live.bytes + bytes.length;
  const start = end - bytes.length;
  if (start > live.bytes) return false;
  if (end <= live.bytes) return true;
  live.text.append(start === live.bytes ? delta : fromUtf8.decode(bytes.subarray(live.bytes - start)));
  live.bytes = end;
  return true;
}

// replyEvents handles the events of a chat, reply or stream response;
// outcome collects how the reply ended (reply: the stored message; failure:
// what to tell the user; lost: follow it no further, re-read the thread).
function replyEvents(live, outcome, onUser) {
  return (ev) => {
    if (outcome.ended || outcome.lost) return;
    const data = JSON.parse(ev.data);
    switch (ev.event) {
      case "user":
        onUser?.(data);
        break;
      case "reply":
        if (live.id && data.id !== live.id) {
          // Ours ended and another has started: the thread says how.
          outcome.lost = true;
          return;
        }
        live.id = data.id;
        live.item.dataset.id = data.id;
        break;
      case "token":
        if (addDelta(live, data.delta || "", ev.id)) {
          outcome.progressed = true;
          scrollToEnd();
        } else {
          outcome.lost = true;
        }
        break;
      case "done":
        outcome.ended = true;
        outcome.reply = data;
        break;
      case "error":
        outcome.ended = true;
        outcome.failure = data.error || "The model failed.";
        outcome.reply = data.message || null;
        break;
    }
  };
}

const RESUME_ATTEMPTS = 8;
const RESUME_MAX_DELAY_MS = 8000;

// follow reads res (when given) and, for as long as the reply has not
// ended, resumes it through /stream from what is shown: the connection may
// drop (a network change, a proxy timeout) while the server goes on.
async function follow(c, live, outcome, res, onUser) {
  const onEvent = replyEvents(live, outcome, onUser);
  const { signal } = outcome;
  const until = () => outcome.ended || outcome.lost || signal.aborted;
  let attempt = 0;
  for (;;) {
    if (res) {
      el.stop.disabled = false;
      outcome.progressed = false;
      try {
        await readEvents(res.body, onEvent, { until });
      } catch {
        // The connection broke: resumed below.
      }
      if (until()) return;
      if (outcome.progressed) attempt = 0;
      res = null;
    }
    if (attempt >= RESUME_ATTEMPTS) {
      outcome.lost = true;
      outcome.failure = "Lost the connection to the reply. It goes on on the server; reload the page to follow it.";
      return;
    }
    if (attempt > 0) await delay(Math.min(500 * 2 ** (attempt - 1), RESUME_MAX_DELAY_MS));
    if (signal.aborted) return;
    attempt++;
    try {
      res = await request(apiPath(c.id, "/stream"), {
        accept: "text/event-stream",
        headers: live.bytes > 0 ? { "Last-Event-ID": String(live.bytes) } : {},
        signal,
      });
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 0 || err.status >= 500) continue; // not reached, or briefly down
      outcome.lost = true;
      outcome.failure = `Could not follow the reply: ${err.message}`;
      return;
    }
    if (res.status === 204) {
      // Nothing in flight: it ended while we were away.
      outcome.lost = true;
      if (notInFlight.id !== live.id) Object.assign(notInFlight, { id: live.id, pause: 1000 });
      return;
    }
  }
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// streamReply POSTs chat or reply with Accept: text/event-stream and shows
// the reply as it arrives. It returns which parts the server stored, and
// refused: the error when the server turned the request down (then it
// stored nothing).
async function streamReply(c, action, body, pendingUser) {
  const outcome = beginFollow();
  const item = messageItem({ role: "assistant", content: "", status: "streaming" });
  el.thread.append(item);
  offerRetryIfUnanswered(); // the old reply's Retry goes while this one runs
  scrollToEnd();
  announce("The advisor is replying…");

  const live = liveReply(item);
  const stored = { user: null, refused: null, left: false };
  const onUser = (data) => {
    // Stored: the question stops looking pending at once.
    stored.user = data;
    if (pendingUser) {
      const shown = messageItem(data);
      pendingUser.replaceWith(shown);
      pendingUser = shown;
    }
  };
  let res = null;
  try {
    res = await request(apiPath(c.id, `/${action}`), {
      method: "POST",
      body,
      accept: "text/event-stream",
      signal: outcome.signal,
    });
  } catch (err) {
    if (outcome.signal.aborted) {
      stored.left = true;
      return stored;
    }
    if (err.status !== 0) {
      // Refused before anything was stored (a 409: another reply is being
      // written, which the re-read thread then follows).
      stored.refused = err;
      item.remove();
      pendingUser?.remove();
      state.follow = null;
      setBusy(false);
      await resync(c.id);
      if (!state.busy) showProblem(err.message, { retry: lastMessage()?.role === "user" });
      announce(err.message);
      return stored;
    }
    // Not answered: the server may have started the reply all the same,
    // which /stream finds out.
  }
  if (res && !(res.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
    // A server may answer in plain JSON; take that as the whole reply.
    const whole = await res.json().catch(() => ({}));
    if (whole.user) onUser(whole.user);
    outcome.reply = whole.reply || null;
    outcome.ended = true;
  } else {
    await follow(c, live, outcome, res, onUser);
  }
  stored.left = outcome.signal.aborted;
  if (stored.left) return stored;
  if (stored.user && !c.messages.some((m) => m.id === stored.user.id)) c.messages.push(stored.user);
  await settle(c, live, outcome);
  return stored;
}

// A reply that /stream says is not in flight (204) while the thread still
// reads it as streaming (its instance died and nobody has marked it
// interrupted yet) is looked at again after a growing pause, not in a loop.
const notInFlight = { id: "", pause: 0 };
const NOT_IN_FLIGHT_MAX_PAUSE_MS = 30000;

// resumeReply follows a reply that was still being written when the
// conversation was read (a reload or a second browser mid-answer).
async function resumeReply(c) {
  const last = lastMessage();
  const item = el.thread.lastElementChild;
  if (state.busy || !item || item.dataset.id !== last.id) return;
  const outcome = beginFollow();
  if (notInFlight.id === last.id) {
    await delay(notInFlight.pause);
    if (outcome.signal.aborted) return;
    notInFlight.pause = Math.min(notInFlight.pause * 2, NOT_IN_FLIGHT_MAX_PAUSE_MS);
  }
  const live = liveReply(item, last.content);
  await follow(c, live, outcome, null);
  await settle(c, live, outcome);
}

// settle puts the ended reply on the page as stored, with its status and
// facts; when its end was not seen, the thread is read again instead.
async function settle(c, live, outcome) {
  if (outcome.signal.aborted) return; // left: the page shows something else
  state.follow = null;
  const reply = outcome.reply;
  if (reply && reply.status !== "streaming") {
    const i = c.messages.findIndex((m) => m.id === reply.id);
    if (i >= 0) c.messages[i] = reply;
    else c.messages.push(reply);
    live.item.replaceWith(messageItem(reply));
    setBusy(false);
    offerRetryIfUnanswered();
    if (outcome.failure) showProblem(outcome.failure);
    announce(outcome.failure || (reply.status === "stopped" ? "Reply stopped." : "Reply complete."));
    await refreshSummary(c.id);
    scrollToEnd();
    return;
  }
  setBusy(false);
  if (state.current?.id === c.id) await resync(c.id);
  if (outcome.failure && !state.busy) {
    showProblem(outcome.failure, { retry: lastMessage()?.role === "user" });
    announce(outcome.failure);
  }
}

// refreshSummary re-reads title and count (the server titles a conversation
// from its first message) without redrawing the thread, which would make a
// screen reader read it all again.
async function refreshSummary(id) {
  try {
    const fresh = await json(apiPath(id));
    if (state.current?.id !== id) return;
    Object.assign(state.current, fresh);
    renderHeader();
    upsertSummary(state.current);
    syncBranches();
  } catch {
    // The reply is on the page already; a stale count is harmless.
  }
}

async function resync(id) {
  try {
    const fresh = await json(apiPath(id));
    if (state.current?.id !== id) return;
    state.current = fresh;
    renderThread();
    upsertSummary(fresh);
  } catch {
    // Keep what we have; the problem text says what went wrong.
  }
}

// ---- token ---------------------------------------------------------------

function promptForToken({ rejected }) {
  return new Promise((resolve) => {
    el.tokenError.hidden = !rejected;
    el.tokenInput.value = "";
    el.tokenDialog.returnValue = "";
    el.tokenDialog.onclose = () => {
      const token = el.tokenDialog.returnValue === "ok" ? el.tokenInput.value.trim() : "";
      el.tokenInput.value = "";
      resolve(token || null);
    };
    el.tokenDialog.showModal();
  });
}

// ---- wiring --------------------------------------------------------------

function conversationFromHash() {
  const m = /^#c\/([0-9a-fA-F-]{36})$/.exec(location.hash);
  return m ? m[1] : "";
}

function wire() {
  setTokenPrompt(promptForToken);
  // First, so its Escape (back to the results) is seen before the sidebar's.
  setupSearch({ openConversation, setSidebarOpen });

  narrow.addEventListener("change", () => setSidebarOpen(false));
  el.sidebarToggle.addEventListener("click", () => {
    setSidebarOpen(!document.body.classList.contains("sidebar-open"));
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && document.body.classList.contains("sidebar-open")) {
      setSidebarOpen(false);
      el.sidebarToggle.focus();
    }
  });

  el.newConversation.addEventListener("click", newConversation);
  el.loadMore.addEventListener("click", () => loadList({ more: true }));
  window.addEventListener("hashchange", () => {
    const id = conversationFromHash();
    if (id) {
      openConversation(id, { focusTitle: true });
    } else {
      leaveReply();
      showEmpty();
    }
  });

  el.rename.addEventListener("click", showTitleForm);
  el.titleForm.addEventListener("submit", saveTitle);
  el.titleCancel.addEventListener("click", () => {
    hideTitleForm();
    el.rename.focus();
  });
  el.titleInput.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      hideTitleForm();
      el.rename.focus();
    }
  });
  el.deleteCurrent.addEventListener("click", () => {
    if (state.current) confirmDelete(state.current);
  });

  el.composer.addEventListener("submit", sendMessage);
  el.input.addEventListener("keydown", (e) => {
    // isComposing: Enter also confirms an input-method composition.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      el.composer.requestSubmit();
    }
  });
  el.retry.addEventListener("click", retry);
  el.stop.addEventListener("click", stopReply);

  el.tokenDialog.addEventListener("cancel", () => {
    el.tokenDialog.returnValue = "";
  });
  el.tokenForm.addEventListener("submit", () => {
    el.tokenDialog.returnValue = "ok";
  });
}

async function start() {
  wire();
  el.listRetry.addEventListener("click", retryListNow);
  showModelNotice();
  await loadList();
  const id = conversationFromHash();
  if (id) await openConversation(id);
  else renderThread();
}

start();
