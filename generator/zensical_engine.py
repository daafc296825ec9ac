"""Build one language's site with Zensical instead of MkDocs (``sku-survey build --engine zensical``).

Input: the per-language MkDocs config that engine.py writes (``write_language_config``: it
INHERITs mkdocs.yml and names the staged docs, the overrides and the folder of the new site).
Output: that language's site in the config's ``site_dir``, which is a folder of the same
temporary tree the MkDocs path builds into, so the same swap and the same failure rule apply.
Failure: ``BuildError("zensical", ...)`` with Zensical's own message.

Zensical 0.0.73 reads mkdocs.yml but differs in ways this module bridges:

- docs_dir and site_dir must be inside the config file's folder (an absolute path outside it
  is refused), and two builds that share that folder invalidate each other's cache. So each
  language gets its own project folder, ``.cache/zensical/<lang>``, with ``docs/`` mirrored
  from the staged docs (hard links; Markdown pages as adjusted copies, see below) and its
  output in ``site/``, which is moved into the new tree after a successful build. Zensical
  writes every page again from its cache when ``site/`` is missing, so moving it is safe.
- INHERIT merges lists by appending (deepmerge), where MkDocs replaces them: the palette,
  nav and extensions would be doubled. The config is merged here, MkDocs' way, and written
  whole.
- It resolves relative URLs in raw HTML (``<picture>``, ``srcset``, ``<a href>``) from the
  Markdown file's folder, as MkDocs does only for Markdown links; our pages write them from
  the page's address (``datasets/rpc/``), so every one came out a level too deep and /en/
  pages loaded the Chinese site's thumbnails. The mirrored pages have them rewritten from
  the file's folder (``_source_relative``).
- No MkDocs hooks and no jieba: its worker cuts Chinese in the browser with Intl.Segmenter,
  whose dictionary splits 结账 into 结 and 账 (so a query for it matched every page with
  both characters) and differs from the cutting the MkDocs site uses. Here its
  ``search.json`` is finished the way search_hook.py finishes Material's: Chinese runs cut by
  jieba with the same user dictionary and joined by zero-width spaces (in the separator),
  the worker's own segmentation turned off (``lang`` without Chinese), the cross-language
  terms added, and the word list written. site_src/assets/search-query.js then cuts queries
  with that list, as it does for Material's worker.

Each language builds in its own Python process (``python -m generator.zensical_engine``):
Zensical keeps its config in a module global and runs a Rust runtime that a fork must not
inherit, and two processes use the two cores.
"""

from __future__ import annotations

import errno
import html
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import yaml

from generator.engine import EngineTime
from generator.errors import BuildError
from generator.files import write_atomic
from generator.model import Lang
from generator.search import WORDS_URL, index_words, read_terms, segment, words_json

ENGINE = "zensical"
PROJECT_DIR = "zensical"  # in the cache folder, beside the staged docs: one folder per language
CONFIG_NAME = "mkdocs.yml"
# Options of Material's search plugin that Zensical 0.0.73 does not read (it warns about them)
UNREAD_SEARCH_OPTIONS = ("fields", "jieba_dict", "jieba_dict_user", "lang", "pipeline", "prebuild_index", "indexing", "min_search_length")
SEARCH_INDEX = "search.json"
# languages whose text Zensical's worker cuts with Intl.Segmenter (its search worker's list)
_SEGMENTED_LANGUAGES = ("zh", "ja", "ko")
# how many of Zensical's last output lines a failure shows
FAILURE_LINES = 20
STRICT_FAILURE = "Aborted because --strict flag is set"  # Zensical's words when a check failed
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Zensical colours its messages even into a file


def available() -> bool:
    try:
        import zensical  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------- config


def merge(parent: Mapping[str, object], child: Mapping[str, object]) -> dict[str, object]:
    """MkDocs' INHERIT merge: mappings merge key by key, anything else (lists too) replaces."""
    out = dict(parent)
    for key, value in child.items():
        old = out.get(key)
        out[key] = merge(old, value) if isinstance(value, Mapping) and isinstance(old, Mapping) else value
    return out


