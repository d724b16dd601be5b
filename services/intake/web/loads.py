"""The intake API's load routes: roster JSON, roster CSV upload, claims file upload, JSON
claims, and a load's progress / report (the same code path as the CLI).

Uploads are streamed to a temporary file (raw body, or ``multipart/form-data`` with a
``file`` part); with ``background=true`` the answer is 202 with a load id to poll
(``GET /loads/{load_id}``), otherwise the report once the load is done. A JSON load audits
one write per member; a file upload one write per file (member unset, the detail names the
load).
"""

# No "from __future__ import annotations": FastAPI resolves the dependency alias passed in.

import asyncio
import hashlib
import json
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from shared.errors import TransientError

from ..app import LoadContext, load_claims, load_roster
from ..app.jobs import LoadJobs
from ..domain import new_load_id
from ..settings import IntakeSettings
from .schemas import LoadAccepted, LoadReportOut, LoadStatusOut

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "the file: as the raw request body, or multipart/form-data with a `file` part",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "text/plain": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
        },
    }
}


def loads_router(settings: IntakeSettings, ctx: Callable[[], LoadContext], jobs: LoadJobs, Loader,  # noqa: N803
                 audit_rows: Callable[..., None], record: Callable[[str], dict[str, Any] | None],
                 check_running: Callable[[dict[str, Any]], dict[str, Any]]) -> APIRouter:
    """``Loader``: the dependency alias of an admin or ops user; ``audit_rows(user, member_ids,
    action, endpoint, detail)``; ``record(load_id)``: a load's stored record; ``check_running``:
    a ``running`` record whose process is gone or out of time, marked failed."""
    app = APIRouter(tags=["loads"])

    async def receive_upload(request: Request) -> tuple[Path, str, str | None]:
        """Stream the upload to a temp file; (path, sha256, filename from the multipart part)."""
        upload_dir = settings.uploads_path()
        upload_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        part_name = None
        fd = tempfile.NamedTemporaryFile(dir=upload_dir, prefix="upload-", delete=False)
        path = Path(fd.name)
        try:
            with fd:
                ctype = request.headers.get("content-type", "")
                if ctype.startswith("multipart/form-data"):
                    form = await request.form(max_part_size=settings.upload_max_bytes)
                    part = form.get("file")
                    if part is None or isinstance(part, str):
                        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "multipart upload needs a file part")
                    part_name = part.filename
                    while chunk := await part.read(1 << 20):
                        size += len(chunk)
                        if size > settings.upload_max_bytes:
                            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "upload too large")
                        digest.update(chunk)
                        fd.write(chunk)
                else:
                    async for chunk in request.stream():
                        size += len(chunk)
                        if size > settings.upload_max_bytes:
                            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "upload too large")
                        digest.update(chunk)
                        fd.write(chunk)
            if size == 0:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the upload is empty")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, digest.hexdigest(), part_name

    async def run_load(job_fn, load_id: str, kind: str, cleanup: Path | None, background: bool):
        job = jobs.start(load_id, kind, job_fn, cleanup=cleanup)
        if background:
            return JSONResponse(LoadAccepted(load_id=load_id, status_url=f"/loads/{load_id}").model_dump(),
                                status_code=status.HTTP_202_ACCEPTED)
        try:
            report = await asyncio.wrap_future(job.future)
        except TransientError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"load {load_id} failed: {exc} (loading the same input again is safe)") from None
        return report.as_dict()

    @app.post("/roster/members", response_model=LoadReportOut, tags=["loads"],
              summary="Add or update roster members (JSON)",
              description="One member or a list, as MemberRosterV1 body fields (member_id, given_name, family_name, "
                          "birth_date, sex, mrns, pcp_practice_id, pcp_npi, hospitalist_group, pod, contract_id, "
                          "program, risk_tier, eligibility, status) or as roster CSV columns. full=true: the list is "
                          "the complete roster and absent active members are termed. Invalid members are rejected "
                          "one by one (report) and dead-lettered.")
    async def post_roster_members(user: Loader,
                                  payload: Annotated[list[dict[str, Any]] | dict[str, Any], Body()],
                                  full: bool = False, effective: date | None = None):
        items = payload if isinstance(payload, list) else [payload]
        load_id = new_load_id("roster")
        eff = datetime.combine(effective, datetime.min.time(), tzinfo=timezone.utc) if effective else None
        ids = [str(i.get("member_id")) for i in items if isinstance(i, dict) and i.get("member_id")]
        result = await run_load(lambda prog: load_roster(ctx(), items, full=full, effective=eff, load_id=load_id,
                                                         on_progress=prog), load_id, "roster", None, False)
        await run_in_threadpool(audit_rows, user, ids, "write", "POST /roster/members", f"load {load_id}")
        return result

    @app.post("/roster/files", response_model=LoadReportOut, tags=["loads"], openapi_extra=UPLOAD_BODY,
              responses={202: {"model": LoadAccepted}},
              summary="Load a roster CSV file",
              description="Columns: shared.formats.ROSTER_COLUMNS (header checked). full=true terms active members "
                          "the file does not list. background=true answers 202 with a load id to poll.")
    async def post_roster_file(request: Request, user: Loader, full: bool = False, effective: date | None = None,
                               filename: str | None = None, background: bool = False):
        path, sha, part_name = await receive_upload(request)
        name = (filename or part_name or "roster-upload.csv")[:200]
        load_id = new_load_id("roster", sha)
        eff = datetime.combine(effective, datetime.min.time(), tzinfo=timezone.utc) if effective else None
        await run_in_threadpool(audit_rows, user, [None], "write", "POST /roster/files", f"load {load_id}")
        return await run_load(lambda prog: load_roster(ctx(), path, full=full, effective=eff, file_name=name, sha256=sha,
                                                       load_id=load_id, on_progress=prog, report_beside_file=False),
                              load_id, "roster", path, background)

    @app.post("/claims/files", response_model=LoadReportOut, tags=["loads"], openapi_extra=UPLOAD_BODY,
              responses={202: {"model": LoadAccepted}},
              summary="Load a claims file (837P/837I, claims CSV, JSON)",
              description="format: x12 | csv | json (default: detected). validate=true (X12): pyx12's validating "
                          "walk first, the 999 is kept with the report and rejected transaction sets are not "
                          "loaded. A file already loaded is not produced again unless force=true.")
    async def post_claims_file(request: Request, user: Loader, format: str | None = None,  # noqa: A002
                               validate: bool = False, force: bool = False, filename: str | None = None,
                               occurred_at: datetime | None = None, background: bool = False):
        if format is not None and format not in ("x12", "csv", "json"):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "format must be x12, csv or json")
        if occurred_at is not None and occurred_at.tzinfo is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "occurred_at needs a time zone")
        path, sha, part_name = await receive_upload(request)
        name = (filename or part_name or "claims-upload")[:200]
        load_id = new_load_id("claims", sha)
        await run_in_threadpool(audit_rows, user, [None], "write", "POST /claims/files", f"load {load_id}")
        return await run_load(lambda prog: load_claims(ctx(), path, format, validate=validate, force=force,
                                                       occurred_at=occurred_at, file_name=name, sha256=sha,
                                                       load_id=load_id, on_progress=prog, report_beside_file=False),
                              load_id, "claims", path, background)

    @app.post("/claims", response_model=LoadReportOut, tags=["loads"],
              summary="Load claims or claim lines as JSON",
              description="A claim (ClaimV2 body fields with nested lines; version_sequence, adjudication_date, "
                          "received_date and submitted_at order its versions), a claim line (the "
                          "claims CSV columns as keys), a list of either, or {\"claims\": [...]}. Same checks, ids "
                          "and dead letters as a file.")
    async def post_claims_json(user: Loader, payload: Annotated[list[Any] | dict[str, Any], Body()],
                               occurred_at: datetime | None = None):
        if occurred_at is not None and occurred_at.tzinfo is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "occurred_at needs a time zone")
        items = payload.get("claims") if isinstance(payload, dict) and "claims" in payload else payload
        items = items if isinstance(items, list) else [items]
        upload_dir = settings.uploads_path()
        upload_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=upload_dir, prefix="claims-", suffix=".jsonl", delete=False,
                                         encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item, default=str) + "\n")
            path = Path(fh.name)
        load_id = new_load_id("claims")
        ids = sorted({str(i.get("member_id")) for i in items if isinstance(i, dict) and i.get("member_id")})
        result = await run_load(lambda prog: load_claims(ctx(), path, "json", force=True, occurred_at=occurred_at,
                                                         file_name="api", load_id=load_id, on_progress=prog,
                                                         report_beside_file=False),
                                load_id, "claims", path, False)
        await run_in_threadpool(audit_rows, user, ids, "write", "POST /claims", f"load {load_id}")
        return result

    @app.get("/loads/{load_id}", response_model=LoadStatusOut, tags=["loads"],
             summary="A load's progress while it runs, then its report")
    async def load_status(load_id: str, user: Loader):
        job = jobs.get(load_id)
        if job is not None and job.report is None:
            snap = job.snapshot()
            return LoadStatusOut(load_id=load_id, kind=snap["kind"], status=snap["status"], seconds=snap["seconds"],
                                 error=snap["error"], progress=snap["progress"])
        stored = await run_in_threadpool(record, load_id)
        if stored is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such load")
        if job is None:  # not this process's: if its process is gone or out of time, it is over
            stored = await run_in_threadpool(check_running, stored)
        full = stored if "rejections" in stored and stored.get("status") != "running" else None
        return LoadStatusOut(load_id=load_id, kind=stored.get("kind"), status=stored.get("status", "running"),
                             seconds=stored.get("seconds"), error=stored.get("error"), report=full)

    return app
