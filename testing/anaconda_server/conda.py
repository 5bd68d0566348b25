"""The two other hosts the stand-in plays, under path prefixes of the same server:

    /conda/<owner>/[label/<label>/]<subdir>/repodata.json   conda.anaconda.org: a label's
    /conda/<owner>/[label/<label>/]<subdir>/<file>          repodata and files (no label: main;
                                                            repodata has an ETag)
    /_storage/upload        the S3 form POST of anaconda-client's upload (201 + XML)
    /_storage/blob/<sha256> where a download is redirected to (signed, no token)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from werkzeug.wrappers import Request, Response

from testing.anaconda_server import views
from testing.anaconda_server.api import sign
from testing.anaconda_server.model import Model

_CONDA = re.compile(r"^/conda/(?P<owner>[^/]+)/(?:label/(?P<label>[^/]+)/)?"
                    r"(?P<subdir>[a-z0-9-]+)/(?P<name>[^/]+)$")
_BLOB = re.compile(r"^/_storage/blob/(?P<sha>[0-9a-f]{64})$")
# the form fields anaconda-client posts beside `file`: the stage answer's, and two of its own
FORM_FIELDS = ("key", "acl", "success_action_status", "policy", "signature",
               "Content-Length", "Content-MD5")


def s3_error(status: int, code: str) -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>" \
           f"<Message>{code}</Message></Error>"
    return Response(body, status, content_type="application/xml")


def conda(model: Model, request: Request) -> Response:
    found = _CONDA.match(request.path)
    if found is None or request.method not in ("GET", "HEAD"):
        return Response(b"Not Found", 404)
    owner, subdir, name = found["owner"], found["subdir"], found["name"]
    label = found["label"] or "main"
    with model.lock:
        if owner not in model.owners:
            return Response(b"Not Found", 404)
        labelled = [f for f in model.files(owner) if label in f.labels]
        if name == "repodata.json":
            text = json.dumps(views.repodata(labelled, subdir=subdir)).encode()
            # conditional requests as the CDN in front of conda.anaconda.org answers them
            etag = f'"{hashlib.sha256(text).hexdigest()[:32]}"'
            if request.headers.get("If-None-Match") == etag:
                return Response(b"", 304, {"ETag": etag})
            return Response(text, 200, {"ETag": etag}, content_type="application/json")
        match = next((f for f in labelled if f.basename == f"{subdir}/{name}"), None)
        blob = model.blobs.get(match.sha256) if match is not None else None
    if blob is None:
        return Response(b"Not Found", 404)
    return Response(blob, 200, content_type="application/octet-stream")


def storage(model: Model, request: Request, key: bytes) -> tuple[Response, str | None]:
    """The answer, and what was wrong with the request if the client sent it wrongly."""
    blob = _BLOB.match(request.path)
    if blob is not None and request.method == "GET":
        sha = blob["sha"]
        if not hmac.compare_digest(request.args.get("signature", ""), sign(key, sha)):
            return s3_error(403, "SignatureDoesNotMatch"), None
        with model.lock:
            data = model.blobs.get(sha)
        if data is None:
            return s3_error(404, "NoSuchKey"), None
        return Response(data, 200, content_type="application/octet-stream"), None
    if request.path != "/_storage/upload" or request.method != "POST":
        return s3_error(404, "NoSuchKey"), f"{request.method} {request.path}: no such storage call"
    if request.headers.get("Authorization"):
        return s3_error(400, "InvalidArgument"), "a token was sent to storage"
    form, files = request.form, request.files
    missing = [f for f in FORM_FIELDS if f not in form]
    if missing or list(files) != ["file"]:
        return s3_error(400, "InvalidArgument"), f"storage form lacks {missing or ['file']}"
    if not hmac.compare_digest(form["signature"], sign(key, form["policy"])) or \
            not form["policy"].startswith(form["key"] + ":"):
        return s3_error(403, "SignatureDoesNotMatch"), None
    data = files["file"].read()
    try:
        length = int(form["Content-Length"])
    except ValueError:
        return s3_error(400, "InvalidArgument"), "Content-Length is not a number"
    code = model.receive(form["key"], data, content_md5=form["Content-MD5"], length=length)
    if code is not None:
        return s3_error(400 if code != "AccessDenied" else 403, code), None
    body = f"<?xml version='1.0' encoding='UTF-8'?><PostResponse><Key>{form['key']}</Key>" \
           "</PostResponse>"
    return Response(body, 201, content_type="application/xml"), None
