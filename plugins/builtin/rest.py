"""The `rest` connector: rows from a JSON HTTP API of a department system.

Outbound HTTP from a finance server is a way in for an attacker (server-side request forgery),
so the administrator fixes which hosts may be called, redirects are followed only on the same
host (and never with the credentials to another one), every call has a timeout and a size cap,
and parameters travel as query parameters, never pasted into the URL path. A query is a path
under the base URL's path and cannot climb out of it (``..``, also percent-encoded).

Whatever the allow-list says, every request (and every redirect) resolves its host once, refuses
loopback, link-local, private and unspecified addresses unless the operator allowed their range
(`Reach.allowed_networks`), and connects to the very address that was checked, so a DNS answer
that changes between check and connect cannot lead elsewhere. A `transport` given for tests
replaces the network, and with it the resolution.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import unquote

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from ..base import (
    Capabilities,
    ColumnInfo,
    Connector,
    ConnectorConfig,
    QueryRejected,
    SourceUnavailable,
    check_limit,
    column_type_of,
)
from ..reach import Reach

__all__ = ["RestConfig", "RestConnector"]

_MAX_REDIRECTS = 3


class RestConfig(ConnectorConfig):
    base_url: str = Field(
        min_length=1, json_schema_extra={"placeholder": "https://hr.example.com/api/"}
    )
    """Where queries start; a query is a path relative to it, e.g. v1/employees."""
    allowed_hosts: list[str] = Field(min_length=1)
    """Host names this source may call (exact, or *.example.com for subdomains)."""
    auth_header: str = "Authorization"
    """Header that carries the credential."""
    auth_token: SecretStr | None = Field(default=None, json_schema_extra={"secret": True})
    """Value of the auth header, e.g. "Bearer eyJ..."."""
    rows_path: str = Field(default="", pattern=r"^([A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*)?$")
    """Dotted path to the list of rows in the JSON answer, e.g. data.items; empty if the
    answer is the list itself."""
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Seconds to wait for the whole answer."""
    max_response_bytes: int = Field(default=20_000_000, ge=1_000, le=500_000_000)
    """Larger answers are refused rather than filling the server's memory."""

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_are_names(cls, hosts: list[str]) -> list[str]:
        cleaned = []
        for host in hosts:
            host = host.strip().lower()
            bare = host.removeprefix("*.")
            if not bare or "/" in bare or ":" in bare or "*" in bare:
                raise ValueError(f"{host!r} is not a host name such as api.example.com")
            cleaned.append(host)
        return cleaned

    @model_validator(mode="after")
    def _base_url_is_allowed(self) -> RestConfig:
        try:
            url = httpx.URL(self.base_url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"base_url is not a URL: {exc}") from None
        if url.scheme not in {"http", "https"} or not url.host:
            raise ValueError("base_url must be an http(s) URL with a host")
        if not _host_allowed(url.host, self.allowed_hosts):
            raise ValueError(f"base_url host {url.host} is not in allowed_hosts")
        return self


