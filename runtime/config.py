"""Configuration: defaults, then the instance file, then ``QUIRE_*`` environment variables.

Everything a deployment may change lives here so that the rest of the code reads
``app.config`` and never the environment. A missing secret key stops the server at
start-up instead of silently running with a guessable one.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

INSTANCE_CONFIG_NAME = "quire.toml"

#: Keys read from ``QUIRE_<KEY>`` environment variables, with their parsers.
ENV_KEYS: dict[str, type] = {
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "SECRET_KEY": str,
    "SMTP_URL": str,
    "MAIL_FROM": str,
    "BEHIND_PROXY": bool,
    "SESSION_COOKIE_SECURE": bool,
    "COMPANY_NAME": str,
    "FONT_DIR": str,
    "CONNECTOR_SECRET_KEY": str,
    "LOG_JSON": bool,
    "METRICS_TOKEN": str,
    "TIMEZONE": str,
    "BASE_URL": str,
    "REPORT_EXPORT_ASYNC_ROWS": int,
    "DORMANT_ACCOUNT_DAYS": int,
    "UNUSED_GRANT_DAYS": int,
    "REPORT_EXPORT_KEEP_HOURS": int,
    "REPORT_MAIL_ATTACH_MAX_BYTES": int,
    "ANSWER_CACHE_SECONDS": int,
    "WORKBOOK_MAX_BYTES": int,
    "DATASOURCE_FILE_MAX_BYTES": int,
    "VIRUS_SCAN_COMMAND": str,
    "CONNECTOR_ALLOWED_NETWORKS": str,
    "SESSION_IDLE_MINUTES": int,
    "FILE_STORE": str,
    "EXPORT_STALE_SECONDS": int,
    # Fault tests only: a pause point to hold at; ignored unless ``testing`` is on.
    "TEST_PAUSE_AT": str,
    "JOBS_QUEUE": str,
}


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot run safely."""


def _parse_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def instance_path_from_env() -> Path:
    """The instance folder: database, uploads, exports and the job store."""
    return Path(os.environ.get("QUIRE_INSTANCE_PATH", "instance")).resolve()


def defaults(instance_path: Path) -> dict[str, Any]:
    return {
        "INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": f"sqlite:///{instance_path / 'quire.db'}",
        "REDIS_URL": None,
        "SECRET_KEY": None,
        "SMTP_URL": None,
        "MAIL_FROM": "quire@localhost",
        "BEHIND_PROXY": False,
        "SESSION_COOKIE_SECURE": False,
        "COMPANY_NAME": "Quire",
        "FONT_DIR": "/usr/share/fonts/opentype/noto",
        "CONNECTOR_SECRET_KEY": None,
        "LOG_JSON": False,
        # /metrics answers loopback scrapers, or this bearer token from elsewhere.
        "METRICS_TOKEN": None,
        # Jobs run on SQLite in the instance folder unless REDIS_URL is set;
        # tests switch to immediate mode.
        "JOBS_IMMEDIATE": False,
        # The queue's name: two Quire instances sharing one Redis need different names.
        "JOBS_QUEUE": "quire",
        # Password hashing cost; tests lower it so a suite of sign-ins stays fast.
        "PASSWORD_HASH_FAST": False,
        # Sign-in throttling: more than this many failures in the window answer 429.
        "SIGNIN_MAX_FAILURES": 10,
        "SIGNIN_WINDOW_SECONDS": 60,
        "API_TOKEN_DAYS": 90,
        # Holders and role owners are reminded this many days before a temporary grant ends.
        "GRANT_EXPIRY_REMIND_DAYS": 7,
        # A browser session unused this long ends server-side (0: never).
        "SESSION_IDLE_MINUTES": 120,
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        "PAGE_SIZE": 50,
        "TIMEZONE": "Asia/Shanghai",
        # Links in emails point here.
        "BASE_URL": None,  # unset: where ``quire serve`` listens (http://127.0.0.1:5000 otherwise)
        # Scheduled reports are attached to their email up to this size (else a link only).
        "REPORT_MAIL_ATTACH_MAX_BYTES": 10 * 1024 * 1024,
        # Read answers (inbox, lists, reports) kept per reader until the data changes, at most
        # this long; 0 turns the cache off (runtime/api/answer_cache.py).
        "ANSWER_CACHE_SECONDS": 60,
        # Report exports with more rows than this run as background jobs.
        "REPORT_EXPORT_ASYNC_ROWS": 5000,
        # Grant hygiene: accounts without a sign-in, grants without a use, for this many days.
        "DORMANT_ACCOUNT_DAYS": 90,
        "UNUSED_GRANT_DAYS": 90,
        "REPORT_EXPORT_KEEP_HOURS": 24,
        "WORKBOOK_MAX_BYTES": 5 * 1024 * 1024,
        # Largest CSV/XLSX file an Uploaded-file data source takes.
        "DATASOURCE_FILE_MAX_BYTES": 10 * 1024 * 1024,
        # Uploads are scanned by this command when set ({path} is the file); exit 0 = clean.
        "VIRUS_SCAN_COMMAND": None,
        # Private, loopback or link-local ranges (CIDR, comma-separated) that data sources may
        # call; empty: only public addresses.
        "CONNECTOR_ALLOWED_NETWORKS": "",
        # Where attachments, export files and data-source files live: ``instance`` (this
        # folder) or ``database`` (shared by every machine using the database).
        "FILE_STORE": "instance",
        # A running export whose worker has not been heard of for this long is retried once
        # (sooner when its worker is known to have died on this machine).
        "EXPORT_STALE_SECONDS": 600,
    }


