"""The validation service: accept a copy request, check its token, copy each output,
tell the maintainers about failures. The Python API behind the CLI and the HTTP app.

    service = Service(forge=forge, channels=channels, state_dir=path)
    report = service.copy(body, token)          # synchronous
    receipt = service.receive(body, token)      # checks, then journals, for a job queue
    report = service.run(receipt.request_id)    # later, on a worker
    service.recover()                           # at start: finish what a crash left
    service.close()                             # commit the names it still owes

Names published on the strength of an allowlist glob are claimed for their feedstock
(`claims`): recorded before the answer, committed to the outputs registry in batches.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from migrator.channels.dists import parse_dist
from migrator.core.pids import own_folder
from migrator.core.secret import Secret
from migrator.forges import Forge
from migrator.registries import outputs_registry as registry
from migrator.service import journal as J
from migrator.service import notify, pipeline
from migrator.service.auth import REPO as TOKENS
from migrator.service.auth import TokenChecker, TokenRegistryError, Verdict, token_path
from migrator.service.claims import ClaimBook
from migrator.service.notices import NoticeLog
from migrator.service.publisher import Channels, Publisher
from migrator.service.recent_reads import RecentReads
from migrator.service.registry_view import RegistryView
from migrator.service.request import BadRequest, CopyRequest, parse_request
from migrator.service.response import Report, from_record
from migrator.service.results import Kind, OutputResult, result

log = logging.getLogger(__name__)


class Receipt(NamedTuple):
    request_id: str | None
    report: Report | None  # set when the request was refused or already finished


@dataclass
class Service:
    forge: Forge
    channels: Channels
    state_dir: Path
    lock_timeout: float = 120.0
    scrypt_workers: int = 2
    registry_max_age: float = 5.0  # how old a read of the outputs registry may be
    claim_delay: float = 5.0  # how long claims gather before they are committed
    group_wait: float = 0.1  # how long a publish waits for requests still checking
    token_files: RecentReads = field(init=False)
    tokens: TokenChecker = field(init=False)
    journal: J.Journal = field(init=False)
    notices: NoticeLog = field(init=False)
    names: RegistryView = field(init=False)
    claims: ClaimBook = field(init=False)
    publisher: Publisher = field(init=False)
    _work: Path | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir)
        self.token_files = RecentReads(self.forge, TOKENS, max_age=self.registry_max_age)
        self.tokens = TokenChecker(self.forge, scrypt_workers=self.scrypt_workers,
                                   read=self.token_files.read)
        self.journal = J.Journal(self.state_dir / "requests")
        self.notices = NoticeLog(self.state_dir / "notices")
        self.claims = ClaimBook(self.forge, self.journal, self.state_dir / "claims",
                                delay=self.claim_delay, committed=self._registry_moved)
        self.names = RegistryView(self.forge, self.state_dir / "registry",
                                  max_age=self.registry_max_age, pending=self.claims.owner)
        self.publisher = Publisher(self.channels, gather=self.group_wait)

    def _scratch(self) -> Path:
        """This process's scratch space (see `pids`)."""
        if self._work is None:
            self._work = own_folder(self.state_dir / "work", "held-")
            self._work.mkdir(exist_ok=True)
        return self._work

    def _registry_moved(self) -> None:
        self.names.snapshot(newer_than=time.monotonic())

    def close(self) -> None:
        """Commit the claims still owed and let go of the registry clones."""
        self.claims.close()
        self.names.close()

    def flush_claims(self) -> int:
        """Commit the recorded claims now (they are committed in the background
        otherwise); how many requests' claims went into the commit."""
        return self.claims.flush()

    def copy(self, body: Any, token: Secret | None) -> Report:
        receipt = self.receive(body, token)
        if receipt.report is not None or receipt.request_id is None:
            assert receipt.report is not None
            return receipt.report
        return self.run(receipt.request_id)

    def receive(self, body: Any, token: Secret | None) -> Receipt:
        """Parse and authenticate. A refused request is answered at once and leaves
        nothing on disk (a comment on the commit it names aside, when it asks for one);
        an accepted one is journalled and its id returned for `run`."""
        arrived = time.monotonic()
        try:
            request = parse_request(body)
        except BadRequest as exc:
            return Receipt(None, Report(None, None, {}, result(Kind.BAD_REQUEST, str(exc))))
        refusal = self._authenticate(request, token, arrived=arrived)
        if refusal is not None:
            request_id = J.new_id()  # for the logs and the comment; nothing is journalled
            log.warning("refused request %s for %s-feedstock: %s", request_id,
                        request.feedstock, refusal.kind.value)
            results = {key: refusal for key in request.outputs}
            self._tell_refusal(request_id, request, results, refusal)
            return Receipt(None, Report(request_id, request.feedstock, results, refusal))
        record = self.journal.create(request, state=J.AUTHENTICATED)
        return Receipt(record["id"], None)

    def _authenticate(self, request: CopyRequest, token: Secret | None, *,
                      arrived: float) -> OutputResult | None:
        if token is None:
            return result(Kind.AUTH_FAILED, "the request carries no FEEDSTOCK_TOKEN header")
        try:
            verdict = self.tokens.verdict(request.feedstock, token, provider=request.provider)
            if verdict is not Verdict.VALID and self._tokens_changed(request, arrived):
                # refused on what was read before the request came, and changed since
                verdict = self.tokens.verdict(request.feedstock, token,
                                              provider=request.provider)
        except TokenRegistryError as exc:
            log.warning("token registry unreadable for %s-feedstock: %s", request.feedstock, exc)
            return result(Kind.UNAVAILABLE, "the token registry could not be read")
        name, provider = f"{request.feedstock}-feedstock", request.provider
        if verdict is Verdict.VALID:
            return None
        if verdict is Verdict.WRONG_PROVIDER:
            return result(Kind.PROVIDER_MISMATCH, f"the FEEDSTOCK_TOKEN is a token of {name} "
                          + (f"for another CI provider than {provider}" if provider else
                             "for one CI provider, and the request names no provider"))
        if verdict is Verdict.EXPIRED:
            return result(Kind.AUTH_FAILED, f"the FEEDSTOCK_TOKEN is an expired token of {name}"
                                            "; a newer one replaced it")
        for_provider = f" for provider {provider}" if provider else ""
        return result(Kind.AUTH_FAILED,
                      f"the FEEDSTOCK_TOKEN is not a valid token of {name}{for_provider}")

    def _tokens_changed(self, request: CopyRequest, arrived: float) -> bool:
        path = token_path(request.feedstock)
        try:
            return self.token_files.reread(path, newer_than=arrived)
        except Exception as exc:
            raise TokenRegistryError(f"cannot read {TOKENS}/{path}: {exc}") from None

    def _tell_refusal(self, request_id: str, request: CopyRequest,
                      results: dict[str, OutputResult], refusal: OutputResult) -> None:
        data = request.to_json()
        if refusal.kind is Kind.UNAVAILABLE or not notify.wanted(data, results, refusal):
            return  # an outage is not the feedstock's to fix; CI retries
        try:
            notify.send(self.forge, self.notices, request_id=request_id, request=data,
                        results=results, refusal=refusal)
        except Exception as exc:
            log.warning("could not comment on the commit of request %s: %s", request_id, exc)

    def run(self, request_id: str, *, blocking: bool = True) -> Report:
        with self.journal.running(request_id, blocking=blocking):
            record = self.journal.load(request_id)
            if record is None:
                raise KeyError(request_id)
            if record["state"] != J.DONE:
                self._run(record)
            return from_record(record)

    def _run(self, record: dict[str, Any]) -> None:
        if record["state"] == J.RECEIVED:
            # the token was never checked and is gone now; the client must ask again
            stopped = result(Kind.INTERRUPTED)
            record["error"] = stopped.to_json()
            for out in record["outputs"].values():
                out["result"] = stopped.to_json()
            self.journal.finish(record)
            return
        request = parse_request(record["request"])
        job = pipeline.Job(self.channels, self.journal, record, request, self._scratch(),
                           self.state_dir / "locks", self.lock_timeout, self.names,
                           self.publisher)
        todo = []
        for key, out in record["outputs"].items():
            settled = out["result"] is not None and (
                out["step"] == J.FINISHED or not OutputResult.from_json(out["result"]).ok)
            if not settled:
                todo.append(key)
        if todo:
            for key, outcome in pipeline.process(job, todo).items():
                record["outputs"][key]["result"] = outcome.to_json()
        if record.get("claimed") is None:
            record["claimed"] = self._claim_allowed_names(request, record)
        self._tell(record)
        self.journal.finish(record)
        log.info("request %s for %s-feedstock: %s", record["id"], request.feedstock,
                 ", ".join(f"{k}={o['result']['result']}" for k, o in record["outputs"].items()))

    def _claim_allowed_names(self, request: CopyRequest, record: dict[str, Any]
                             ) -> list[str]:
        """A name published on the strength of an allowlist glob is registered to the
        feedstock afterwards, so the next feedstock whose glob matches cannot take it.
        The claim is recorded here, before the answer; the registry commit comes later,
        for many requests at once (`claims`)."""
        published = {parse_dist(key).name.lower() for key, out in record["outputs"].items()
                     if out["result"] is not None and OutputResult.from_json(out["result"]).ok}
        unclaimed: list[str] = []
        if published:
            try:
                snapshot = self.names.snapshot()
                unclaimed = sorted(n for n in published if snapshot.registered(n) is None)
            except registry.RegistryError as exc:  # the copy stands; the next one claims
                log.warning("could not read the outputs registry to claim %s: %s",
                            ", ".join(sorted(published)), exc)
        if unclaimed:
            self.claims.add(record["id"], request.feedstock, unclaimed)
        return unclaimed

    def _tell(self, record: dict[str, Any]) -> None:
        results = {k: OutputResult.from_json(o["result"]) for k, o in record["outputs"].items()}
        if record["notice"] is not None or not notify.wanted(record["request"], results):
            return
        record["notice"] = "sending"  # at most once: a crash here never comments twice
        self.journal.save(record)
        try:
            sent = notify.send(self.forge, self.notices, request_id=record["id"],
                               request=record["request"], results=results)
            record["notice"] = "sent" if sent else "already-told"
        except Exception as exc:
            log.warning("could not comment on the commit of request %s: %s", record["id"], exc)
            record["notice"] = "failed"
        self.journal.save(record)

    def status(self, request_id: str) -> Report | None:
        record = self.journal.load(request_id)
        return None if record is None else from_record(record)

    def recover(self) -> list[str]:
        """Finish every request a crash left behind (skipping those another worker is
        running), after removing temporary files of dead processes and rendering
        repodata a crash left unrendered; then commit every claim still recorded."""
        for channel in (self.channels.staging, self.channels.quarantine,
                        self.channels.production):
            repair = getattr(channel, "repair", None)
            if repair is not None:
                repair()
        finished = []
        for request_id in self.journal.active_ids():
            try:
                self.run(request_id, blocking=False)
            except (BlockingIOError, KeyError):
                continue
            finished.append(request_id)
        try:
            self.claims.flush()
        except Exception as exc:  # committed in the background, or by the next start
            log.warning("could not commit the recorded claims yet: %s", exc)
        return finished
