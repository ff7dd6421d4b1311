"""The audit trail in words: action codes as a finance clerk says them, and every change as
"what: old → new" lines, in Chinese or English.

Events are stored as recorded (``grant.create`` with ``{"role": …, "department": …}``) so
`quire audit verify` can recompute their hashes; this module only reads them. The operation
log pages, their Excel and CSV exports and the ``permission-changes`` report all describe an
event here, so the three say the same thing. Values a reader may not see are masked before
they reach this module (:mod:`quire.runtime.audit_view`).

The vocabulary is a pair (Chinese, English) per word, like the permission labels in
:mod:`quire.runtime.access`, because a report export runs in a background job with the
reader's locale and no request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from . import clock
from .access import PERMISSION_LABELS, Permission
from .extensions import db
from .models import AuditEvent, Department, Role

Words = tuple[str, str]

#: Action code → (Chinese, English).
ACTIONS: dict[str, Words] = {
    "auth.login": ("登录", "Signed in"),
    "auth.login_failed": ("登录失败", "Failed sign-in"),
    "auth.logout": ("退出登录", "Signed out"),
    "auth.session_end": ("结束会话", "Sessions ended"),
    "auth.new_password": ("设置新密码", "Chose a new password"),
    "user.create": ("新建用户", "Created a user"),
    "user.update": ("修改用户", "Changed a user"),
    "user.status": ("修改人员状态", "Changed a person's status"),
    "user.password_change": ("修改本人密码", "Changed own password"),
    "user.password_reset": ("重置密码", "Reset a password"),
    "user.locale": ("切换界面语言", "Changed the language"),
    "user.move": ("调动部门", "Moved to another department"),
    "user.return": ("重新入职", "Came back"),
    "user.leave": ("离职", "Left the company"),
    "user.manager": ("更换上级", "Changed line manager"),
    "user.position": ("更换岗位", "Changed position"),
    "employee.record": ("更新人事档案", "Updated a personnel record"),
    "hr.sync": ("人事同步", "HR sync ran"),
    "department.create": ("新建部门", "Created a department"),
    "department.update": ("修改部门", "Changed a department"),
    "role.create": ("新建角色", "Created a role"),
    "role.update": ("修改角色权限", "Changed a role's permissions"),
    "grant.create": ("授予角色", "Granted a role"),
    "grant.revoke": ("收回角色", "Revoked a role"),
    "token.create": ("创建 API 令牌", "Created an API token"),
    "token.revoke": ("吊销 API 令牌", "Revoked an API token"),
    "submission.create": ("新建填报", "Created a form"),
    "submission.update": ("修改填报", "Changed a form"),
    "submission.submit": ("提交", "Submitted"),
    "submission.approve": ("审批通过", "Approved"),
    "submission.reject": ("驳回", "Rejected"),
    "submission.return": ("退回修改", "Returned for rework"),
    "submission.withdraw": ("撤回", "Withdrew"),
    "submission.delegate": ("转交", "Handed on"),
    "submission.add_signer": ("加签", "Added a signer"),
    "submission.copy": ("抄送", "Sent a copy"),
    "submission.amend": ("发起变更", "Started an amendment"),
    "submission.supersede": ("被变更取代", "Replaced by its approved amendment"),
    "submission.edit_at_step": ("审批中修改", "Corrected at an approval step"),
    "submission.escalate": ("超时上报", "Escalated (overdue)"),
    "submission.remind": ("超时提醒", "Reminded (overdue)"),
    "submission.auto_approve": ("超时自动通过", "Approved on timeout"),
    "submission.reassign": ("重新分派", "Reassigned"),
    "submission.four_eyes": ("跳过步骤（四眼原则）", "Step skipped (four eyes)"),
    "submission.print": ("下载打印件", "Downloaded a print copy"),
    "submission.upload": ("上传 Excel 填报", "Uploaded a filled workbook"),
    "submission.upload_refused": ("Excel 填报被拒", "Workbook upload refused"),
    "attachment.upload": ("上传附件", "Uploaded an attachment"),
    "form.workbook": ("下载空白 Excel", "Downloaded a blank workbook"),
    "template.create": ("新建模板", "Created a template"),
    "template.draft": ("修改模板草稿", "Changed a template draft"),
    "template.publish": ("发布模板", "Published a template"),
    "template.discard": ("放弃模板草稿", "Discarded a template draft"),
    "template.restore": ("恢复模板版本", "Restored a template version"),
    "datasource.create": ("新建数据源", "Created a data source"),
    "datasource.update": ("修改数据源", "Changed a data source"),
    "datasource.delete": ("删除数据源", "Deleted a data source"),
    "datasource.test": ("测试数据源", "Tested a data source"),
    "datasource.preview": ("预览数据源", "Previewed a data source"),
    "report.export": ("导出报表", "Exported a report"),
    "report.subscribe": ("订阅报表", "Subscribed to a report"),
    "report.unsubscribe": ("取消订阅报表", "Unsubscribed from a report"),
    "budget_round.open": ("开启预算编制", "Opened a budget round"),
    "budget_round.start": ("开始编制部门预算", "Started a department's budget"),
    "budget_round.return": ("退回部门预算", "Returned a department's budget"),
    "budget_round.close": ("关闭预算编制", "Closed a budget round"),
    "budget.adjust": ("预算调整", "Adjusted a budget"),
    "allocation.run": ("执行成本分摊", "Ran a cost allocation"),
    "audit.export": ("导出操作日志", "Exported the audit log"),
    "access.export": ("导出权限明细", "Exported who can see what"),
}

#: Object type → (Chinese, English).
OBJECT_TYPES: dict[str, Words] = {
    "user": ("用户", "User"),
    "department": ("部门", "Department"),
    "role": ("角色", "Role"),
    "role_grant": ("授权", "Grant"),
    "submission": ("填报", "Form"),
    "template": ("模板", "Template"),
    "datasource": ("数据源", "Data source"),
    "report": ("报表", "Report"),
    "api_token": ("API 令牌", "API token"),
    "attachment": ("附件", "Attachment"),
    "budget_round": ("预算编制", "Budget round"),
    "hr_sync": ("人事同步", "HR sync"),
    "audit": ("操作日志", "Audit log"),
}

#: Keys of ``changes`` → (Chinese, English); a form's own field keys are shown as they are.
FIELDS: dict[str, Words] = {
    "user": ("用户", "User"),
    "username": ("用户名", "Username"),
    "role": ("角色", "Role"),
    "grant": ("授权", "Grant"),
    "scope": ("范围", "Scope"),
    "department": ("部门", "Department"),
    "include_subtree": ("含下级部门", "Sub-departments included"),
    "projects": ("项目", "Projects"),
    "period_from": ("期间自", "Periods from"),
    "period_until": ("期间至", "Periods until"),
    "valid_from": ("生效于", "Valid from"),
    "valid_until": ("有效期至", "Valid until"),
    "reason": ("原因", "Reason"),
    "note": ("备注", "Note"),
    "permissions": ("权限", "Permissions"),
    "added": ("新增权限", "Permissions added"),
    "removed": ("移除权限", "Permissions removed"),
    "name_zh": ("中文名称", "Chinese name"),
    "name_en": ("英文名称", "English name"),
    "display_name": ("姓名", "Name"),
    "email": ("邮箱", "Email"),
    "manager": ("上级", "Manager"),
    "status": ("状态", "Status"),
    "locale": ("语言", "Language"),
    "delegate": ("代理人", "Delegate"),
    "delegate_from": ("代理开始", "Delegation from"),
    "delegate_until": ("代理结束", "Delegation until"),
    "code": ("代码", "Code"),
    "parent": ("上级部门", "Parent department"),
    "cost_center": ("成本中心", "Cost centre"),
    "active": ("启用", "Active"),
    "origin": ("来源", "Made by"),
    "format": ("格式", "Format"),
    "params": ("参数", "Parameters"),
    "rows": ("行数", "Rows"),
    "filters": ("筛选条件", "Filters"),
    "request": ("申请单", "Request"),
}

#: Actions that change who may do what: grants, revocations, roles and delegations.
PERMISSION_ACTIONS = ("grant.create", "grant.revoke", "role.create", "role.update")
#: A change of a person (``user.update``) is a permission change when one of these moved.
DELEGATION_KEYS = ("delegate", "delegate_from", "delegate_until")

_YES: Words = ("是", "yes")
_NO: Words = ("否", "no")
_ORGANISATION: Words = ("全公司", "whole organisation")
_WITH_SUBTREE: Words = ("含下级", "with sub-departments")


def _pick(words: Words, locale: str) -> str:
    return words[1] if (locale or "").startswith("en") else words[0]


def action_words(action: str, locale: str) -> str:
    """``grant.create`` → 授予角色 / Granted a role; an unknown code stays as it is."""
    words = ACTIONS.get(action)
    return _pick(words, locale) if words else action


def object_words(object_type: str | None, locale: str) -> str:
    if not object_type:
        return ""
    words = OBJECT_TYPES.get(object_type)
    return _pick(words, locale) if words else object_type


def field_words(key: str, locale: str) -> str:
    words = FIELDS.get(key)
    return _pick(words, locale) if words else key


def permission_words(value: str, locale: str) -> str:
    try:
        return _pick(PERMISSION_LABELS[Permission(value)], locale)
    except (KeyError, ValueError):
        return value


@dataclass(frozen=True)
class ChangeLine:
    """One line of an event's detail: ``label: old → new`` (a change), or ``label: value``
    (a fact, ``old`` unused)."""

    label: str
    new: str | None
    old: str | None = None
    is_change: bool = False

    def text(self) -> str:
        if not self.is_change:
            return f"{self.label}: {self.new or ''}"
        return f"{self.label}: {self.old if self.old is not None else '∅'} → " + (
            self.new if self.new is not None else "∅"
        )


class Vocabulary:
    """Names the words need (roles, departments), looked up once per page or export."""

    def __init__(self, locale: str, timezone: str | None = None) -> None:
        self.locale = locale
        self.zone = ZoneInfo(timezone) if timezone else clock.zone()
        self._roles: dict[str, str] | None = None
        self._departments: dict[str, str] | None = None

    def role(self, key: Any) -> str:
        if self._roles is None:
            self._roles = {r.key: r.name(self.locale) for r in db.session.scalars(select(Role))}
        text = str(key)
        name = self._roles.get(text)
        return f"{name} ({text})" if name else text

    def department(self, code: Any) -> str:
        if self._departments is None:
            found = db.session.scalars(select(Department))
            self._departments = {d.code: d.name(self.locale) for d in found}
        text = str(code)
        name = self._departments.get(text)
        return f"{text} {name}" if name else text

    def when(self, value: Any) -> str:
        """An ISO time from an event, in local time; a plain date stays a date."""
        text = str(value)
        if "T" not in text:
            return text
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if moment.tzinfo is None:
            return text
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def value(self, key: str, value: Any) -> str | None:
        """One stored value as a reader says it."""
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return _pick(_YES if value else _NO, self.locale)
        if key == "permissions" or key in ("added", "removed"):
            items = value if isinstance(value, list) else [value]
            return "、".join(permission_words(str(p), self.locale) for p in items) or None
        if key == "role":
            return self.role(value)
        if key in ("department", "parent"):
            return self.department(value)
        if key in ("valid_from", "valid_until", "at"):
            return self.when(value)
        if key == "status" and isinstance(value, str):
            from .words import STATUS_WORDS, in_locale

            return in_locale(self.locale, STATUS_WORDS, value) if value in STATUS_WORDS else value
        if key == "origin" and isinstance(value, Mapping):
            return str(value.get("by") or "")
        if isinstance(value, list):
            return ", ".join("" if v is None else str(v) for v in value)
        if isinstance(value, Mapping):
            return "; ".join(f"{k}={v}" for k, v in value.items())
        return str(value)

    def scope(self, changes: Mapping[str, Any]) -> str:
        """A grant's scope in one phrase: ``SALES · 项目 P1 · 2026-01 – 2026-06``."""
        department = changes.get("department")
        if department:
            parts = [self.department(department)]
            if changes.get("include_subtree", True):
                parts[0] += f" ({_pick(_WITH_SUBTREE, self.locale)})"
        else:
            parts = [_pick(_ORGANISATION, self.locale)]
        if changes.get("projects"):
            projects = self.value("projects", changes["projects"])
            parts.append(f"{field_words('projects', self.locale)} {projects}")
        start, end = changes.get("period_from"), changes.get("period_until")
        if start or end:
            parts.append(f"{str(start or '')[:7]} – {str(end or '')[:7]}")
        return " · ".join(parts)


