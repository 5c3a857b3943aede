// Progress of training jobs and confirmation of model changes. No library, no network
// beyond this console: the page works without it (reload by hand).
"use strict";

function pollJob(bar) {
  const id = bar.dataset.job;
  const stage = document.getElementById("job-stage");
  const percent = document.getElementById("job-percent");
  const status = document.getElementById("job-status");
  fetch("/api/jobs/" + encodeURIComponent(id), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  })
    .then((response) => (response.ok ? response.json() : null))
    .then((job) => {
      if (job) {
        bar.value = job.progress;
        bar.textContent = job.progress + "%";
        if (stage) stage.textContent = job.stage;
        if (percent) percent.textContent = job.progress + "%";
        if (status) status.textContent = job.status_label;
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
          return;
        }
      }
      window.setTimeout(() => pollJob(bar), 2000);
    })
    .catch(() => window.setTimeout(() => pollJob(bar), 5000));
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("progress[data-job]").forEach((bar) => {
    if (bar.dataset.status === "queued" || bar.dataset.status === "running") {
      window.setTimeout(() => pollJob(bar), 1500);
    }
  });
});
