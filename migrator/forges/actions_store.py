"""GitHub Actions as a CI secret store: `FEEDSTOCK_TOKEN` is a repository secret, and the
staging token is one organisation secret the feedstock must be allowed to read."""

from __future__ import annotations

from migrator.core.secret import Secret
from migrator.forges import Forge, RepoInfo
from migrator.forges.ci_secrets import FEEDSTOCK_TOKEN, STAGING_TOKEN, StoreAck, StoreError


class ActionsStore:
    provider = "github_actions"

    def __init__(self, forge: Forge) -> None:
        self.forge = forge

    def write_feedstock_token(self, repo: RepoInfo, token: Secret) -> StoreAck:
        info = self.forge.write_repo_secret(repo, FEEDSTOCK_TOKEN, token)
        return StoreAck(info.name, info.updated_at)

    def feedstock_token_written(self, repo: RepoInfo) -> StoreAck | None:
        info = self.forge.repo_secrets(repo).get(FEEDSTOCK_TOKEN)
        return None if info is None else StoreAck(info.name, info.updated_at)

    def ensure_staging_access(self, repo: RepoInfo) -> None:
        info = self.forge.org_secret(STAGING_TOKEN)
        if info is None:
            raise StoreError(f"organisation secret {STAGING_TOKEN} does not exist")
        if info.visibility == "all":
            return
        if info.visibility != "selected":
            # "private" reaches private and internal repositories only: a public
            # feedstock would build without it and every upload would fail
            raise StoreError(f"{STAGING_TOKEN} is limited to {info.visibility} "
                             "repositories, which public feedstocks cannot read")
        if repo.id not in info.selected_repository_ids:
            self.forge.add_org_secret_repo(STAGING_TOKEN, repo)