def load_inherited(config_file: Path) -> dict[str, object]:
    child = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    parent_name = child.pop("INHERIT", None)
    if not parent_name:
        return child
    parent_file = (config_file.parent / str(parent_name)).resolve()
    return merge(load_inherited(parent_file), child)


def zensical_config(config: Mapping[str, object]) -> dict[str, object]:
    """The merged MkDocs config as Zensical reads it, docs and site inside its project folder."""
    out = dict(config)
    out["docs_dir"] = "docs"
    out["site_dir"] = "site"
    out.pop("hooks", None)  # MkDocs hooks; what ours does is done in _post_process
    theme = dict(out.get("theme") or {})
    # Material's look (Roboto, Material icons); Zensical's default "modern" variant differs
    theme["variant"] = "classic"
    out["theme"] = theme
    plugins = []
    for plugin in out.get("plugins") or ():
        if isinstance(plugin, dict) and "search" in plugin:
            options = {k: v for k, v in (plugin["search"] or {}).items() if k not in UNREAD_SEARCH_OPTIONS}
            plugin = {"search": options}
        plugins.append(plugin)
    out["plugins"] = plugins
    # the overrides that differ between the engines test this (partials/search.html, main.html)
    out["extra"] = {**dict(out.get("extra") or {}), "engine": ENGINE}
    return out


# ---------------------------------------------------------------- docs mirror

_URL_ATTR = re.compile(r'(\s(?:href|src|srcset)=")([^"]*)(")')
_FENCE = re.compile(r"^\s*(```|~~~)")
_ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|/|#|\?)")


def _source_relative(text: str, rel_path: str) -> str:
    """``text`` (a Markdown page at ``rel_path``) with its raw HTML's relative URLs written
    from the file's folder instead of the page's address.

    With directory URLs, ``a/b.md`` is served at ``a/b/``: one level below its file, so a
    URL from the address loses one leading ``../`` (or gains ``b/``). ``index.md`` is served
    from its own folder and stays as it is. Fenced code (examples of HTML) is left alone.
    """
    name = rel_path.rsplit("/", 1)[-1]
    if name == "index.md" or "href=" not in text and "src" not in text:
        return text
    stem = html.escape(name[: -len(".md")])

    def one(url: str) -> str:
        plain = html.unescape(url).strip()
        if not plain or _ABSOLUTE.match(plain):
            return url
        if plain == "..":
            return "./"
        if plain.startswith("../"):
            # drop the first "../" of the written form (the data's names may be escaped)
            at = url.find("../")
            rest = url[:at] + url[at + 3 :]
            return rest if rest.strip() else "./"
        return f"{stem}/{url[2:] if plain.startswith('./') else url}"

    def attribute(match: re.Match[str]) -> str:
        start, value, end = match.groups()
        if 'srcset="' in start:
            parts = []
            for candidate in value.split(","):
                lead = candidate[: len(candidate) - len(candidate.lstrip())]
                url, _, descriptor = candidate.strip().partition(" ")
                parts.append(lead + one(url) + (" " + descriptor if descriptor else ""))
            return start + ",".join(parts) + end
        return start + one(value) + end

    out = []
    fenced = False
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        out.append(line if fenced or "=" not in line else _URL_ATTR.sub(attribute, line))
    return "".join(out)


