// The Telegram sandbox's phone view. Staff play Telegram users against the desk's own bot: every chat
// is a "phone" (columns on a wide screen, tabs on a narrow one). Bot messages arrive on /sandbox/ws.
// No user or bot text is ever set as HTML: formatting is rebuilt from Telegram's entities as elements.

import { api } from "/static/panel.js";

const $ = (selector, root = document) => root.querySelector(selector);
const I18N = JSON.parse($("#sandbox-i18n")?.textContent || "{}");
const DATA = JSON.parse($("#page-data")?.textContent || "{}");
const t = (key, params = {}) => (I18N[key] || key).replace(/\{(\w+)\}/g, (w, n) => (n in params ? String(params[n]) : w));
const SAFE_URL = /^(https?:\/\/|tg:\/\/)/i;
const OPEN_KEY = "desk-sandbox-open";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || ["href", "src", "title", "type", "role", "alt",
      "placeholder", "accept", "name", "maxlength"].includes(key)) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// ---- formatted text: Telegram's entities (UTF-16 offsets, as JS strings count) to elements ----
const TAGS = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  spoiler: "span", blockquote: "blockquote", expandable_blockquote: "blockquote", text_link: "a" };

export function formatted(text, entities) {
  const root = document.createDocumentFragment();
  const sorted = (entities || []).filter((e) => TAGS[e.type]).slice()
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  fill(root, text || "", 0, (text || "").length, sorted);
  return root;
}

function fill(parent, text, start, end, entities) {
  let at = start;
  let i = 0;
  while (i < entities.length) {
    const entity = entities[i];
    const from = Math.max(entity.offset, at);
    const to = Math.min(entity.offset + entity.length, end);
    if (from > at) parent.append(document.createTextNode(text.slice(at, from)));
    const inner = [];
    let j = i + 1;
    while (j < entities.length && entities[j].offset < entity.offset + entity.length) inner.push(entities[j++]);
    const node = element(entity);
    fill(node, text, from, to, inner);
    parent.append(node);
    at = Math.max(at, to);
    i = j;
  }
  if (at < end) parent.append(document.createTextNode(text.slice(at, end)));
}

function element(entity) {
  if (entity.type === "text_link") {
    if (!SAFE_URL.test(entity.url || "")) return el("span", { class: "tg-link" });
    return el("a", { href: entity.url, target: "_blank", rel: "noopener noreferrer" });
  }
  return el(TAGS[entity.type], { class: entity.type === "spoiler" ? "tg-spoiler" : null });
}

// ---- one user's phone ----
class Phone {
  constructor(app, user) {
    this.app = app;
    this.user = user;
    this.rows = new Map();
    this.replyTo = null;
    this.editing = null;
    this.build();
  }

