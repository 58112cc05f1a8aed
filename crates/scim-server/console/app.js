// The scimd console: a thin page over the admin API (/admin/v1). The admin token is kept in
// sessionStorage (this tab only) and sent in the Authorization header; no cookie is used, so a
// page of another site cannot make the browser act with it (no CSRF), and the token never
// appears in a URL.
"use strict";

const API = "/admin/v1";
const KEY = "scimd-admin-token";
const $ = (id) => document.getElementById(id);
let auditNext = 0;

function say(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(isError));
}

async function api(method, path, body) {
  const token = sessionStorage.getItem(KEY);
  const headers = { Authorization: "Bearer " + token };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  if (response.status === 401) {
    signOut("Signed out: the admin token was refused.");
    throw new Error("unauthorized");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error((data && data.detail) || response.statusText);
  }
  return data;
}

function org() {
  return encodeURIComponent($("org").value);
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text == null ? "–" : String(text);
  row.appendChild(td);
  return td;
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  $("workspace").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("admin-token").value = "";
  say(message || "Signed out.");
}

async function signIn(token) {
  sessionStorage.setItem(KEY, token);
  const listed = await api("GET", "/orgs");
  const select = $("org");
  select.replaceChildren();
  for (const o of listed.organizations) {
    const option = document.createElement("option");
    option.value = o.name;
    option.textContent = o.name;
    select.appendChild(option);
  }
  $("sign-in").hidden = true;
  $("workspace").hidden = false;
  $("sign-out").hidden = false;
  say(listed.organizations.length ? "Signed in." : "Signed in; this token covers no organisation.");
  if (listed.organizations.length) await loadAll();
}

async function loadTokens() {
  const listed = await api("GET", `/orgs/${org()}/tokens`);
  const rows = $("token-rows");
  rows.replaceChildren();
  for (const t of listed.tokens) {
    const row = document.createElement("tr");
    cell(row, t.name);
    cell(row, t.id);
    cell(row, t.createdAt);
    cell(row, t.lastUsedAt);
    cell(row, t.expiresAt || "never");
    cell(row, t.revokedAt);
    const actions = cell(row, "");
    if (!t.revokedAt) {
      const revoke = document.createElement("button");
      revoke.type = "button";
      revoke.textContent = "Revoke";
      revoke.setAttribute("aria-label", `Revoke token ${t.name}`);
      revoke.addEventListener("click", async () => {
        if (!confirm(`Revoke the token ${t.name}? Identity providers using it will get 401.`)) return;
        try {
          await api("DELETE", `/orgs/${org()}/tokens/${encodeURIComponent(t.id)}`);
          say(`Revoked ${t.name}.`);
          await loadTokens();
        } catch (e) { say(e.message, true); }
      });
      actions.appendChild(revoke);
    }
    rows.appendChild(row);
  }
}

async function loadAudit(more) {
  if (!more) {
    auditNext = 0;
    $("audit-rows").replaceChildren();
  }
  const resource = $("audit-resource").value.trim();
  let query = `after=${auditNext}&limit=100`;
  if (resource) query += `&resourceId=${encodeURIComponent(resource)}`;
  const page = await api("GET", `/orgs/${org()}/audit?${query}`);
  for (const e of page.events) {
    const row = document.createElement("tr");
    cell(row, e.seq);
    cell(row, e.occurredAt);
    cell(row, e.kind);
    cell(row, `${e.resourceType} ${e.resourceId}`);
    cell(row, (e.attributes || []).join(", "));
    cell(row, e.tokenId);
    $("audit-rows").appendChild(row);
  }
  auditNext = page.next;
  $("audit-more").hidden = page.events.length < 100;
}

async function loadSettings() {
  const o = await api("GET", `/orgs/${org()}`);
  $("scim-managed").checked = o.scimManaged;
  $("rate-per-second").value = o.rateLimitIsDefault || !o.rateLimit ? "" : o.rateLimit.perSecond;
  $("rate-burst").value = o.rateLimitIsDefault || !o.rateLimit ? "" : o.rateLimit.burst;
  $("profile").value = o.interopProfile;
}

async function loadAll() {
  try {
    await Promise.all([loadTokens(), loadAudit(false), loadSettings()]);
  } catch (e) {
    if (e.message !== "unauthorized") say(e.message, true);
  }
}

function showTab(name) {
  for (const button of document.querySelectorAll("nav button")) {
    button.setAttribute("aria-pressed", String(button.dataset.tab === name));
  }
  for (const section of document.querySelectorAll(".tab")) {
    section.hidden = section.id !== name;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await signIn($("admin-token").value.trim());
    } catch (e) {
      if (e.message !== "unauthorized") say(e.message, true);
    }
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("org").addEventListener("change", loadAll);
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  $("new-token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: $("token-name").value.trim() };
    const days = $("token-days").value;
    if (days) body.expiresIn = Number(days) * 86400;
    try {
      const made = await api("POST", `/orgs/${org()}/tokens`, body);
      $("new-token-value").value = made.token;
      $("new-token").hidden = false;
      $("new-token-value").focus();
      $("new-token-value").select();
      $("token-name").value = "";
      say(`Created ${made.name}. Copy it now: it is shown only once.`);
      await loadTokens();
    } catch (e) { say(e.message, true); }
  });
  $("copy-token").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("new-token-value").value);
      say("Copied.");
    } catch (e) {
      $("new-token-value").select();
      say("Select the token and copy it (the browser refused the clipboard).", true);
    }
  });
  $("done-token").addEventListener("click", () => {
    $("new-token-value").value = "";
    $("new-token").hidden = true;
  });
  $("audit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadAudit(false).catch((e) => say(e.message, true));
  });
  $("audit-more").addEventListener("click", () => loadAudit(true).catch((e) => say(e.message, true)));
  $("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const perSecond = $("rate-per-second").value;
    const burst = $("rate-burst").value;
    const body = {
      scimManaged: $("scim-managed").checked,
      interopProfile: $("profile").value,
      rateLimit: perSecond ? { perSecond: Number(perSecond), burst: Number(burst || perSecond) } : null,
    };
    try {
      await api("PATCH", `/orgs/${org()}`, body);
      say("Settings saved.");
      await loadSettings();
    } catch (e) { say(e.message, true); }
  });
  const kept = sessionStorage.getItem(KEY);
  if (kept) signIn(kept).catch(() => {});
});
