"""Load the demo dataset: bundled real history plus the synthetic market."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator

from quantdesk import __version__
from quantdesk.data.ports import BarBatch, FetchRequest
from quantdesk.data.providers.bundled import (
    DEMO_DATASETS,
    BundledDatasetProvider,
    dataset_fingerprint,
)
from quantdesk.data.providers.synthetic import SyntheticMarketConfig, SyntheticMarketProvider
from quantdesk.data.service import IngestProgress, IngestReport
from quantdesk.runtime.bootstrap import Runtime


class SyntheticAllIntervals:
    """Every interval the synthetic market serves (daily and intraday), as one dataset."""

    def __init__(self, market: SyntheticMarketProvider) -> None:
        self._market = market
        self.name = market.name

    def fetch(self, request: FetchRequest) -> Iterator[BarBatch]:
        """Yield the synthetic bars of every interval, restricted like ``request``."""
        for interval in self._market.intervals:
            yield from self._market.fetch(
                FetchRequest(request.symbols, interval, request.start, request.end)
            )


def synthetic_fingerprint(config: SyntheticMarketConfig) -> str:
    """Return a fingerprint of the synthetic market's configuration and generator version."""
    text = f"{config.model_dump_json()}|quantdesk=={__version__}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load_demo(
    runtime: Runtime,
    *,
    force: bool = False,
    synthetic: bool = True,
    progress: Callable[[IngestProgress], None] | None = None,
) -> dict[str, IngestReport]:
    """Load every bundled dataset (and the synthetic market) not already loaded.

    Re-running is cheap: each dataset is skipped when its recorded fingerprint matches.
    """
    reports: dict[str, IngestReport] = {}
    for name in DEMO_DATASETS:
        reports[name] = runtime.market.ingest_dataset(
            name,
            dataset_fingerprint(name),
            BundledDatasetProvider((name,)),
            force=force,
            progress=progress,
        )
    if synthetic:
        config = SyntheticMarketConfig()
        reports["synthetic"] = runtime.market.ingest_dataset(
            "synthetic",
            synthetic_fingerprint(config),
            SyntheticAllIntervals(SyntheticMarketProvider(config)),
            force=force,
            progress=progress,
        )
    return reports


DEMO_ADMIN_EMAIL = "admin@quantdesk.local"


def ensure_demo_admin(runtime: Runtime) -> tuple[str, str] | None:
    """Create the demo administrator with a random password unless an admin exists.

    Returns ``(email, password)`` when one was created, so the caller can show the password
    once; it is stored only as an Argon2id hash.
    """
    from quantdesk.auth.models import AuditContext
    from quantdesk.auth.rbac import Role

    if runtime.auth.has_admin():
        return None
    password = secrets.token_urlsafe(18)
    runtime.auth.create_user(
        email=DEMO_ADMIN_EMAIL,
        password=password,
        display_name="Demo administrator",
        role=Role.ADMIN,
        actor=None,
        context=AuditContext(user_agent="quantdesk demo"),
    )
    return DEMO_ADMIN_EMAIL, password