  build() {
    const u = this.user;
    this.list = el("div", { class: "tg-messages", role: "log", "aria-live": "polite" });
    this.keyboard = el("div", { class: "tg-keyboard" });
    this.context = el("div", { class: "tg-context", hidden: true });
    this.input = el("textarea", { class: "tg-input", rows: 1, maxlength: 4096, placeholder: t("message"), "aria-label": t("message") });
    this.file = el("input", { type: "file", class: "tg-file", "aria-label": t("attach") });
    this.asPhoto = el("input", { type: "checkbox", checked: true });
    this.toast = el("div", { class: "tg-toast", role: "status", hidden: true });
    this.deep = el("input", { class: "tg-deep", placeholder: t("deep_link"), "aria-label": t("deep_link") });
    const send = el("button", { type: "submit", class: "tg-send", text: t("send") });
    const composer = el("form", { class: "tg-composer" }, el("label", { class: "tg-attach", title: t("attach") }, "📎", this.file),
      this.input, send);
    composer.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.submit(); }
    });
    this.file.addEventListener("change", () => this.sendFile());
    const start = el("form", { class: "tg-start" }, this.deep, el("button", { type: "submit", text: t("start") }));
    start.addEventListener("submit", (e) => { e.preventDefault(); this.start(this.deep.value); });
    const close = el("button", { type: "button", class: "link", text: t("close") });
    close.addEventListener("click", () => this.app.close(this));
    this.root = el("section", { class: "tg-phone", "data-user": String(u.id), role: "tabpanel" },
      el("header", { class: "tg-head" }, el("strong", { text: u.first_name }),
        el("span", { class: "muted", text: ` ${u.username ? "@" + u.username : ""} · ${(u.language || "").toUpperCase()} · ${t("bot")} @${this.app.bot}` }), close),
      this.list, this.toast, el("label", { class: "tg-photo-opt" }, this.asPhoto, " ", t("as_photo")),
      start, this.context, this.keyboard, composer);
    this.showKeyboard(u.keyboard);
  }

  async load() {
    const data = await api("GET", `/api/sandbox/users/${this.user.id}/chat`);
    this.list.replaceChildren();
    this.rows.clear();
    for (const message of data.messages) this.upsert(message);
    this.showKeyboard(data.user.keyboard);
  }

  mine(message) { return message.from && message.from.id === this.user.id; }

  upsert(message) {
    const row = this.render(message);
    const old = this.rows.get(message.message_id);
    if (old) old.replaceWith(row);
    else this.list.append(row);
    this.rows.set(message.message_id, row);
    this.list.scrollTop = this.list.scrollHeight;
  }

  remove(messageId) {
    const row = this.rows.get(messageId);
    if (row) row.remove();
    this.rows.delete(messageId);
  }

  render(m) {
    const mine = this.mine(m);
    const bubble = el("div", { class: `tg-msg ${mine ? "tg-out" : "tg-in"}`, "data-message-id": String(m.message_id) });
    if (m.reply_to_message) {
      const quoted = m.reply_to_message.text || m.reply_to_message.caption || "…";
      bubble.append(el("div", { class: "tg-quote", text: quoted.slice(0, 120) }));
    }
    if (m.photo && m.photo.length) {
      const largest = m.photo[m.photo.length - 1];
      bubble.append(el("img", { class: "tg-img", src: `/api/sandbox/files/${encodeURIComponent(largest.file_id)}`, alt: t("photo") }));
    }
    const file = m.document || m.audio || m.video || m.voice || m.animation || m.sticker || m.video_note;
    if (file) {
      bubble.append(el("a", { class: "tg-doc", href: `/api/sandbox/files/${encodeURIComponent(file.file_id)}`,
        text: `📄 ${file.file_name || t("file")} (${Math.ceil((file.file_size || 0) / 1024)} KB)` }));
    }
    if (m.location) bubble.append(el("div", { text: "📍 " + t("location", { lat: m.location.latitude, lon: m.location.longitude }) }));
    if (m.contact) bubble.append(el("div", { text: "👤 " + t("contact", { phone: m.contact.phone_number }) }));
    const body = m.text !== undefined ? formatted(m.text, m.entities) : formatted(m.caption || "", m.caption_entities);
    bubble.append(el("div", { class: "tg-text" }, body));
    const meta = el("div", { class: "tg-meta", text: new Date((m.date || 0) * 1000).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" }) + (m.edit_date ? " · " + t("edited") : "") });
    const reply = el("button", { type: "button", class: "link", text: t("reply") });
    reply.addEventListener("click", () => this.setContext("reply", m));
    meta.append(" ", reply);
    if (mine && m.text !== undefined) {
      const edit = el("button", { type: "button", class: "link", text: t("edit") });
      edit.addEventListener("click", () => this.setContext("edit", m));
      meta.append(edit);
    }
    bubble.append(meta);
    const rows = (m.reply_markup && m.reply_markup.inline_keyboard) || [];
    if (rows.length) {
      const grid = el("div", { class: "tg-buttons" });
      for (const row of rows) {
        const line = el("div", { class: "tg-row" });
        for (const button of row) line.append(this.inlineButton(m, button));
        grid.append(line);
      }
      bubble.append(grid);
    }
    return bubble;
  }

  inlineButton(m, button) {
    if (button.url) {
      const safe = SAFE_URL.test(button.url);
      return el(safe ? "a" : "span", { class: "tg-button", href: safe ? button.url : null, target: "_blank", rel: "noopener noreferrer", text: button.text });
    }
    const node = el("button", { type: "button", class: "tg-button", text: button.text });
    node.addEventListener("click", () => this.act(() => api("POST", `/api/sandbox/users/${this.user.id}/press`, { message_id: m.message_id, data: button.callback_data })));
    return node;
  }

  showKeyboard(markup) {
    this.keyboard.replaceChildren();
    for (const row of (markup && markup.keyboard) || []) {
      const line = el("div", { class: "tg-row" });
      for (const raw of row) {
        const button = typeof raw === "string" ? { text: raw } : raw;
        const node = el("button", { type: "button", class: "tg-key", text: button.text });
        node.addEventListener("click", () => this.key(button));
        line.append(node);
      }
      this.keyboard.append(line);
    }
  }

  key(button) {
    const base = `/api/sandbox/users/${this.user.id}`;
    if (button.request_contact) {
      const phone = prompt(t("phone"), "+1 555 0100");
      if (phone) this.act(() => api("POST", `${base}/contact`, { phone_number: phone }));
    } else if (button.request_location) {
      const answer = prompt(t("latitude_longitude"), "55.7558, 37.6173");
      if (!answer) return;
      const [latitude, longitude] = answer.split(",").map((part) => Number(part.trim()));
      this.act(() => api("POST", `${base}/location`, { latitude, longitude }));
    } else {
      this.act(() => api("POST", `${base}/messages`, { text: button.text }));
    }
  }

  setContext(kind, message) {
    this.replyTo = kind === "reply" ? message : null;
    this.editing = kind === "edit" ? message : null;
    const cancel = el("button", { type: "button", class: "link", text: t("cancel") });
    cancel.addEventListener("click", () => this.clearContext());
    const what = kind === "reply" ? t("replying_to", { text: (message.text || message.caption || "…").slice(0, 60) }) : t("editing");
    this.context.replaceChildren(el("span", { text: what }), " ", cancel);
    this.context.hidden = false;
    if (kind === "edit") this.input.value = message.text || "";
    this.input.focus();
  }

  clearContext() {
    this.replyTo = null;
    this.editing = null;
    this.context.hidden = true;
  }

  async submit() {
    const text = this.input.value.trim();
    if (!text) return;
    const base = `/api/sandbox/users/${this.user.id}`;
    const ok = this.editing
      ? await this.act(() => api("PATCH", `${base}/messages/${this.editing.message_id}`, { text }))
      : await this.act(() => api("POST", `${base}/messages`, { text, reply_to: this.replyTo ? this.replyTo.message_id : null }));
    if (ok) {
      this.input.value = "";
      this.clearContext();
    }
  }

  start(raw) {
    const payload = startPayload(raw);
    if (payload === null) return this.app.error(t("bad_start"));
    this.deep.value = "";
    return this.act(() => api("POST", `/api/sandbox/users/${this.user.id}/messages`, { text: payload ? `/start ${payload}` : "/start" }));
  }

  async sendFile() {
    const file = this.file.files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    if (this.input.value.trim()) form.append("caption", this.input.value.trim());
    form.append("as_photo", this.asPhoto.checked ? "1" : "0");
    if (await this.act(() => api("POST", `/api/sandbox/users/${this.user.id}/files`, undefined, { form }))) this.input.value = "";
    this.file.value = "";
  }

  async act(call) {
    try {
      await call();
      this.app.error("");
      return true;
    } catch (error) {
      this.app.error(error.message);
      return false;
    }
  }

  showToast(text) {
    this.toast.textContent = text;
    this.toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toast.hidden = true; }, 4000);
  }
}

