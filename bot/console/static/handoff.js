// The operators' pages: new citizen messages appear without reloading (the ticket page
// polls its JSON every few seconds), and the queue page reloads when the queue changes.
// No library, no network beyond this console; without it the pages still work by reload.
"use strict";

const HANDOFF_POLL_MS = 3000;
const QUEUE_POLL_MS = 5000;
const SPEAKERS = {
  user: "Người dân",
  bot: "Trợ lý",
  operator: "Cán bộ",
  notice: "Thông báo cho người dân",
};

function getJson(url) {
  return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : null));
}

function messageItem(message) {
  const item = document.createElement("li");
  item.dataset.event = String(message.event_id);
  if (message.who === "session") {
    item.className = "session";
    item.textContent = "Phiên mới · " + message.at;
    return item;
  }
  item.className = message.who;
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = (SPEAKERS[message.who] || "") + " · " + message.at;
  const text = document.createElement("div");
  text.className = "text";
  text.textContent = message.text; // already masked by the server; never parsed as HTML
  item.append(meta, text);
  return item;
}

function showEnded(ticket) {
  const notice = document.getElementById("ended-notice");
  const status = document.getElementById("ticket-status");
  if (status && status.dataset.status !== ticket.status) {
    status.dataset.status = ticket.status;
    status.textContent = ticket.status_label + (ticket.taken_by ? " · cán bộ " + ticket.taken_by : "");
  }
  if (ticket.status === "active") return;
  if (notice) {
    notice.textContent = "Cuộc trao đổi đã kết thúc: trợ lý trả lời người dân.";
    notice.hidden = ticket.status === "queued";
  }
  document.querySelectorAll("#reply button, #end-form button, .send-suggestion").forEach((b) => {
    b.disabled = true;
  });
}

function pollTicket(list) {
  const after = list.dataset.after || "0";
  getJson(list.dataset.poll + "?after=" + encodeURIComponent(after))
    .then((data) => {
      if (data) {
        data.messages.forEach((message) => {
          if (!list.querySelector('[data-event="' + message.event_id + '"]')) {
            list.append(messageItem(message));
          }
          list.dataset.after = String(Math.max(Number(list.dataset.after || 0), message.event_id));
        });
        showEnded(data.ticket);
      }
      window.setTimeout(() => pollTicket(list), HANDOFF_POLL_MS);
    })
    .catch(() => window.setTimeout(() => pollTicket(list), HANDOFF_POLL_MS * 2));
}

function pollQueue(table) {
  getJson(table.dataset.poll)
    .then((data) => {
      if (data) {
        const ids = data.queued.map((ticket) => ticket.id).join(",");
        if (ids !== table.dataset.ids) {
          window.location.reload();
          return;
        }
      }
      window.setTimeout(() => pollQueue(table), QUEUE_POLL_MS);
    })
    .catch(() => window.setTimeout(() => pollQueue(table), QUEUE_POLL_MS * 2));
}

document.addEventListener("DOMContentLoaded", () => {
  const list = document.querySelector("ol.transcript[data-poll]");
  if (list) window.setTimeout(() => pollTicket(list), HANDOFF_POLL_MS);
  const table = document.querySelector("table#queue[data-poll]");
  if (table) window.setTimeout(() => pollQueue(table), QUEUE_POLL_MS);
});
