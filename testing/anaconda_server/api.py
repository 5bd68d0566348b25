"""The API operations anaconda-client calls, answered from the model as api.anaconda.org
answers them: JSON bodies, `{"error": ...}` on failure, 201 for label changes, a list of
the copied files for a copy, a redirect to storage for a download.

Reads of public owners need no token; every change needs a token allowed to write to
the owner it changes (for a copy: the owner copied to).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any, NamedTuple

from werkzeug.routing import Map, Rule

from testing.anaconda_server import views
from testing.anaconda_server.model import ApiFailure, Identity, Model, Staged


class Answer(NamedTuple):
    status: int
    body: Any = None  # JSON, or bytes sent as they are
    headers: dict[str, str] | None = None


class Ctx(NamedTuple):
    model: Model
    identity: Identity | None
    method: str
    body: Any
    base_url: str  # e.g. http://127.0.0.1:1234
    signing_key: bytes

    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]


def sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _writer(ctx: Ctx, owner: str) -> None:
    if ctx.identity is None:
        raise ApiFailure(401, "Authentication required")
    if owner not in ctx.identity.owners:
        raise ApiFailure(403, f"{ctx.identity.login} may not write to {owner}")


def root(ctx: Ctx) -> Answer:
    return Answer(200, {"ok": 1, "versions": {"hosted-api": "test"}})


def user(ctx: Ctx, login: str | None = None) -> Answer:
    if login is None:
        if ctx.identity is None:
            raise ApiFailure(401, "Authentication required")
        login = ctx.identity.login
    ctx.model.packages(login)  # 404 for an unknown user
    return Answer(200, views.user_json(login))


def package(ctx: Ctx, owner: str, name: str) -> Answer:
    model = ctx.model
    if ctx.method == "GET":
        with model.lock:
            return Answer(200, views.package_json(model.package(owner, name), api_host=ctx.host))
    _writer(ctx, owner)
    if ctx.method == "DELETE":
        with model.lock:
            model.package(owner, name)
            del model.packages(owner)[name]
        return Answer(201)
    made = model.add_package(owner, name, public=ctx.body["public"],
                             attrs=ctx.body["public_attrs"])
    return Answer(200, views.package_json(made, api_host=ctx.host))


def packages(ctx: Ctx, owner: str) -> Answer:
    with ctx.model.lock:
        found = list(ctx.model.packages(owner).values())
        return Answer(200, [views.package_json(p, api_host=ctx.host) for p in found])


def release(ctx: Ctx, owner: str, name: str, version: str) -> Answer:
    model = ctx.model
    if ctx.method != "GET":
        _writer(ctx, owner)
    with model.lock:
        if ctx.method == "POST":
            attrs = {k: v for k, v in ctx.body.items() if k not in ("requirements", "announce")}
            found = model.add_release(owner, name, version, attrs)
        else:
            found = model.release(owner, name, version)
        if ctx.method == "PATCH":
            found.attrs.update(ctx.body["public_attrs"])
        if ctx.method == "DELETE":
            del model.package(owner, name).releases[version]
            return Answer(201)
        return Answer(200, views.release_json(owner, model.package(owner, name), found,
                                              api_host=ctx.host))


def dist(ctx: Ctx, owner: str, name: str, version: str, basename: str) -> Answer:
    model = ctx.model
    if ctx.method != "GET":
        _writer(ctx, owner)
    with model.lock:
        found = model.file(owner, name, version, basename)
        if ctx.method == "DELETE":
            model.remove(found)
        return Answer(200, views.dist_json(found, api_host=ctx.host))


def stage(ctx: Ctx, owner: str, name: str, version: str, basename: str) -> Answer:
    _writer(ctx, owner)
    body = ctx.body
    dist_id = ctx.model.stage(Staged(
        owner, name, version, basename, body["sha256"], list(body["channels"]) or ["main"],
        dict(body["attrs"]), body.get("dependencies"), body.get("description")))
    policy = f"{dist_id}:{basename}"
    return Answer(200, {
        "dist_id": dist_id,
        "post_url": f"{ctx.base_url}/_storage/upload",
        "form_data": {"key": dist_id, "acl": "public-read", "success_action_status": "201",
                      "policy": policy, "signature": sign(ctx.signing_key, policy)},
    })


def commit(ctx: Ctx, owner: str, name: str, version: str, basename: str) -> Answer:
    _writer(ctx, owner)
    made = ctx.model.commit(ctx.body["dist_id"], owner, name, version, basename)
    return Answer(200, {**views.dist_json(made, api_host=ctx.host),
                        "url": f"{ctx.base_url}/{owner}/{name}"})


def copy(ctx: Ctx, owner: str, name: str, version: str, basename: str = "") -> Answer:
    body = ctx.body
    to_owner = body.get("to_owner") or (ctx.identity.login if ctx.identity else "")
    _writer(ctx, to_owner)
    model = ctx.model
    mode = ctx.method.lower()
    with model.lock:
        release_files = model.release(owner, name, version).files
        if basename:
            if basename not in release_files:
                raise ApiFailure(404, f"file {owner}/{name}/{version}/{basename} not found")
            sources = [release_files[basename]]
        else:
            sources = list(release_files.values())
        copied = []
        for source in sources:
            if body["from_channel"] not in source.labels:
                continue
            made = model.copy(source, to_owner=to_owner, to_label=body["to_channel"], mode=mode)
            if made is not None:
                copied.append(views.dist_json(made, api_host=ctx.host))
    return Answer(200, copied)


def download(ctx: Ctx, owner: str, name: str, version: str, basename: str) -> Answer:
    with ctx.model.lock:
        found = ctx.model.file(owner, name, version, basename)
        found.downloads += 1
        blob = found.sha256
    location = f"{ctx.base_url}/_storage/blob/{blob}?signature={sign(ctx.signing_key, blob)}"
    return Answer(302, b"", {"Location": location})


def channels(ctx: Ctx, owner: str) -> Answer:
    counts = ctx.model.labels(owner)
    return Answer(200, {label: {"is_locked": False, "num_files": n}
                        for label, n in sorted(counts.items())})


def channel(ctx: Ctx, owner: str, label: str) -> Answer:
    model = ctx.model
    if ctx.method == "GET":
        with model.lock:
            files = [f for f in model.files(owner) if label in f.labels]
            return Answer(200, {"name": label, "is_locked": False, "num_files": len(files),
                                "files": [views.dist_json(f, api_host=ctx.host)
                                          for f in files]})
    _writer(ctx, owner)
    body = ctx.body
    with model.lock:
        chosen = [f for f in model.files(owner)
                  if all(body.get(k) in (None, getattr(f, a)) for k, a in (
                      ("package", "package"), ("version", "version"), ("basename", "basename")))]
        if ctx.method == "POST" and not chosen:
            raise ApiFailure(404, "no file matches")
        for found in chosen:
            if ctx.method == "POST":
                found.labels.add(label)
            else:
                found.labels.discard(label)
    return Answer(201)


ROUTES = Map([
    Rule("/", endpoint=root, methods=["GET", "HEAD"]),
    Rule("/user", endpoint=user, methods=["GET"]),
    Rule("/user/<login>", endpoint=user, methods=["GET"]),
    Rule("/package/<owner>/<name>", endpoint=package, methods=["GET", "POST", "DELETE"]),
    Rule("/packages/<owner>", endpoint=packages, methods=["GET"]),
    Rule("/release/<owner>/<name>/<version>", endpoint=release,
         methods=["GET", "POST", "PATCH", "DELETE"]),
    Rule("/dist/<owner>/<name>/<version>/<path:basename>", endpoint=dist,
         methods=["GET", "DELETE"]),
    Rule("/stage/<owner>/<name>/<version>/<path:basename>", endpoint=stage, methods=["POST"]),
    Rule("/commit/<owner>/<name>/<version>/<path:basename>", endpoint=commit,
         methods=["POST"]),
    Rule("/copy/package/<owner>/<name>/<version>/", endpoint=copy,
         methods=["POST", "PUT", "PATCH"]),
    Rule("/copy/package/<owner>/<name>/<version>/<path:basename>", endpoint=copy,
         methods=["POST", "PUT", "PATCH"]),
    Rule("/download/<owner>/<name>/<version>/<path:basename>", endpoint=download,
         methods=["GET"]),
    Rule("/channels/<owner>", endpoint=channels, methods=["GET"]),
    Rule("/channels/<owner>/<label>", endpoint=channel, methods=["GET", "POST", "DELETE"]),
], strict_slashes=False, merge_slashes=False)

# which request body each (endpoint, method) takes, by its name in checks.BODIES
BODY_OF: dict[tuple[Callable[..., Answer], str], str] = {
    (package, "POST"): "add_package",
    (release, "POST"): "add_release",
    (release, "PATCH"): "update_release",
    (stage, "POST"): "stage",
    (commit, "POST"): "commit",
    (copy, "POST"): "copy",
    (copy, "PUT"): "copy",
    (copy, "PATCH"): "copy",
    (channel, "POST"): "label",
    (channel, "DELETE"): "label",
}
