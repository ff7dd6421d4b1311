"""Database models. Import from here so Alembic sees every table."""

from .allocation import AllocationLine, AllocationRule, AllocationRun
from .approvals import (
    ApprovalEvent,
    ApprovalTask,
    Notification,
    SavedPhrase,
    SubmissionCopy,
    TaskStatus,
)
from .audit import AuditEvent, AuditHead
from .auth import ApiToken, SignInFailure, UserSession
from .base import Base, utcnow
from .budgeting import BudgetLineComment, BudgetRound, BudgetRoundEntry, RoundKind, RoundStatus
from .datasources import DataSource
from .files import StoredFile, StoredFileChunk
from .forms import (
    EDITABLE_STATUSES,
    Attachment,
    DraftRevision,
    FormTemplate,
    Submission,
    SubmissionStatus,
    TemplateVersion,
    VoucherUse,
)
from .generation import DataGeneration
from .governance import SodException, SodRule
from .hr import EmployeeRecord
from .org import Department, Role, RoleGrant, User, UserStatus
from .reports import ExportJob, JobStatus, ReportSubscription
from .reviews import (
    AccessReviewCampaign,
    AccessReviewItem,
    CampaignStatus,
    ReviewDecision,
    ReviewScope,
)

__all__ = [
    "DataGeneration",
    "StoredFile",
    "StoredFileChunk",
    "SavedPhrase",
    "AccessReviewCampaign",
    "AccessReviewItem",
    "CampaignStatus",
    "ReviewDecision",
    "ReviewScope",
    "AllocationLine",
    "AllocationRule",
    "AllocationRun",
    "BudgetLineComment",
    "BudgetRound",
    "BudgetRoundEntry",
    "RoundKind",
    "RoundStatus",
    "ApprovalEvent",
    "ApprovalTask",
    "SubmissionCopy",
    "Notification",
    "TaskStatus",
    "EDITABLE_STATUSES",
    "Attachment",
    "DraftRevision",
    "FormTemplate",
    "Submission",
    "SubmissionStatus",
    "TemplateVersion",
    "VoucherUse",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "DataSource",
    "EmployeeRecord",
    "Department",
    "ExportJob",
    "JobStatus",
    "ReportSubscription",
    "Role",
    "RoleGrant",
    "SignInFailure",
    "SodException",
    "SodRule",
    "User",
    "UserSession",
    "UserStatus",
    "utcnow",
]
