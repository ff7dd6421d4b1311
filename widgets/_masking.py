"""Mask rules: how a `masked` viewer sees a bank account or a phone number.

Kept apart from the widgets because any text-like widget may carry a rule, and the algorithm
must be the same on the web page, in the PDF and in the API.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Named rules for the two things finance masks every day.
PRESETS: dict[str, dict[str, int | None]] = {
    # 6222 0212 3456 1234 -> 6222 **** **** 1234 (the masked middle is shown in groups of four)
    "bank_account": {"keep_start": 4, "keep_end": 4, "group": 4},
    # 13812345678 -> 138****5678
    "phone": {"keep_start": 3, "keep_end": 4, "group": None},
}


class MaskRule(BaseModel):
    """Which characters a masked viewer still sees. Write a preset name (`"bank_account"`,
    `"phone"`) or the numbers themselves."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    preset: Literal["bank_account", "phone"] | None = None
    """A named rule; its numbers apply unless given here too."""
    keep_start: int | None = Field(default=None, ge=0, le=64)
    """Characters shown at the start."""
    keep_end: int | None = Field(default=None, ge=0, le=64)
    """Characters shown at the end."""
    group: int | None = Field(default=None, ge=1, le=64)
    """Show the text in space-separated groups of this many characters; the masked middle is
    then whole groups of `*`, so the length of the hidden part is not revealed."""

    @model_validator(mode="before")
    @classmethod
    def _preset_shorthand(cls, data: Any) -> Any:
        # `"mask": "phone"` is the short form of `"mask": {"preset": "phone"}`.
        if isinstance(data, str):
            return {"preset": data}
        return data

    def resolved(self) -> tuple[int, int, int | None]:
        base = PRESETS.get(self.preset or "", {})
        keep_start = self.keep_start if self.keep_start is not None else base.get("keep_start")
        keep_end = self.keep_end if self.keep_end is not None else base.get("keep_end")
        group = self.group if self.group is not None else base.get("group")
        return keep_start or 0, keep_end or 0, group


def apply_mask(text: str, rule: MaskRule, char: str = "*") -> str:
    """Hide the middle of `text` according to `rule`."""
    keep_start, keep_end, group = rule.resolved()
    compact = "".join(text.split()).replace("-", "") if group else text
    if len(compact) <= keep_start + keep_end:
        # Too short to show anything safely: showing it all would defeat the mask.
        return char * max(len(compact), 4)
    start = compact[:keep_start]
    end = compact[len(compact) - keep_end :] if keep_end else ""
    hidden = len(compact) - keep_start - keep_end
    if not group:
        return start + char * hidden + end
    groups = -(-hidden // group)
    parts = [start] if start else []
    parts += [char * group] * groups
    if end:
        parts.append(end)
    return " ".join(parts)