// A t.me link (https://t.me/bot?start=x), a tg:// link, "/start x", or the payload itself.
export function startPayload(raw) {
  const value = (raw || "").trim();
  if (!value) return "";
  if (/^(https?:\/\/|tg:\/\/)/i.test(value)) {
    try {
      const url = new URL(value);
      return url.searchParams.get("start") ?? null;
    } catch {
      return null;
    }
  }
  const payload = value.replace(/^\/start\s*/, "");
  return /^[A-Za-z0-9_-]{0,64}$/.test(payload) ? payload : null;
}

// ---- the page ----
class Sandbox {
  constructor() {
    this.phones = new Map();
    this.users = [];
    this.bot = "";
    this.select = $("#sandbox-users");
    this.tabs = $("#sandbox-tabs");
    this.column = $("#sandbox-phones");
    $("#sandbox-new-user").addEventListener("submit", (e) => { e.preventDefault(); this.create(e.target); });
    $("#sandbox-open").addEventListener("click", () => this.open(Number(this.select.value)));
  }

  error(text) { $("#sandbox-error").textContent = text || ""; }

  async refresh() {
    const data = await api("GET", "/api/sandbox/users");
    this.users = data.users;
    this.bot = data.bot;
    this.select.replaceChildren(...this.users.map((u) => el("option", { value: String(u.id), text: `${u.first_name}${u.username ? " @" + u.username : ""} (${u.language})` })));
    if (!this.users.length) this.error(t("no_users"));
  }

