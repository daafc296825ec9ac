"""Where a project's files are: passed to every stage, never read from the working directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def data_file(self) -> Path:
        return self.data_dir / "datasets.yaml"

    @property
    def schema_file(self) -> Path:
        return self.data_dir / "datasets.schema.json"

    @property
    def site_src(self) -> Path:
        return self.root / "site_src"

    @property
    def mkdocs_yml(self) -> Path:
        return self.root / "mkdocs.yml"

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def link_report(self) -> Path:
        return self.root / ".cache" / "links" / "report.json"

    def display(self, path: Path) -> str:
        """How messages name a file: relative to the project root when inside it."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)
