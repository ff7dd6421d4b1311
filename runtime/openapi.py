"""The OpenAPI 3 description of ``/api/v1``, built from pydantic models of the bodies.

Each endpoint is one entry of :data:`ENDPOINTS`; features append theirs. Schemas come
from the models (``model_json_schema``), so the description cannot drift from the
shapes the code validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    path: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class Error(BaseModel):
    error: ErrorBody


class TokenRequest(BaseModel):
    username: str
    password: str
    #: Signing in again under the same name replaces that token (default "API sign-in").
    name: str | None = None


class TokenResponse(BaseModel):
    token: str
    name: str
    expires_at: str | None


class Grant(BaseModel):
    id: int
    role: str
    scope: dict[str, Any]
    valid_from: str | None
    valid_until: str | None


class Me(BaseModel):
    username: str
    display_name: str
    email: str | None
    department: str | None
    manager: str | None
    status: str
    locale: str | None
    grants: list[Grant]
    permissions: list[str]


class AuditItem(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    object_type: str | None
    object_id: str | None
    changes: dict[str, Any] | None
    request_id: str | None
    ip: str | None
    hash: str


class AuditList(BaseModel):
    items: list[AuditItem]
    page: int
    pages: int
    total: int


class Health(BaseModel):
    status: str
    database: str
    jobs: str


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    response: type[BaseModel] | None = None
    request: type[BaseModel] | None = None
    query: tuple[str, ...] = ()
    auth: bool = True
    status: int = 200
    errors: tuple[int, ...] = field(default=(400, 401, 403, 404))


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "post",
        "/auth/token",
        "Exchange a username and password for a bearer token",
        TokenResponse,
        TokenRequest,
        auth=False,
        errors=(400, 401, 403, 429),
    ),
    Endpoint("get", "/me", "The signed-in user with current grants and permissions", Me),
    Endpoint(
        "get",
        "/audit",
        "The audit trail (auditors only), newest first",
        AuditList,
        query=("actor", "action", "object_type", "object_id", "since", "until", "page", "per_page"),
    ),
]


def build_openapi() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error_ref = ref(Error)
    paths: dict[str, Any] = {}
    for ep in ENDPOINTS:
        op: dict[str, Any] = {"summary": ep.summary, "responses": {}}
        if ep.response is not None:
            op["responses"][str(ep.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": ref(ep.response)}},
            }
        else:
            op["responses"][str(ep.status)] = {"description": "OK"}
        for code in ep.errors:
            op["responses"][str(code)] = {
                "description": "Error",
                "content": {"application/json": {"schema": error_ref}},
            }
        if ep.request is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(ep.request)}},
            }
        if ep.query:
            op["parameters"] = [
                {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
                for q in ep.query
            ]
        for part in ep.path.split("/"):
            if part.startswith("{"):
                op.setdefault("parameters", []).append(
                    {
                        "name": part.strip("{}"),
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                )
        if not ep.auth:
            op["security"] = []
        paths.setdefault(ep.path, {})[ep.method] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "Quire API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
