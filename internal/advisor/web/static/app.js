// The advisor page: a list of conversations, one open thread, and a
// composer whose reply streams in over Server-Sent Events. Everything the
// model or a user wrote is put into the page as text (textContent), never
// as HTML, so a reply cannot inject markup or script.

import { ApiError, json, request, setTokenPrompt } from "./api.js";
import { readEvents } from "./sse.js";

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

function messageItem(m, stateName = "done") {
  const li = document.createElement("li");
  li.className = `message role-${m.role}`;
  li.dataset.state = stateName;
  if (m.id) li.dataset.id = m.id;

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

  const body = document.createElement("div");
  body.className = "message-content";
  body.textContent = m.content || "";

  li.append(head, body);
  return li;
}

function renderHeader() {
  const c = state.current;
  el.title.textContent = titleOf(c);
  const parts = [countText(c.message_count)];
  if (c.model) parts.push(`model ${c.model}`);
  parts.push(`started ${formatDate(c.started_at)}`);
  el.meta.textContent = parts.join(" · ");
  document.title = `${titleOf(c)} — Lab advisor`;
}

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
}

function scrollToEnd() {
  el.thread.lastElementChild?.scrollIntoView({ block: "end" });
}

function lastMessage() {
  const ms = state.current?.messages || [];
  return ms[ms.length - 1];
}

function offerRetryIfUnanswered() {
  if (state.busy) return;
  if (lastMessage()?.role === "user") {
    showProblem("The last message has no reply yet.", { retry: true });
  } else {
    hideProblem();
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
  if (state.busy) return;
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

async function newConversation() {
  if (state.busy) return null;
  try {
    const c = await json("api/conversations", { method: "POST", body: {} });
    state.current = c;
    history.replaceState(null, "", `#c/${c.id}`);
    upsertSummary(c);
    renderThread();
    setSidebarOpen(false);
    announce("New conversation started.");
    el.input.focus();
    return c;
  } catch (err) {
    showProblem(`Could not start a conversation: ${err.message}`);
    return null;
  }
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
  el.rename.hidden = false;
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
}

async function sendMessage(event) {
  event.preventDefault();
  if (state.busy) return;
  const content = el.input.value;
  if (!content.trim()) return;
  let c = state.current;
  if (!c) {
    c = await newConversation();
    if (!c) return;
  }
  el.input.value = "";
  hideProblem();
  const pending = messageItem({ role: "user", content, created_at: new Date().toISOString() }, "pending");
  el.thread.append(pending);
  const stored = await streamReply(c, "chat", { content }, pending);
  const last = lastMessage();
  const kept = stored.user || (last?.role === "user" && last.content === content);
  if (!kept && !el.input.value) {
    // The server kept nothing: give the text back so it is not lost.
    el.input.value = content;
  }
}

async function retry() {
  const c = state.current;
  if (!c || state.busy) return;
  hideProblem();
  await streamReply(c, "reply", {}, null);
}

// streamReply POSTs chat or reply with Accept: text/event-stream and shows
// the reply as it arrives. It returns which parts the server stored.
async function streamReply(c, action, body, pendingUser) {
  setBusy(true);
  const reply = messageItem({ role: "assistant", content: "" }, "streaming");
  reply.setAttribute("aria-busy", "true");
  const replyText = reply.querySelector(".message-content");
  el.thread.append(reply);
  scrollToEnd();
  announce("The advisor is replying…");

  const stored = { user: null, reply: null };
  let failure = "";
  try {
    const res = await request(apiPath(c.id, `/${action}`), {
      method: "POST",
      body,
      accept: "text/event-stream",
    });
    const type = res.headers.get("Content-Type") || "";
    if (type.startsWith("text/event-stream")) {
      await readEvents(res.body, (ev) => {
        const data = JSON.parse(ev.data);
        switch (ev.event) {
          case "user":
            // Stored: the question stops looking pending at once.
            stored.user = data;
            if (pendingUser) {
              const shown = messageItem(data);
              pendingUser.replaceWith(shown);
              pendingUser = shown;
            }
            break;
          case "token":
            replyText.append(data.delta || "");
            scrollToEnd();
            break;
          case "done":
            stored.reply = data;
            break;
          case "error":
            failure = data.error || "The model failed.";
            break;
        }
      });
    } else {
      // A server may answer in plain JSON; take that as the whole reply.
      const whole = await res.json();
      stored.user = whole.user || null;
      stored.reply = whole.reply || null;
    }
    if (!stored.reply && !failure) failure = "The reply was cut off before it finished.";
  } catch (err) {
    failure = err instanceof ApiError ? err.message : `The reply could not be read: ${err.message}`;
  }

  if (stored.user) {
    if (pendingUser?.dataset.state === "pending") pendingUser.replaceWith(messageItem(stored.user));
    c.messages.push(stored.user);
  }

  if (stored.reply) {
    reply.replaceWith(messageItem(stored.reply));
    c.messages.push(stored.reply);
    setBusy(false);
    announce("Reply complete.");
    await refreshSummary(c.id);
    scrollToEnd();
    return stored;
  }

  // The partial reply was not stored, so it leaves the page too. What the
  // server did keep is re-read rather than guessed.
  reply.remove();
  pendingUser?.remove();
  setBusy(false);
  await resync(c.id);
  const unanswered = lastMessage()?.role === "user";
  showProblem(failure, { retry: unanswered });
  announce(failure);
  return stored;
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
    if (id) openConversation(id, { focusTitle: true });
    else if (!state.busy) showEmpty();
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
