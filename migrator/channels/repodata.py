"""repodata.json for one label of one subdir, written out from records serialised once
(patch instructions, already applied to them, are `repodata_patches`)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, BinaryIO


def dumps_record(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def write_view(handle: BinaryIO, *, subdir: str, tar: Sequence[bytes],
               conda: Sequence[bytes], removed: Iterable[str],
               base_url: str | None = None) -> None:
    """Write repodata.json from its entries already serialised, each as
    `b',"<fn>":<record>'` (leading comma included), in file name order: an update costs
    writing them out, not serialising every record nor joining them in memory."""
    info: dict[str, str] = {"subdir": subdir}
    if base_url:
        info["base_url"] = base_url
    handle.write(f'{{"info":{dumps_record(info)},"packages":{{'.encode())
    _entries(handle, tar)
    handle.write(b'},"packages.conda":{')
    _entries(handle, conda)
    handle.write(f'}},"removed":{json.dumps(sorted(removed))},"repodata_version":1}}\n'
                 .encode())


def entry(fn: str, record_text: str) -> bytes:
    """One entry as `write_view` takes it."""
    return f',"{fn}":{record_text}'.encode()


def _entries(handle: BinaryIO, items: Sequence[bytes]) -> None:
    if items:
        handle.write(items[0][1:])
        handle.writelines(itertools.islice(items, 1, None))
