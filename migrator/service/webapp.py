"""The HTTP face of the service (Flask).

    POST /feedstock-outputs/copy        today's request, answered when the copy is done
    POST /feedstock-outputs/jobs        the same request; 202 with a job id at once
    GET  /feedstock-outputs/jobs/<id>   the job's state and, once done, its report
    POST /feedstock-outputs/validate    what CI that was never rerendered still calls:
                                        200 {"deprecated": true}, as conda-forge answers
    GET  /alive                         {"status": "operational"}
    GET  /healthz

The token travels in the `FEEDSTOCK_TOKEN` header, as CI sends it today. Every answer of
the app, errors included, is JSON (a body over the server's limit is refused by the
server before the app sees it).
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from migrator.core.secret import Secret
from migrator.service import body as request_body
from migrator.service.core import Service
from migrator.service.request import BadRequest
from migrator.service.response import Report
from migrator.service.results import Kind, result

log = logging.getLogger(__name__)
TOKEN_HEADER = "FEEDSTOCK_TOKEN"
MAX_BODY = request_body.MAX_BODY


def create_app(service: Service, *, executor: Executor) -> Flask:
    app = Flask("migrator.service")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.post("/feedstock-outputs/copy")
    def copy() -> Response:
        body, token = _read()
        if isinstance(body, Report):
            return _answer(body)
        return _answer(service.copy(body, token))

    @app.post("/feedstock-outputs/jobs")
    def submit() -> Response:
        body, token = _read()
        if isinstance(body, Report):
            return _answer(body)
        receipt = service.receive(body, token)
        if receipt.report is not None:
            return _answer(receipt.report)
        assert receipt.request_id is not None
        executor.submit(_run, service, receipt.request_id)
        url = f"/feedstock-outputs/jobs/{receipt.request_id}"
        response = jsonify({"job_id": receipt.request_id, "status_url": url, "done": False})
        response.status_code = 202
        response.headers["Location"] = url
        response.headers["Retry-After"] = "2"
        return response

    @app.get("/feedstock-outputs/jobs/<job_id>")
    def job(job_id: str) -> Response:
        report = service.status(job_id)
        if report is None:
            response = jsonify({"error": "no such job"})
            response.status_code = 404
            return response
        response = jsonify({"job_id": job_id, **report.to_json(),
                            "status": report.status_code})
        if not report.done:
            response.headers["Retry-After"] = "2"
        return response

    @app.post("/feedstock-outputs/validate")
    def validate() -> Response:
        return jsonify({"deprecated": True})

    @app.get("/alive")
    def alive() -> Response:
        response = jsonify({"status": "operational"})
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @app.get("/healthz")
    def health() -> Response:
        return jsonify({"ok": True})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = jsonify({"error": exc.name, "errors": [exc.description or exc.name]})
        response.status_code = exc.code or 500
        return response

    return app


def _read() -> tuple[Any, Secret | None]:
    """The decoded body (or the 400 report refusing it) and the token."""
    raw = request.headers.get(TOKEN_HEADER)
    token = Secret(raw.strip()) if raw and raw.strip() else None
    try:
        return request_body.decode(request.get_data(cache=False)), token
    except BadRequest as exc:
        return Report(None, None, {}, result(Kind.BAD_REQUEST, str(exc))), token


def _answer(report: Report) -> Response:
    response = jsonify(report.to_json())
    response.status_code = report.status_code
    return response


def _run(service: Service, request_id: str) -> None:
    try:
        service.run(request_id, blocking=False)
    except BlockingIOError:
        pass  # another worker (a recovery pass) already has it
    except Exception:
        log.exception("job %s failed", request_id)
