"""Jobs: `rsd job run JOB.toml` and `rsd job check JOB.toml` (docs/reference/contract.md §6).

Owns: reading a job file (`[variables]`, `[[steps]]`), checking it offline, and running its steps in
order with shared variables: `oauth2` (a token request whose response values become variables),
`python` (a script run with the variables as globals and a Matillion-style `context`), and `query`
(a profile into a target, through `rsd.api.run`). Must not: print (progress and summaries go through
the `report` callback the CLI passes), or resolve references itself (that is `rsd.refs`).

Paths in a job (profiles, scripts, SQLite files) are relative to the job file's folder.
"""

from .check import check_job
from .runner import Context, JobRunner, StepTimeout
from .spec import KNOWN, REQUIRED, STEP_TYPES, Job, Step, StepResult, load_job

__all__ = ["Context", "Job", "JobRunner", "KNOWN", "REQUIRED", "STEP_TYPES", "Step", "StepResult", "StepTimeout",
           "check_job", "load_job"]
