"""CloudCacheManager: the seed's cloud cache, on fsspec's memory filesystem (no network)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import fsspec
import pandas as pd
import pytest

import odibi_core.cache
from odibi_core.cache import CacheManager, CloudCacheManager, FsspecStore
from odibi_core.cache_manager import CloudCacheManager as SeedImport
from odibi_core.errors import ConfigError, OdibiError


@pytest.fixture
def container() -> Iterator[str]:
    """A fresh container on the process-wide memory filesystem, removed afterwards."""
    name = f"odibi-test-{uuid.uuid4().hex}"
    yield name
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{name}"):
        fs.rm(f"/{name}", recursive=True)


def key(step: str, n: int = 0) -> str:
    return CacheManager.compute_cache_key(step, {"n": n}, "fp", "SELECT 1")


def test_the_seed_import_path_works() -> None:
    assert SeedImport is CloudCacheManager is odibi_core.cache.CloudCacheManager
    assert issubclass(CloudCacheManager, CacheManager)


def test_memory_provider_works_end_to_end(container: str) -> None:
    cache = CloudCacheManager("memory", container, prefix="team/odibi-cache")
    frame = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})

    assert isinstance(cache.store, FsspecStore)
    assert cache.url == f"memory://{container}/team/odibi-cache"
    assert cache.cache_dir is None
    assert cache.put(key("load"), frame, step_name="load") is True
    assert cache.put(key("clean", 1), {"rows": 2}, step_name="clean") is True
    assert cache.put(key("clean", 2), [1, 2], step_name="clean") is True

    pd.testing.assert_frame_equal(cache.get(key("load")), frame)
    assert cache.invalidate("clean") == 2
    assert cache.get(key("clean", 1)) is None
    assert cache.get_stats()["entries"] == 1
    assert cache.clear_all() == 1
    assert cache.get(key("load")) is None
    assert (cache.get_stats()["hits"], cache.get_stats()["misses"]) == (1, 2)


def test_two_managers_on_one_container_share_entries(container: str) -> None:
    writer = CloudCacheManager("memory", container)
    reader = CloudCacheManager("MEMORY", container)

    writer.put(key("load"), {"rows": 3}, step_name="load")

    assert reader.get(key("load")) == {"rows": 3}
    assert CloudCacheManager("memory", container, prefix="other").get(key("load")) is None


def test_disabled_cloud_cache_stores_nothing(container: str) -> None:
    cache = CloudCacheManager("memory", container, enabled=False)

    assert cache.put(key("load"), {"rows": 3}) is False
    assert cache.store.keys() == []


def test_repr_names_the_url_and_no_credentials(container: str) -> None:
    cache = CloudCacheManager("memory", container, secret_token="hunter2")

    assert repr(cache) == f"CloudCacheManager('memory', enabled=True, url='memory://{container}/odibi-cache')"
    assert "hunter2" not in repr(cache) + repr(cache.store)


@pytest.mark.parametrize(("provider", "package", "url"), [
    ("azure", "adlfs", "az://pipeline-cache/odibi-cache"),
    ("s3", "s3fs", "s3://pipeline-cache/odibi-cache"),
    ("aws", "s3fs", "s3://pipeline-cache/odibi-cache"),
    ("gcs", "gcsfs", "gs://pipeline-cache/odibi-cache"),
    ("gcp", "gcsfs", "gs://pipeline-cache/odibi-cache"),
])
def test_a_missing_backend_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch, provider: str,
                                                        package: str, url: str) -> None:
    scheme = url.split(":", 1)[0]
    monkeypatch.setitem(sys.modules, package, None)  # as if it were not installed
    monkeypatch.delitem(sys.modules["fsspec.registry"]._registry, scheme, raising=False)  # forget a loaded backend
    options = {"account_name": "mystorageaccount", "account_key": "s3cr3t-key"} if provider == "azure" else {}

    with pytest.raises(ConfigError) as info:
        CloudCacheManager(provider, "pipeline-cache", **options)

    message = str(info.value)
    assert info.value.source == url
    assert f"pip install {package}" in message and repr(provider) in message and url in message
    assert "s3cr3t-key" not in message


def test_an_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        CloudCacheManager("dropbox", "pipeline-cache")

    assert isinstance(info.value, OdibiError)
    assert "unknown cloud_provider 'dropbox'" in str(info.value)
    assert "expected one of aws, azure, gcp, gcs, memory, s3" in str(info.value)


def test_azure_credentials_for_another_provider_are_refused() -> None:
    with pytest.raises(ConfigError, match="account_key and account_name are Azure options"):
        CloudCacheManager("s3", "bucket", account_name="me", account_key="secret")


@pytest.mark.parametrize("container", ["", "a/b"])
def test_the_container_is_one_name(container: str) -> None:
    with pytest.raises(ConfigError, match="container must be one bucket"):
        CloudCacheManager("memory", container)
