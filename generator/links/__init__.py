"""Link check stage: URLs with their positions -> one verdict per URL -> reports.

Modules, in the order a URL meets them:

``collect``    where URLs come from (``LinkTarget``/``LinkSource``: file, line, column, role)
``config``     the policy (``CheckerConfig``): timeouts, caps, per-host limits, statuses
``run``        ``check_links``: every URL once, in parallel; history and grace applied
``ratelimit``  the per-host gate: ``limit`` requests in flight, spacing that adapts to 429
``request``    one URL: HEAD/GET, redirects by hand (each hop guarded), retries, a deadline
``page``       page sniffing: title, main heading, anchors
``verdict``    what an answer means (ok, redirected, broken, blocked, transient, skipped)
``history``    ``LinkCache``: per-URL history between runs (grace for links that worked)
``reports``    text, JSON, Markdown, GitHub annotations; ``read_report`` for the site

The address guard, deadlines, User-Agent, retry statuses and Retry-After rule are shared
with the sample fetcher in ``generator.net``.

Verdicts:

    ok          2xx (after temporary redirects), content checks passed
    redirected  a permanent redirect (301/308) answered: "moved to X: update the data"
    broken      404, 410, other 4xx, DNS or TLS failure, refused connection, redirect loop,
                too many redirects, missing ``#anchor``, soft 404 (a 200 page whose title or
                main heading says "not found"), or a private address
    blocked     401, 403, 451, 429 after retries, a bot wall (Cloudflare challenge ...)
    transient   5xx, timeout or reset after retries, or the per-URL deadline passed
    skipped     not checked: offline, no network, or not an http(s) link

Text a linked server chooses (titles, redirect targets) is kept as plain text in every
report; the page templates escape it.
"""

from generator.links.collect import (
    MARKDOWN_ROLE,
    URL_FILE_ROLE,
    LinkSource,
    LinkTarget,
    dedupe_targets,
    targets_from_markdown,
    targets_from_url_file,
)
from generator.links.config import CheckerConfig, HostPolicy, LinkConfigError
from generator.links.history import LinkCache
from generator.links.reports import (
    NO_NETWORK,
    LinkReportError,
    ReportFormat,
    format_report,
    load_report,
    merge_runs,
    read_report,
    write_report,
)
from generator.links.run import check_links
from generator.links.verdict import SUCCESS_VERDICTS, LinkResult, LinkRun, Verdict

__all__ = [
    "MARKDOWN_ROLE", "NO_NETWORK", "SUCCESS_VERDICTS", "URL_FILE_ROLE",
    "CheckerConfig", "HostPolicy", "LinkCache", "LinkConfigError", "LinkReportError",
    "LinkResult", "LinkRun", "LinkSource", "LinkTarget", "ReportFormat", "Verdict", "check_links",
    "dedupe_targets", "format_report", "load_report", "merge_runs", "read_report", "targets_from_markdown",
    "targets_from_url_file", "write_report",
]
