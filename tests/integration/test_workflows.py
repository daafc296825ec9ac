"""GitHub Actions workflows and the pre-commit hook: linted by actionlint, and doing what CI promises.

actionlint is the binary shipped by a package of the `test` extra (pyproject.toml); it
needs no network. Its ShellCheck and pyflakes integrations are switched off so the result
does not depend on what else a machine has installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from edits import replace_once
from gitrepo import git

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
MINIMAL = (ROOT / "tests" / "fixtures" / "minimal.yaml").read_text(encoding="utf-8")
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]  # how GitHub runs a `run:` step


def load(name: str) -> dict[str, Any]:
    # BaseLoader: every scalar stays text, and the key `on` stays "on" (YAML 1.1 reads True)
    return yaml.load((WORKFLOWS / name).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def step_running(workflow: dict[str, Any], command: str) -> dict[str, Any]:
    found = [s for s in steps(workflow) if command in s.get("run", "")]
    assert found, f"no step runs {command!r}"
    return found[0]


def step_using(workflow: dict[str, Any], action: str) -> dict[str, Any]:
    found = [s for s in steps(workflow) if s.get("uses", "").split("@")[0] == action]
    assert found, f"no step uses {action}"
    return found[0]


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is missing: install the test extra (`pip install -e '.[test]'`, done by ./dev test)")
    return found


def test_workflows_pass_actionlint():
    files = sorted(str(p.relative_to(ROOT)) for p in WORKFLOWS.glob("*.yml"))
    assert {".github/workflows/links-weekly.yml", ".github/workflows/pages.yml", ".github/workflows/pull-request.yml"} <= set(files)
    done = subprocess.run(
        [actionlint(), "-no-color", "-shellcheck=", "-pyflakes=", "-format", "{{json .}}", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings = json.loads(done.stdout or "[]")
    assert [f"{f['filepath']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings] == []
    assert done.returncode == 0, done.stderr


def test_every_action_is_pinned_to_a_major_version_and_python_is_311():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = load(path.name)
        for step in steps(workflow):
            if "uses" in step:
                assert re.fullmatch(r"actions/[a-z-]+(/[a-z-]+)?@v\d+", step["uses"]), (path.name, step["uses"])
            if step.get("uses", "").startswith("actions/setup-python@"):
                assert step["with"]["python-version"] == "3.11", path.name


def test_pull_request_workflow_validates_with_annotations():
    workflow = load("pull-request.yml")
    assert "pull_request" in workflow["on"]
    assert step_running(workflow, "sku-survey validate")["run"].strip() == "sku-survey validate --format github"


def test_pull_request_workflow_runs_the_test_suite_as_ci_does():
    step = step_running(load("pull-request.yml"), "./dev test")
    assert step["run"].strip() == "./dev test"
    assert step["env"]["CI"] == "true"


def test_pull_request_workflow_builds_the_site_strictly_offline():
    assert step_running(load("pull-request.yml"), "./dev build")["run"].strip() == "./dev build --offline"


def test_pull_request_workflow_checks_only_the_links_it_adds():
    workflow = load("pull-request.yml")
    job = workflow["jobs"]["links"]
    checkout = step_using({"jobs": {"links": job}}, "actions/checkout")
    assert checkout["with"]["fetch-depth"] == "0"  # the base commit must be there to diff against
    listing = step_running(workflow, "git diff")
    assert "data/datasets.yaml" in listing["run"]
    assert listing["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    check = step_running(workflow, "sku-survey links")
    assert check["run"].strip() == 'sku-survey links --only "$URL_FILE" --format github'
    assert check["if"] == "steps.changed.outputs.count != '0'"


def run_listing_step(tmp_path: Path, head_text: str) -> tuple[list[str], dict[str, str]]:
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "data" / "datasets.yaml").write_text(MINIMAL, encoding="utf-8")
    (repo / "README").write_text("x\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "data" / "datasets.yaml").write_text(head_text, encoding="utf-8")
    (repo / "README").write_text("see https://example.org/readme-only\n", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "head")
    url_file, output = tmp_path / "changed-urls.txt", tmp_path / "github-output"
    output.touch()
    script = step_running(load("pull-request.yml"), "git diff")["run"]
    env = {**os.environ, "BASE_SHA": base, "URL_FILE": str(url_file), "GITHUB_OUTPUT": str(output)}
    subprocess.run([*BASH, "-c", script], cwd=repo, env=env, check=True, capture_output=True, text=True, timeout=60)
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines())
    return url_file.read_text(encoding="utf-8").splitlines(), outputs


def test_link_listing_step_finds_the_urls_on_added_and_changed_lines(tmp_path):
    head = (
        replace_once(
            replace_once(
                replace_once(MINIMAL, "homepage: https://example.org/alpha\n", "homepage: https://example.org/alpha/new\n"),
                "{rank: 1, title: Winner, url: https://example.org/w1}",
                "{rank: 1, title: Winner, url: https://example.org/w1?a=1,2}",
            ),
            "          expect: [403]\n",
            "          expect: [403]\n"
            "        - {url: https://example.org/beta/mirror, label: {zh: 镜像, en: Mirror}}\n"
            "  # see https://example.org/only-in-a-comment\n")
    )
    urls, outputs = run_listing_step(tmp_path, head)
    assert urls == [
        "https://example.org/alpha/new",
        "https://example.org/beta/mirror",
        "https://example.org/w1?a=1,2",
    ]
    assert outputs["count"] == "3"


def test_link_listing_step_with_no_new_link_says_zero(tmp_path):
    urls, outputs = run_listing_step(tmp_path, replace_once(MINIMAL, "name: Alpha\n", "name: Alpha v2\n"))
    assert urls == []
    assert outputs["count"] == "0"


def test_weekly_workflow_keeps_the_link_history_and_reports():
    workflow = load("links-weekly.yml")
    assert workflow["on"]["schedule"][0]["cron"]
    cache = step_using(workflow, "actions/cache")
    assert cache["with"]["path"] == ".cache/links"
    assert cache["with"]["restore-keys"].strip() == "links-"
    check = step_running(workflow, "sku-survey links")
    assert "sku-survey links --format json --cache .cache/links/cache.json > .cache/links/report.json" in check["run"]
    upload = step_using(workflow, "actions/upload-artifact")
    assert upload["with"]["path"] == ".cache/links/report.json"
    assert "!cancelled()" in upload["if"]
    summary = step_running(workflow, "GITHUB_STEP_SUMMARY")
    assert '"markdown"' in summary["run"]


def test_weekly_summary_step_renders_the_markdown_report_of_the_same_run(tmp_path):
    from generator.links import LinkResult, LinkRun, LinkSource, Verdict, format_report

    run = LinkRun(
        (
            LinkResult(
                url="https://example.org/gone",
                verdict=Verdict.BROKEN,
                http_status=404,
                final_url=None,
                attempts=1,
                elapsed_s=0.2,
                reason="404 Not Found",
                sources=(LinkSource("data/datasets.yaml", 31, 17, "homepage", "alpha"),),
                consecutive_failures=2,
                fails_run=True,
            ),
            LinkResult(
                url="https://example.org/fine",
                verdict=Verdict.OK,
                http_status=200,
                final_url=None,
                attempts=1,
                elapsed_s=0.1,
                reason="200 OK",
                sources=(LinkSource("data/datasets.yaml", 40, 17, "source", "alpha"),),
            ),
        )
    )
    (tmp_path / ".cache" / "links").mkdir(parents=True)
    (tmp_path / ".cache" / "links" / "report.json").write_text(format_report(run, "json"), encoding="utf-8")
    summary = tmp_path / "summary.md"
    script = step_running(load("links-weekly.yml"), "GITHUB_STEP_SUMMARY")["run"]
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([*BASH, "-c", script], cwd=tmp_path, env=env, check=True, capture_output=True, text=True, timeout=60)
    text = summary.read_text(encoding="utf-8")
    assert text == format_report(run, "markdown")
    assert "https://example.org/gone" in text


def test_pages_workflow_deploys_main_to_github_pages():
    workflow = load("pages.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    build = workflow["jobs"]["build"]
    assert [s["run"].strip() for s in build["steps"] if "run" in s] == ["./dev build"]
    upload = step_using({"jobs": {"build": build}}, "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "site"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["environment"]["url"] == "${{ steps.deployment.outputs.page_url }}"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]


def test_pre_commit_hook_validates_when_data_changes():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] if repo["repo"] == "local" for hook in repo["hooks"]]
    validate = [hook for hook in hooks if "sku-survey validate" in hook["entry"]]
    assert len(validate) == 1
    hook = validate[0]
    assert hook["language"] in ("system", "python")
    assert hook["files"] == "^data/"
    assert hook["pass_filenames"] is False  # the command checks the whole catalogue, not one file


ISSUE_FORMS = ROOT / ".github" / "ISSUE_TEMPLATE"
FIELD_TYPES = {"markdown", "input", "textarea", "dropdown", "checkboxes"}


@pytest.mark.parametrize("name", ["new-dataset.yml", "wrong-data.yml", "broken-link.yml"])
def test_issue_forms_are_well_formed(name):
    form = yaml.safe_load((ISSUE_FORMS / name).read_text(encoding="utf-8"))
    assert form["name"] and form["description"]
    fields = form["body"]
    assert {f["type"] for f in fields} <= FIELD_TYPES
    ids = [f["id"] for f in fields if f["type"] != "markdown"]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z][a-z0-9-]*", i) for i in ids)
    assert any(f.get("validations", {}).get("required") for f in fields)
    for field in fields:
        if field["type"] == "dropdown":
            options = field["attributes"]["options"]
            assert len(options) == len(set(options)) > 1


def test_issue_chooser_points_to_the_contributor_guide():
    config = yaml.safe_load((ISSUE_FORMS / "config.yml").read_text(encoding="utf-8"))
    assert [link["url"].rsplit("/", 1)[-1] for link in config["contact_links"]] == ["CONTRIBUTING.md"]
    assert (ROOT / "CONTRIBUTING.md").is_file() and (ROOT / ".github" / "pull_request_template.md").is_file()