def mirror_docs(source: Path, target: Path) -> int:
    """Make ``target`` hold ``source``'s files: hard links, Markdown pages as adjusted copies.

    Returns the files written. Only changed files are touched (a staged file that changed
    has a new inode: staging writes by rename), so Zensical's cache sees only real changes.
    """
    written = 0
    seen: set[str] = set()
    for folder, dirs, files in os.walk(source):
        dirs.sort()
        rel_folder = os.path.relpath(folder, source)
        out_folder = target / rel_folder
        out_folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            rel = os.path.normpath(os.path.join(rel_folder, name)).replace(os.sep, "/")
            seen.add(rel)
            src, dst = Path(folder, name), out_folder / name
            if name.endswith(".md"):
                data = _source_relative(src.read_text(encoding="utf-8"), rel).encode("utf-8")
                try:
                    if dst.read_bytes() == data:
                        continue
                except OSError:
                    pass
                write_atomic(dst, data)
                written += 1
                continue
            try:
                a, b = src.stat(), dst.stat()
                if (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev):
                    continue
            except FileNotFoundError:
                pass
            _link_or_copy(src, dst)
            written += 1
    for folder, _, files in os.walk(target, topdown=False):
        for name in files:
            rel = os.path.normpath(os.path.join(os.path.relpath(folder, target), name)).replace(os.sep, "/")
            if rel not in seen:
                os.unlink(os.path.join(folder, name))
        if folder != str(target) and not os.listdir(folder):
            os.rmdir(folder)
    return written


def _link_or_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


# ---------------------------------------------------------------- one language


def project_dir(config_file: Path, lang: str) -> Path:
    """``.cache/zensical/<lang>``: the staged configs live in ``.cache/stage``."""
    return config_file.resolve().parent.parent / PROJECT_DIR / lang


def build_language(config_file: Path) -> None:
    """Build the language of ``config_file`` with Zensical into its ``site_dir``.

    Runs in its own process (see the module docstring); raises RuntimeError or OSError,
    which ``run_builds`` reports as the language's failure.
    """
    import zensical

    config = load_inherited(config_file)
    extra = config.get("extra") or {}
    lang = str(extra["site_lang"]) if isinstance(extra, dict) else "zh"
    out = Path(str(config["site_dir"]))
    root = project_dir(config_file, lang)
    root.mkdir(parents=True, exist_ok=True)
    mirror_docs(Path(str(config["docs_dir"])), root / "docs")
    text = yaml.safe_dump(zensical_config(config), allow_unicode=True, sort_keys=False)
    config_path = root / CONFIG_NAME
    if not config_path.is_file() or config_path.read_text(encoding="utf-8") != text:
        write_atomic(config_path, text.encode("utf-8"))
    site = root / "site"
    shutil.rmtree(site, ignore_errors=True)  # a failed build's: Zensical writes it whole again
    zensical.build(str(config_path), {"clean": False, "strict": True})
    terms_file = extra.get("search_terms") if isinstance(extra, dict) else None
    user_dict = _search_option(config, "jieba_dict_user")
    _post_process(site, Path(str(terms_file)) if terms_file else None, Path(user_dict) if user_dict else None)
    _move_into(site, out)


def _search_option(config: Mapping[str, object], name: str) -> str | None:
    """An option of the search plugin in the MkDocs config (before zensical_config drops it)."""
    plugins = config.get("plugins")
    for plugin in plugins if isinstance(plugins, list) else ():
        options = plugin.get("search") if isinstance(plugin, dict) else None
        if isinstance(options, dict) and options.get(name):
            return str(options[name])
    return None