class RestConnector(Connector):
    """GETs JSON from an allowed host and yields the objects found at `rows_path`."""

    type_name: ClassVar[str] = "rest"
    display_name: ClassVar[Mapping[str, str]] = {"zh": "REST 接口", "en": "REST API"}
    version: ClassVar[str] = "1.0"
    Config: ClassVar[type[ConnectorConfig]] = RestConfig
    setting_words: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "base_url": {
            "zh": "接口地址",
            "en": "Base URL",
            "help_zh": "查询从这里开始；查询是相对它的路径，例如 v1/employees。",
        },
        "allowed_hosts": {
            "zh": "允许访问的主机",
            "en": "Allowed hosts",
            "help_zh": "可访问的主机名，每行一个（精确匹配，或 *.example.com）。",
        },
        "auth_header": {"zh": "认证请求头", "en": "Auth header", "help_zh": "携带凭据的请求头。"},
        "auth_token": {
            "zh": "认证凭据",
            "en": "Auth token",
            "help_zh": "认证请求头的值，例如 Bearer eyJ...，加密保存。",
        },
        "rows_path": {
            "zh": "数据行路径",
            "en": "Rows path",
            "help_zh": "应答中数据行列表的路径（如 data.items）；应答本身是列表时留空。",
        },
        "timeout_s": {
            "zh": "超时（秒）",
            "en": "Timeout (seconds)",
            "help_zh": "等待完整应答的秒数。",
        },
        "max_response_bytes": {
            "zh": "应答大小上限（字节）",
            "en": "Largest answer (bytes)",
            "help_zh": "更大的应答会被拒绝，以免占满服务器内存。",
        },
    }
    capabilities: ClassVar[Capabilities] = Capabilities(filter_pushdown=True)
    requires_modules: ClassVar[tuple[str, ...]] = ("httpx",)

    config: RestConfig

    def __init__(
        self,
        config: ConnectorConfig | Mapping[str, Any],
        *,
        transport: httpx.BaseTransport | None = None,
        reach: Reach | None = None,
    ) -> None:
        """`transport` replaces the network (tests pass an `httpx.MockTransport`); `reach`
        (from the runtime) says which private networks the operator allows."""
        super().__init__(config)
        self._transport = transport or _CheckedTransport(reach or Reach())

    def test_connection(self) -> None:
        self._get(httpx.URL(self.config.base_url), {})

    def columns(self, query: str) -> list[ColumnInfo]:
        rows = list(self.fetch(query, {}, 1))
        if not rows:
            return []
        return [ColumnInfo(name, column_type_of(value)) for name, value in rows[0].items()]

    def fetch(self, query: str, params: Mapping[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        url = self._url(query)
        check_limit(limit)
        query_params = {name: _query_value(value) for name, value in params.items()}
        return self._stream(url, query_params, limit)

    def _stream(
        self, url: httpx.URL, params: Mapping[str, Any], limit: int
    ) -> Iterator[dict[str, Any]]:
        document = self._get(url, params)
        rows = _at_path(document, self.config.rows_path)
        for count, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise SourceUnavailable(
                    f"The answer at {self.config.rows_path or 'the top level'} is not a list "
                    "of objects."
                )
            yield row
            if count >= limit:
                return

    def _url(self, query: str) -> httpx.URL:
        base = httpx.URL(self.config.base_url)
        try:
            url = base.join(query)
        except httpx.InvalidURL as exc:
            raise QueryRejected(f"{query!r} is not a valid path.") from exc
        if url.query:
            raise QueryRejected("Put filters in parameters, not in the query path.")
        if url.scheme != base.scheme or not _host_allowed(url.host, self.config.allowed_hosts):
            raise QueryRejected(f"{query!r} leads to {url.host}, which this source may not call.")
        if _climbs(query) or not self._under_base(url):
            raise QueryRejected(f"{query!r} leads outside the base path of this source.")
        return url

    def _under_base(self, url: httpx.URL) -> bool:
        base = httpx.URL(self.config.base_url)
        prefix = base.path if base.path.endswith("/") else base.path.rsplit("/", 1)[0] + "/"
        return url.host == base.host and url.port == base.port and url.path.startswith(prefix)

    def _get(self, url: httpx.URL, params: Mapping[str, Any]) -> Any:
        headers = {"Accept": "application/json"}
        if self.config.auth_token is not None:
            headers[self.config.auth_header] = self.config.auth_token.get_secret_value()
        timeout = httpx.Timeout(self.config.timeout_s)
        with httpx.Client(
            transport=self._transport, timeout=timeout, follow_redirects=False
        ) as client:
            request = client.build_request("GET", url, params=params, headers=headers)
            for _ in range(_MAX_REDIRECTS + 1):
                body, response = self._send(client, request)
                if not response.is_redirect:
                    return self._decode(response, body)
                request = self._same_host_redirect(request, response)
        raise SourceUnavailable(f"{url.host} redirected more than {_MAX_REDIRECTS} times.")

    def _send(self, client: httpx.Client, request: httpx.Request) -> tuple[bytes, httpx.Response]:
        host = request.url.host
        try:
            response = client.send(request, stream=True)
            try:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.config.max_response_bytes:
                        raise SourceUnavailable(
                            f"{host} sent more than {self.config.max_response_bytes} bytes."
                        )
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise SourceUnavailable(
                f"{host} did not answer within {self.config.timeout_s:g} seconds."
            ) from exc
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"{host} could not be reached: {exc}") from exc
        return bytes(body), response

    def _same_host_redirect(
        self, request: httpx.Request, response: httpx.Response
    ) -> httpx.Request:
        location = response.headers.get("Location", "")
        target = request.url.join(location)
        if target.host != request.url.host or target.scheme != request.url.scheme:
            raise SourceUnavailable(
                f"{request.url.host} redirected to {target.host or location!r}; redirects to "
                "another host are not followed."
            )
        if _climbs(location) or not self._under_base(target):
            raise SourceUnavailable(
                f"{request.url.host} redirected outside the base path of this source; "
                "the redirect was not followed."
            )
        return httpx.Request("GET", target, headers=request.headers)

    def _decode(self, response: httpx.Response, body: bytes) -> Any:
        host = response.request.url.host
        status = response.status_code
        if status in {401, 403}:
            raise SourceUnavailable(f"{host} refused the credentials (HTTP {status}).")
        if status in {400, 404, 405, 422}:
            raise QueryRejected(f"{host} refused the request (HTTP {status}).")
        if status >= 400:
            raise SourceUnavailable(f"{host} answered with an error (HTTP {status}).")
        try:
            # Amounts must stay exact: JSON numbers with a fraction become Decimal, not float.
            return json.loads(body, parse_float=Decimal)
        except ValueError as exc:
            raise SourceUnavailable(f"{host} did not answer with JSON.") from exc


class _CheckedTransport(httpx.BaseTransport):
    """The network, with every connection made to an address `Reach` has checked.

    The request's URL is rewritten to the checked address; the Host header (set when the
    request was built) and the TLS server name (``sni_hostname``, which is also the name the
    certificate is verified against) stay the host's name.
    """

    def __init__(self, reach: Reach) -> None:
        self._reach = reach
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        address = self._reach.address_for(host, port)
        if address == host:
            return self._inner.handle_request(request)
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=address),
            headers=request.headers,
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        response = self._inner.handle_request(pinned)
        response.request = request  # redirects and messages speak of the host, not the address
        return response

    def close(self) -> None:
        self._inner.close()


#: A ``..`` path segment, also percent-encoded (``%2e%2e``) or with backslashes, which some
#: servers read as slashes.
_CLIMB = re.compile(r"(^|[/\\])\.\.($|[/\\])")


def _climbs(path: str) -> bool:
    text = path
    for _ in range(3):  # double encoding (%252e) too
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return bool(_CLIMB.search(text.split("?", 1)[0])) or "\\" in text


def _host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def _at_path(document: Any, path: str) -> list[Any]:
    node = document
    for part in path.split(".") if path else ():
        if not isinstance(node, dict) or part not in node:
            raise SourceUnavailable(f"The answer has no {path!r}.")
        node = node[part]
    if not isinstance(node, list):
        raise SourceUnavailable(f"The answer at {path or 'the top level'} is not a list.")
    return node


def _query_value(value: Any) -> str | list[str]:
    """Query-string form of a parameter; a list repeats the name (?dept=HQ&dept=FIN)."""
    if isinstance(value, list | tuple):
        return [_param_text(v) for v in value]
    return _param_text(value)


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