_GRANT_SCOPE = ("department", "include_subtree", "projects", "period_from", "period_until")


def describe(event: AuditEvent, changes: Any, words: Vocabulary) -> list[ChangeLine]:
    """The detail lines of ``event`` with ``changes`` as the reader may see them."""
    if not isinstance(changes, Mapping):
        return [ChangeLine(field_words("changes", words.locale), str(changes))] if changes else []
    lines: list[ChangeLine] = []
    rest = dict(changes)
    if event.action in ("grant.create", "grant.revoke"):
        lines += _grant_lines(event.action, rest, words)
    elif event.action in ("role.create", "role.update"):
        lines += _role_lines(rest, words)
    origin = rest.pop("origin", None)
    for key, value in rest.items():
        label = field_words(key, words.locale)
        if isinstance(value, list) and len(value) == 2 and key != "projects":
            old, new = (words.value(key, v) for v in value)
            lines.append(ChangeLine(label, new, old, is_change=True))
        else:
            lines.append(ChangeLine(label, words.value(key, value)))
    if origin is not None:
        lines.append(ChangeLine(field_words("origin", words.locale), words.value("origin", origin)))
    return lines


def _grant_lines(action: str, rest: dict[str, Any], words: Vocabulary) -> list[ChangeLine]:
    """A grant reads as the role it gives or takes: ``角色: ∅ → 财务审核 · SALES 销售部``."""
    role = rest.pop("role", None)
    held = words.role(role) if role is not None else "?"
    has_scope = any(k in rest for k in _GRANT_SCOPE)
    scope = words.scope(rest) if has_scope else None
    for key in _GRANT_SCOPE:
        rest.pop(key, None)
    valid_until = rest.pop("valid_until", None)
    rest.pop("valid_from", None)
    grant = held + (f" · {scope}" if scope else "")
    if valid_until:
        grant += f" · {field_words('valid_until', words.locale)} {words.when(valid_until)}"
    label = field_words("role", words.locale)
    lines = []
    if "user" in rest:
        lines.append(ChangeLine(field_words("user", words.locale), str(rest.pop("user"))))
    if action == "grant.create":
        lines.append(ChangeLine(label, grant, None, is_change=True))
    else:
        lines.append(ChangeLine(label, None, grant, is_change=True))
    return lines