  async create(form) {
    const body = { first_name: form.first_name.value.trim(), language: form.language.value, username: form.username.value.trim() || null };
    try {
      const user = await api("POST", "/api/sandbox/users", body);
      form.reset();
      await this.refresh();
      await this.open(user.id);
      this.error("");
    } catch (error) {
      this.error(error.message);
    }
  }

  async open(userId) {
    if (!userId) return;
    if (this.phones.has(userId)) return this.activate(userId);
    const user = this.users.find((u) => u.id === userId);
    if (!user) return;
    const phone = new Phone(this, user);
    this.phones.set(userId, phone);
    this.column.append(phone.root);
    const tab = el("button", { type: "button", role: "tab", class: "tg-tab", "data-user": String(userId), text: user.first_name });
    tab.addEventListener("click", () => this.activate(userId));
    this.tabs.append(tab);
    phone.tab = tab;
    this.remember();
    await phone.load();
    this.activate(userId);
    if (DATA.start && this.phones.size === 1) phone.deep.value = DATA.start;
  }

  // The open chats outlive a reload of the page (their history is the server's, read again by load()).
  remember() {
    try { sessionStorage.setItem(OPEN_KEY, JSON.stringify([...this.phones.keys()])); } catch { /* private mode */ }
  }

  remembered() {
    try { return JSON.parse(sessionStorage.getItem(OPEN_KEY) || "[]").filter(Number.isInteger); } catch { return []; }
  }

  close(phone) {
    phone.root.remove();
    phone.tab.remove();
    this.phones.delete(phone.user.id);
    this.remember();
    const next = this.phones.keys().next();
    if (!next.done) this.activate(next.value);
  }

  activate(userId) {
    for (const [id, phone] of this.phones) {
      const on = id === userId;
      phone.root.classList.toggle("active", on);
      phone.tab.setAttribute("aria-selected", on ? "true" : "false");
    }
  }

  on(event) {
    const phone = this.phones.get(event.chat_id);
    if (!phone) return;
    if (event.type === "message" || event.type === "edited") phone.upsert(event.message);
    else if (event.type === "deleted") phone.remove(event.message_id);
    else if (event.type === "keyboard") phone.showKeyboard(event.keyboard);
    else if (event.type === "toast") phone.showToast(event.text);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/sandbox/ws`);
    ws.addEventListener("message", (e) => {
      const event = JSON.parse(e.data);
      if (event.type === "hello") {
        this.live = true;
        for (const phone of this.phones.values()) phone.load().catch(() => {});  // what arrived while away
      } else this.on(event);
    });
    ws.addEventListener("close", () => { this.live = false; setTimeout(() => this.connect(), 1000); });
    this.ws = ws;
  }
}

const sandbox = new Sandbox();
window.deskSandbox = sandbox;  // lets the browser tests see the socket state
sandbox.connect();
sandbox.refresh().then(async () => {
  for (const id of sandbox.remembered()) await sandbox.open(id);
  if (DATA.start && sandbox.users.length === 1) await sandbox.open(sandbox.users[0].id);
}).catch((error) => sandbox.error(error.message));