def _post_process(site: Path, terms_file: Path | None, user_dict: Path | None) -> None:
    """What Material's search plugin and search_hook.py do for MkDocs, done to ``search.json``.

    - Chinese runs of every searched field cut by jieba (``search.segment``, the cutting
      Material applies), and ``lang`` in the index's config left without Chinese, so the
      worker keeps those words whole instead of cutting them again with Intl.Segmenter.
    - Each dataset page's cross-language terms (names, aliases, the other language's labels)
      appended to the text of the page's first entry, not given as tags: Zensical's search
      lists every tag as a filter beside the results, which made hundreds of filters.
      Escaped as HTML, as add_terms does: the results insert the text as markup.
    - The word list search-query.js cuts queries with, from the finished index.
    """
    index_file = site / SEARCH_INDEX
    if not index_file.is_file():
        return
    index = json.loads(index_file.read_text(encoding="utf-8"))
    items = index.get("items")
    if not isinstance(items, list):
        return
    import jieba

    jieba.setLogLevel(logging.WARNING)
    if user_dict is not None and user_dict.is_file():
        jieba.load_userdict(str(user_dict))
    by_location = {t.location: t for t in read_terms(terms_file)} if terms_file else {}
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("location") in by_location:
            terms = by_location.pop(str(item["location"]))
            item["text"] = f"{item.get('text') or ''} {html.escape(' · '.join(terms.tags), quote=False)}"
        for field in ("title", "text"):
            if isinstance(item.get(field), str):
                item[field] = segment(item[field])
        if isinstance(item.get("path"), list):
            item["path"] = [segment(p) if isinstance(p, str) else p for p in item["path"]]
    config = index.get("config")
    if isinstance(config, dict) and isinstance(config.get("lang"), list):
        kept = [x for x in config["lang"] if not str(x).lower().startswith(_SEGMENTED_LANGUAGES)]
        config["lang"] = kept or ["en"]
    write_atomic(index_file, json.dumps(index, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    words_file = site / WORDS_URL
    words_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(words_file, words_json(index_words(index)).encode("utf-8"))


def _move_into(site: Path, out: Path) -> None:
    """Move the built site's entries into ``out`` (the Chinese site's folder holds en/ too)."""
    out.mkdir(parents=True, exist_ok=True)
    for entry in sorted(site.iterdir()):
        target = out / entry.name
        try:
            os.replace(entry, target)
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise
            shutil.move(str(entry), str(target))
    site.rmdir()


# ---------------------------------------------------------------- both languages


def run_builds(configs: Mapping[Lang, Path]) -> dict[Lang, EngineTime]:
    """Both languages at once, each in its own process; waits for both, then raises
    ``BuildError("zensical", ...)`` naming every language that failed. A strict check that
    failed (a dead link, a missing anchor) is the pages' fault, as for MkDocs: exit 2."""
    if not available():
        raise BuildError(ENGINE, "Zensical is not installed: pip install -e '.[zensical]' (./dev test installs it)")
    started: dict[Lang, tuple[subprocess.Popen[bytes], IO[bytes], float]] = {}
    for lang, config in configs.items():
        command = [sys.executable, "-m", "generator.zensical_engine", str(config)]
        # a file, not a pipe: a long warning list must not fill a pipe nobody reads yet
        log = tempfile.TemporaryFile()
        started[lang] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), log, time.perf_counter())
    try:
        return _wait(configs, started)
    finally:
        for process, log, _ in started.values():
            if process.returncode is None:  # interrupted: the new tree is about to be deleted
                process.kill()
                process.wait()
            log.close()


def _wait(configs: Mapping[Lang, Path], started: Mapping[Lang, tuple[subprocess.Popen[bytes], IO[bytes], float]]) -> dict[Lang, EngineTime]:
    times: dict[Lang, EngineTime] = {}
    failures = []
    strict = True
    for lang, (process, log, start) in started.items():
        # wait4: the child's own CPU seconds (the thumbnails' pool is counted elsewhere)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        times[lang] = EngineTime(time.perf_counter() - start, usage.ru_utime + usage.ru_stime)
        log.seek(0)
        output = _ANSI.sub("", log.read().decode("utf-8", "replace"))
        if process.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-FAILURE_LINES:])
            failures.append(f"{configs[lang].name}: {tail or f'exit code {process.returncode}'}")
            strict = strict and STRICT_FAILURE in output
    if failures:
        raise BuildError(ENGINE, "; ".join(failures), bad_input=strict)
    return times


def main(argv: list[str]) -> int:
    (config_file,) = argv
    try:
        build_language(Path(config_file))
    except (RuntimeError, OSError, KeyError, ValueError) as err:
        # the process's top level: its output is the parent's error message
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