def _role_lines(rest: dict[str, Any], words: Vocabulary) -> list[ChangeLine]:
    """A role's permissions read old → new, then what was added and what was removed."""
    change = rest.pop("permissions", None)
    if not (isinstance(change, list) and len(change) == 2):
        if change is None:
            return []
        label = field_words("permissions", words.locale)
        return [ChangeLine(label, words.value("permissions", change))]
    old, new = (list(v or []) for v in change)
    lines = [
        ChangeLine(
            field_words("permissions", words.locale),
            words.value("permissions", new),
            words.value("permissions", old),
            is_change=True,
        )
    ]
    added = [p for p in new if p not in old]
    removed = [p for p in old if p not in new]
    if added:
        lines.append(ChangeLine(field_words("added", words.locale), words.value("added", added)))
    if removed:
        lines.append(
            ChangeLine(field_words("removed", words.locale), words.value("removed", removed))
        )
    return lines


def is_permission_change(event: AuditEvent) -> bool:
    """Grants, revocations, role edits, and a person's delegation changing."""
    if event.action in PERMISSION_ACTIONS:
        return True
    changes = event.changes if isinstance(event.changes, Mapping) else {}
    return event.action == "user.update" and any(k in changes for k in DELEGATION_KEYS)


def known_actions(locale: str) -> list[tuple[str, str]]:
    """(code, words) for the action filter, in the reader's words' order."""
    return sorted(((code, _pick(w, locale)) for code, w in ACTIONS.items()), key=lambda x: x[0])


def known_object_types(locale: str) -> list[tuple[str, str]]:
    return [(code, _pick(w, locale)) for code, w in OBJECT_TYPES.items()]


def lines_text(lines: Iterable[ChangeLine]) -> str:
    """The lines of one event as one cell of an export."""
    return "\n".join(line.text() for line in lines)