def load(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration mapping in precedence order (later wins)."""
    config = defaults(instance_path)
    file = instance_path / INSTANCE_CONFIG_NAME
    if file.exists():
        with file.open("rb") as fh:
            data = tomllib.load(fh)
        config.update({k.upper(): v for k, v in data.items()})
    for key, kind in ENV_KEYS.items():
        raw = os.environ.get(f"QUIRE_{key}")
        if raw is not None and raw != "":
            if kind is bool:
                config[key] = _parse_bool(raw)
            elif kind is int:
                try:
                    config[key] = int(raw)
                except ValueError:
                    raise ConfigError(f"QUIRE_{key} must be a whole number, not {raw!r}") from None
            else:
                config[key] = raw
    if overrides:
        config.update(overrides)
    from quire.plugins.reach import parse_networks

    try:
        parse_networks(config.get("CONNECTOR_ALLOWED_NETWORKS"))
    except ValueError as exc:
        raise ConfigError(f"QUIRE_CONNECTOR_ALLOWED_NETWORKS: {exc}") from None
    from .files import KINDS as FILE_STORES

    if config.get("FILE_STORE") not in FILE_STORES:
        hint = " (S3 is not built in)" if config.get("FILE_STORE") == "s3" else ""
        raise ConfigError(
            f"QUIRE_FILE_STORE must be one of {', '.join(FILE_STORES)}, "
            f"not {config.get('FILE_STORE')!r}{hint}"
        )
    if not config.get("SECRET_KEY"):
        raise ConfigError(
            "No secret key: set QUIRE_SECRET_KEY or secret_key in "
            f"{file} (`quire demo` writes one for a local demo)."
        )
    return config


def ensure_instance_secret(instance_path: Path) -> None:
    """Write a random secret key into the instance file if none exists (demo set-up only)."""
    instance_path.mkdir(parents=True, exist_ok=True)
    file = instance_path / INSTANCE_CONFIG_NAME
    if os.environ.get("QUIRE_SECRET_KEY"):
        return
    if file.exists():
        with file.open("rb") as fh:
            if tomllib.load(fh).get("secret_key"):
                return
        text = file.read_text(encoding="utf-8")
    else:
        # A new demo instance also names its sample company (print copies, report PDFs).
        text = (
            "# Quire instance configuration (see README.md).\n"
            'company_name = "示例集团有限公司 Example Group Ltd."\n'
        )
    text += f'secret_key = "{secrets.token_urlsafe(48)}"\n'
    file.write_text(text, encoding="utf-8")
    file.chmod(0o600)
