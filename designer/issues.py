"""What template validation reports: a JSON path and a sentence a finance admin understands."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in a template. `path` is a JSON path without the leading `$`
    (`fields[3].expression`, `approval.steps[1].when`); "" is the document itself."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def as_dict(self) -> dict[str, str]:
        """The `{path, message}` shape of the API's error details."""
        return {"path": self.path, "message": self.message}


class TemplateInvalid(ValueError):
    """A template has problems; `issues` lists every one of them."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        summary = "; ".join(str(issue) for issue in self.issues[:3])
        more = f" (and {count - 3} more)" if count > 3 else ""
        super().__init__(f"the template has {count} problem(s): {summary}{more}")


def join_path(*parts: str | int) -> str:
    """`("fields", 3, "expression")` -> `fields[3].expression`."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "":
            continue
        elif _IDENTIFIER.match(part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
    return path


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """` (did you mean "amount"?)` when a candidate is close to `name`, else ""."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
