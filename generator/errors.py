"""Every error the tool raises on purpose, and the exit code each one means.

The command line (``cli.main``) catches ``SurveyError`` once and exits with its
``exit_code``; any other exception is a bug (exit 1, with the traceback). The stages raise
these and never print or exit.

| exit | meaning                                                          | raised as                                  |
| ---- | ---------------------------------------------------------------- | ------------------------------------------ |
| 0    | success                                                          |                                            |
| 1    | an internal error: a bug in sku-survey (report the traceback)    | anything not below                         |
| 2    | bad input: the data, a hand-written page, an argument or its file| ``BadInput`` and kinds, ``BuildError(bad_input=True)`` |
| 3    | ``links`` found broken links                                     | (a result, not an error)                   |
| 4    | the machine: a folder that cannot be written, no network         | ``EnvironmentFailure``, ``BuildError(environment=True)`` |
| 130  | interrupted (Ctrl-C)                                             | ``KeyboardInterrupt``                      |
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from generator.problems import Problem


class Exit(IntEnum):
    """The exit codes of ``sku-survey`` (the table in the module docstring)."""

    OK = 0
    INTERNAL = 1
    BAD_INPUT = 2
    BROKEN_LINKS = 3
    ENVIRONMENT = 4
    INTERRUPTED = 130


class SurveyError(Exception):
    """Base of the tool's own errors; ``exit_code`` says what the command line exits with."""

    exit: ClassVar[Exit] = Exit.INTERNAL

    @property
    def exit_code(self) -> Exit:
        return self.exit


class BadInput(SurveyError):
    """The project's own files or the command's arguments are at fault, not the tool."""

    exit = Exit.BAD_INPUT


class ProblemsFound(BadInput):
    """Input with located problems (file:line, field, expectation, value, fix), sorted by position."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class LoadError(ProblemsFound):
    """A file that cannot be read as the data's YAML (syntax, encoding, size, shape)."""


class InvalidData(ProblemsFound):
    """YAML that reads but breaks the data model's rules (``validate``)."""


class EnvironmentFailure(SurveyError):
    """The machine, not the project: a folder that cannot be written, no network where one is needed."""

    exit = Exit.ENVIRONMENT


class NetworkError(EnvironmentFailure):
    """A request that cannot be, or must not be, sent (offline, refused address, failed lookup)."""


class BuildError(SurveyError):
    """A build stage failed; ``problems`` holds located data problems when there are any.

    ``bad_input`` says the project's own files are at fault (data, site_src: exit 2);
    ``environment`` that the machine is (a disk error: exit 4); neither: a bug (exit 1).
    """

    def __init__(
        self,
        stage: str,
        message: str,
        problems: list[Problem] | None = None,
        *,
        bad_input: bool = False,
        environment: bool = False,
    ) -> None:
        self.stage = stage
        self.problems = problems or []
        self.bad_input = bad_input or bool(problems)
        self.environment = environment
        self.message = message
        super().__init__(f"{stage} failed: {message}")

    @property
    def exit_code(self) -> Exit:
        if self.bad_input:
            return Exit.BAD_INPUT
        return Exit.ENVIRONMENT if self.environment else Exit.INTERNAL

    def __reduce__(self) -> tuple[Any, ...]:
        # raised in a build process, re-raised in the parent: pickled by its own arguments
        return (_rebuild_error, (self.stage, self.message, self.problems, self.bad_input, self.environment))


def _rebuild_error(stage: str, message: str, problems: list[Problem], bad_input: bool, environment: bool) -> BuildError:
    return BuildError(stage, message, problems, bad_input=bad_input, environment=environment)
