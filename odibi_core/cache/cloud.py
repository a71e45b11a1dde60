"""CloudCacheManager: a CacheManager whose entries live in a cloud bucket or container.

A cloud cache is not a different cache: it is the same :class:`CacheManager` on a
:class:`~odibi_core.cache.fsspec_store.FsspecStore`, so keys, checksums and invalidation work
exactly as on a laptop. Each provider needs its fsspec backend package (adlfs, s3fs, gcsfs);
the ``memory`` provider needs nothing and is what the tests and lessons use.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import ConfigError
from .fsspec_store import FsspecStore
from .manager import CacheManager

__all__ = ["PROVIDERS", "CloudCacheManager"]

log = logging.getLogger(__name__)

#: provider name -> (URL scheme, fsspec backend package to install or None)
PROVIDERS: dict[str, tuple[str, str | None]] = {
    "aws": ("s3", "s3fs"),
    "azure": ("az", "adlfs"),
    "gcp": ("gs", "gcsfs"),
    "gcs": ("gs", "gcsfs"),
    "memory": ("memory", None),
    "s3": ("s3", "s3fs"),
}


def cloud_cache_url(cloud_provider: str, container: str, prefix: str = "odibi-cache") -> str:
    """The URL of the cache folder, e.g. ``az://pipeline-cache/odibi-cache``."""
    provider = cloud_provider.lower()
    if provider not in PROVIDERS:
        raise ConfigError("CloudCacheManager", f"unknown cloud_provider {cloud_provider!r}; "
                          f"expected one of {', '.join(sorted(PROVIDERS))}")
    if not container or "/" in container.strip("/"):
        raise ConfigError("CloudCacheManager", f"container must be one bucket or container name, "
                          f"got {container!r}; put sub-folders in prefix=")
    scheme, _ = PROVIDERS[provider]
    path = "/".join(part for part in (container.strip("/"), prefix.strip("/")) if part)
    return f"{scheme}://{path}"


class CloudCacheManager(CacheManager):
    """A :class:`CacheManager` keeping its entries in Azure Blob, S3, GCS or fsspec memory.

    Args:
        cloud_provider: ``"azure"`` (``az://``), ``"s3"`` or ``"aws"`` (``s3://``),
            ``"gcs"`` or ``"gcp"`` (``gs://``), or ``"memory"`` (``memory://``, for tests).
        container: the bucket or container.
        prefix: the folder inside it that holds the entries.
        account_name: Azure storage account (Azure only).
        account_key: Azure storage account key (Azure only); never logged or shown.
        enabled: as for :class:`CacheManager`.
        **storage_options: passed to the fsspec backend (``key``/``secret`` for s3fs,
            ``token`` for gcsfs, ``sas_token`` or ``credential`` for adlfs, ...).

    Raises:
        ConfigError: unknown provider, Azure options for another provider, or the backend
            package is not installed (the message says what to ``pip install``).

    Example::

        cache = CloudCacheManager("azure", "pipeline-cache",
                                  account_name="mystorageaccount", account_key="...")
    """

    def __init__(self, cloud_provider: str, container: str, *, prefix: str = "odibi-cache",
                 account_name: str | None = None, account_key: str | None = None,
                 enabled: bool = True, **storage_options: Any) -> None:
        url = cloud_cache_url(cloud_provider, container, prefix)
        provider = cloud_provider.lower()
        scheme, package = PROVIDERS[provider]
        azure_options = {name: value for name, value in
                         (("account_name", account_name), ("account_key", account_key))
                         if value is not None}
        if azure_options and scheme != "az":
            raise ConfigError(url, f"{' and '.join(sorted(azure_options))} are Azure options; "
                              f"cloud_provider {cloud_provider!r} takes its credentials as "
                              "storage options of its fsspec backend (for s3fs: key=, secret=)")
        _require_backend(scheme, provider, package, url)
        self.cloud_provider = provider
        self.url = url
        super().__init__(enabled=enabled,
                         store=FsspecStore(url, **azure_options, **storage_options))

    def __repr__(self) -> str:
        return f"CloudCacheManager({self.cloud_provider!r}, enabled={self.enabled}, url={self.url!r})"


def _require_backend(scheme: str, provider: str, package: str | None, url: str) -> None:
    """Raise ConfigError naming the package to install when fsspec cannot load ``scheme``."""
    import fsspec

    try:
        fsspec.get_filesystem_class(scheme)
    except ImportError as exc:
        raise ConfigError(url, f"cloud_provider {provider!r} needs the fsspec backend "
                          f"{package or scheme!r}, which is not installed: "
                          f"pip install {package or scheme}") from exc
