"""Train and compare, promote, roll back: models are versioned files plus database rows.

``jobs`` runs training jobs (``Trainer``), ``versions`` moves models in and out
of use (``Trainer.models``), ``compare`` computes the metric differences shown
on a job's page, ``process`` streams the subprocesses' output. The names other
modules use are importable from here.
"""

from bot.console.training.common import TrainingError, sha256
from bot.console.training.compare import OVERALL_METRICS, compare
from bot.console.training.jobs import Trainer, job_alive, job_dict, parse_progress
from bot.console.training.versions import ModelVersions, current_status, version_dict

__all__ = [
    "OVERALL_METRICS",
    "ModelVersions",
    "Trainer",
    "TrainingError",
    "compare",
    "current_status",
    "job_alive",
    "job_dict",
    "parse_progress",
    "sha256",
    "version_dict",
]
