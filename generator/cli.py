"""The command line: parse arguments, call the stages, print problems, pick the exit code.

The exit codes are the table in ``generator/errors.py``: every error the stages raise on
purpose is a ``SurveyError`` and carries its code; ``main`` turns it into the exit, and
anything else is a bug (exit 1, with the traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path

from generator.errors import BadInput, BuildError, Exit, ProblemsFound, SurveyError
from generator.load import load_document
from generator.model import Catalog, Lang, catalog_json_schema
from generator.problems import Problem, problems_json
from generator.project import Project
from generator.strings import t
from generator.urls import catalog_links
from generator.validate import validate_document


def _project(args: argparse.Namespace) -> Project:
    return Project(Path(args.root).resolve())


def load_catalog(project: Project, path: Path | None = None) -> Catalog:
    """Load and validate the data file; raises ``ProblemsFound`` (``LoadError`` or ``InvalidData``)."""
    path = path or project.data_file
    doc = load_document(path, project.display(path))
    return validate_document(doc, path.parent)


def message_language(choice: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """The language of contributor messages: ``--lang``, else Chinese when the locale is."""
    if choice:
        return choice
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = environ.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _print_problems(problems: list[Problem], fmt: str, lang: str = "en") -> None:
    if fmt == "json":
        print(problems_json(problems))
    elif fmt == "github":
        for p in problems:
            print(p.github())
    else:
        for p in problems:
            print(p.render(lang), file=sys.stderr)
        errors = sum(p.severity == "error" for p in problems)
        print(t("errors_found", Lang(lang)).format(n=errors), file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    project = _project(args)
    path = Path(args.path).resolve() if args.path else project.data_file
    try:
        catalog = load_catalog(project, path)
    except ProblemsFound as err:
        _print_problems(err.problems, args.format, message_language(args.lang))
        return err.exit_code
    links = catalog_links(catalog)
    samples = sum(len(d.samples) for d in catalog.datasets)
    summary = f"{project.display(path)}: {len(catalog.datasets)} datasets, {len(links)} links, {samples} samples: valid"
    if args.format == "json":
        print("[]")
        print(summary, file=sys.stderr)
    else:
        print(summary)
    return Exit.OK


def cmd_schema(args: argparse.Namespace) -> int:
    project = _project(args)
    text = json.dumps(catalog_json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if args.check:
        current = project.schema_file.read_text(encoding="utf-8") if project.schema_file.exists() else ""
        if current != text:
            print(f"{project.display(project.schema_file)} is stale: run `sku-survey schema --write`", file=sys.stderr)
            return Exit.BAD_INPUT
        return Exit.OK
    if args.write:
        project.schema_file.write_text(text, encoding="utf-8")
        print(f"wrote {project.display(project.schema_file)}")
    else:
        sys.stdout.write(text)
    return Exit.OK


def cmd_build(args: argparse.Namespace) -> int:
    from generator.images import ImageSettings
    from generator.site import BuildOptions, build_site

    project = _project(args)
    options = BuildOptions(
        site_dir=Path(args.site_dir).resolve() if args.site_dir else project.site_dir,
        offline=args.offline,
        sample_mirror=Path(args.sample_mirror).resolve() if args.sample_mirror else None,
        progress=sys.stderr.isatty(),
        image_settings=ImageSettings(allow_private=args.allow_private),
        engine=args.engine,
    )
    try:
        result = build_site(project, options)
    except BuildError as err:
        if err.problems:
            _print_problems(err.problems, "text", message_language(args.lang))
        print(f"build failed at the {err.stage} stage: {err}; the previous site is untouched.", file=sys.stderr)
        return err.exit_code
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"built {project.display(result.site_dir)}/: {result.datasets} datasets, {result.pages} pages per language "
        f"(zh at /, en at /en/); thumbnails {result.thumbnails_encoded} encoded, {result.thumbnails_reused} reused; "
        f"{result.files_written} staged files changed"
    )
    if args.timings:
        wall, cpu = result.times.wall, result.times.cpu
        width = max(map(len, wall))
        for name, seconds in wall.items():
            print(f"  {name:<{width}}  {seconds:7.2f} s  ({cpu[name]:.2f} s CPU)", file=sys.stderr)
        total_wall = result.times.total_wall if result.times.total_wall is not None else sum(wall.values())
        total_cpu = result.times.total_cpu if result.times.total_cpu is not None else sum(cpu.values())
        # measured, not the sum: the two languages build at the same time
        print(f"  {'total':<{width}}  {total_wall:7.2f} s  ({total_cpu:.2f} s CPU)", file=sys.stderr)
    return Exit.OK


def cmd_serve(args: argparse.Namespace) -> int:
    from generator.model import Lang
    from generator.serve import SERVE_SITE_DIR, serve_site
    from generator.site import BuildOptions

    project = _project(args)
    options = BuildOptions(
        site_dir=project.cache_dir / SERVE_SITE_DIR,
        offline=args.offline,
        sample_mirror=Path(args.sample_mirror).resolve() if args.sample_mirror else None,
    )
    try:
        serve_site(project, options, Lang(args.lang), args.dev_addr, lambda line: print(line, file=sys.stderr))
    except BuildError as err:
        if err.problems:
            _print_problems(err.problems, "text", message_language(args.lang))
        print(f"cannot start the preview: {err}", file=sys.stderr)
        return err.exit_code
    return Exit.OK


def cmd_links(args: argparse.Namespace) -> int:
    from generator import links

    project = _project(args)
    catalogue_targets: list[links.LinkTarget] = []
    try:
        config = links.CheckerConfig(offline=args.offline, allow_private=args.allow_private)
        if args.url_file:
            targets = links.targets_from_url_file(Path(args.url_file))
        else:
            path = Path(args.path).resolve() if args.path else project.data_file
            try:
                doc = load_document(path, project.display(path))
                catalog = validate_document(doc, path.parent)
            except ProblemsFound as err:
                _print_problems(err.problems, "text", message_language(args.lang))
                return err.exit_code
            items = []
            for link in catalog_links(catalog):
                pos = doc.position(link.path)
                source = links.LinkSource(doc.display, pos.line, pos.column, link.role, link.dataset_id)
                items.append((link.url, source, link.expect))
            pages = sorted(p for p in project.site_src.rglob("*.md") if p.is_file())
            items += links.targets_from_markdown(project.root, pages)
            targets = catalogue_targets = links.dedupe_targets(items)
            if args.only:
                # keep the YAML positions and expected statuses of the listed URLs
                listed = links.targets_from_url_file(Path(args.only))
                known = {t.url for t in targets}
                wanted = {t.url for t in listed}
                targets = [t for t in targets if t.url in wanted] + [t for t in listed if t.url not in known]
        cache_path = Path(args.cache) if args.cache else project.cache_dir / "links" / "cache.json"
        cache, warning = links.LinkCache.read(cache_path)
    except (BadInput, OSError) as err:
        # an unreadable --url-file, --only or --cache file is the caller's argument at fault
        print(f"sku-survey links: {err}", file=sys.stderr)
        return Exit.BAD_INPUT
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    run = links.check_links(targets, config, cache, progress=sys.stderr.isatty())
    if run.no_network:
        if args.format != "text":  # the text report's summary line says it already
            print(f"sku-survey links: {links.NO_NETWORK}", file=sys.stderr)
    elif not args.offline:
        cache.save(cache_path)
        if not args.url_file:
            # the site shows each link's status from the latest report; a partial run
            # (--only) updates the links it checked and keeps the others' last status
            stored = run
            if args.only:
                previous, _ = links.read_report(project.link_report)
                stored = links.merge_runs(previous, run, frozenset(t.url for t in catalogue_targets))
            links.write_report(project.link_report, stored)
    sys.stdout.write(links.format_report(run, args.format))
    return Exit.BROKEN_LINKS if run.failed() else Exit.OK


def cmd_new(args: argparse.Namespace) -> int:
    import datetime

    from generator.scaffold import append_entry, existing_ids, skeleton

    project = _project(args)
    try:
        # the one place the clock is read: the date the contributor adds the entry
        text = skeleton(args.id, datetime.date.today(), taken=existing_ids(project.data_file))
        if args.write:
            append_entry(project.data_file, text)
            print(f"appended a skeleton for {args.id!r} to {project.display(project.data_file)}; "
                  "fill every ~ and run `sku-survey validate`")
        else:
            sys.stdout.write(text)
    except ValueError as err:
        print(f"sku-survey new: {err}", file=sys.stderr)
        return Exit.BAD_INPUT
    return Exit.OK


def cmd_changelog(args: argparse.Namespace) -> int:
    from generator.changelog import ChangelogError, changelog, format_changelog

    project = _project(args)
    try:
        log = changelog(project.root, args.rev1, args.rev2)
    except ChangelogError as err:
        print(f"sku-survey changelog: {err}", file=sys.stderr)
        return Exit.BAD_INPUT
    sys.stdout.write(format_changelog(log, args.format))
    return Exit.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sku-survey", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="project folder (default: the current folder)")
    parser.add_argument(
        "--lang", choices=("zh", "en"), help="language of the messages about the data (default: Chinese when the locale is Chinese)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check data/datasets.yaml and report every problem with its line")
    p.add_argument("path", nargs="?", help="the YAML file to check (default: data/datasets.yaml)")
    p.add_argument("--format", choices=["text", "github", "json"], default="text")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print or write the JSON Schema generated from the model")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="write data/datasets.schema.json")
    group.add_argument("--check", action="store_true", help="exit 2 if the committed schema is stale")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("build", help="validate, render, make thumbnails and build the site (zh at /, en at /en/)")
    p.add_argument("--offline", action="store_true", help="use only cached sample images; touch no network")
    p.add_argument("--site-dir", help="where to put the site (default: site/)")
    p.add_argument("--sample-mirror", metavar="DIR", help="use DIR/<file name of the URL> instead of fetching a sample")
    p.add_argument("--timings", action="store_true", help="print the wall and CPU seconds of each stage")
    p.add_argument("--allow-private", action="store_true", help="also fetch samples on private, loopback or link-local addresses")
    p.add_argument("--engine", choices=["mkdocs", "zensical"], default="mkdocs",
                   help="the site builder: MkDocs Material (default) or Zensical (pip install -e '.[zensical]'); README says what differs")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("links", help="check every external link of the data and the hand-written pages")
    p.add_argument("path", nargs="?", help="the YAML file whose links to check (default: data/datasets.yaml)")
    p.add_argument("--url-file", metavar="FILE", help="check the URLs listed in FILE (one a line) instead")
    p.add_argument("--only", metavar="FILE", help="check only the catalogue's links listed in FILE, reported at their YAML lines")
    p.add_argument("--offline", action="store_true", help="check nothing: every link is reported as skipped")
    p.add_argument("--format", choices=["text", "json", "markdown", "github"], default="text")
    p.add_argument("--cache", metavar="FILE", help="link history file (default: .cache/links/cache.json)")
    p.add_argument("--allow-private", action="store_true", help="also check hosts on private, loopback or link-local addresses")
    p.set_defaults(func=cmd_links)

    p = sub.add_parser("new", help="print (or append with --write) a commented skeleton entry for a new dataset")
    p.add_argument("id", help="the new dataset's slug, e.g. my-dataset")
    p.add_argument("--write", action="store_true", help="append it to data/datasets.yaml")
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("changelog", help="datasets, figures and links changed between two git revisions")
    p.add_argument("rev1")
    p.add_argument("rev2", nargs="?", help="default: the working tree")
    p.add_argument("--format", choices=["text", "markdown"], default="text")
    p.set_defaults(func=cmd_changelog)

    p = sub.add_parser("serve", help="live preview: rebuilds and refreshes the browser when the data changes")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="which language to preview (default: zh)")
    p.add_argument("--dev-addr", default="127.0.0.1:8000", help="address to serve on (default: 127.0.0.1:8000)")
    p.add_argument("--offline", action="store_true", help="use only cached sample images")
    p.add_argument("--sample-mirror", metavar="DIR", help="use DIR/<file name of the URL> instead of fetching a sample")
    p.set_defaults(func=cmd_serve)

    return parser


class _WarningLine(logging.Handler):
    """The stages log what they recover from (a damaged cache, say); the terminal shows one line each."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"warning: {record.getMessage()}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stage_log = logging.getLogger("sku_survey")
    if not stage_log.handlers:
        stage_log.addHandler(_WarningLine(logging.WARNING))
        stage_log.propagate = False
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except SurveyError as err:  # raised on purpose by a stage no command above handles itself
        print(f"sku-survey {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    except Exception:  # noqa: BLE001 - the one place that catches everything: a bug must still exit cleanly with a report
        print("internal error (a bug in sku-survey, not in your data); please report this traceback:", file=sys.stderr)
        traceback.print_exc()
        return Exit.INTERNAL
