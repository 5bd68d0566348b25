"""The real anaconda-client (`binstar_client`) pointed at a stand-in server: its API
object, and its `anaconda upload` path (the Uploader class the command runs), as CI's
`anaconda upload --user=cf-staging --label=main --force-metadata-update` drives it.

The token is handed over in memory; anaconda-client's own config files are not read.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from binstar_client import Binstar
from binstar_client.commands.upload import Uploader
from binstar_client.utils import get_server_api

from testing.anaconda_server.server import AnacondaServer


def binstar(server: AnacondaServer, token: str | None) -> Binstar:
    api: Binstar = get_server_api(token=token, config={"url": server.url})
    return api


def anaconda_upload(server: AnacondaServer, token: str, paths: Sequence[Path], *,
                    owner: str, labels: Sequence[str] = ("main",),
                    force_metadata_update: bool = True) -> list[dict[str, Any]]:
    """Upload like `anaconda upload`; the uploads anaconda-client reports."""
    arguments = argparse.Namespace(
        token=token, site=None, user=owner, labels=list(labels), channels=None,
        namespace=None, package=None, version=None, summary=None, description=None,
        build_id=None, keep_basename=False, mode="fail", auto_register=True, private=False,
        force_metadata_update=force_metadata_update, package_type=None,
        files=[[str(p) for p in paths]])
    uploader = Uploader(arguments=arguments)
    # the config the uploader would read from anaconda-client's files: only the site URL
    uploader._Uploader__config = {"url": server.url}
    uploader.api.check_server()
    try:
        for path in paths:
            uploader.upload(str(path))
    finally:
        uploader.cleanup()
    return list(uploader.uploaded_packages)
