"""How the executor uses the cache: step keys, deferred outputs, and the run's data map.

A step's key covers its config, engine, code and the fingerprint of each input's DATA
(see ``odibi_core.cache``). Two things keep an all-hit rerun cheap without weakening that:

* The fingerprint of every output is computed once, when the output is cached, and kept
  with the entry. A later run that hits the entry takes the fingerprint from there instead of
  hashing the frame again; within one run it is remembered by data-map key.
* A hit is not decoded at once: its outputs enter the data map as :class:`Deferred` values,
  loaded when a running step (or a reader of the result) first needs them. A run whose
  steps are all cached decodes only what its store and publish steps write.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from ...cache import CacheDecodeError, CachedValue, CacheManager, Uncacheable
from ...engine.base import EngineContext, Snapshot
from ...errors import OdibiError
from ...functions import get_function
from ...nodes.base import Connection
from ..planning.builder import DAGNode

__all__ = ["Deferred", "RunDataMap", "StepCache", "resolve"]

log = logging.getLogger("odibi_core.core.step_cache")  # the logger keeps its name from before the move

#: layers whose steps are pure (same inputs, same outputs) and so may be cached
CACHEABLE_LAYERS = ("ingest", "transform")
#: step params that steer the executor, not the step's result
EXECUTOR_PARAMS = ("max_retries", "retry_delay")


class Deferred:
    """A cached output of ``step_name`` that is loaded from the cache the first time it is
    needed (thread-safe; loaded once). ``snapshot`` and ``fingerprint`` came with the entry."""

    __slots__ = ("_hit", "_lock", "_value", "fingerprint", "snapshot", "step_name")

    def __init__(self, hit: CachedValue, step_name: str) -> None:
        self._hit: CachedValue | None = hit
        self._lock = threading.Lock()
        self._value: Any = None
        self.step_name = step_name
        fingerprint = hit.metadata.get("fingerprint")
        self.fingerprint = fingerprint if isinstance(fingerprint, str) else None
        try:
            self.snapshot: Snapshot | None = Snapshot.from_record(hit.metadata["snapshot"])
        except (KeyError, ValueError):
            self.snapshot = None

    @property
    def loaded(self) -> bool:
        return self._hit is None

    def get(self) -> Any:
        """The value; raises OdibiError naming the step when the entry cannot be decoded."""
        with self._lock:
            if self._hit is not None:
                try:
                    self._value = self._hit.load()
                except CacheDecodeError as exc:
                    raise OdibiError(f"{exc}: the cached output of step '{self.step_name}' is"
                                     f" unusable; remove it with CacheManager.invalidate"
                                     f"('{self.step_name}') and run again") from exc
                self._hit = None
            return self._value

    def __repr__(self) -> str:
        return f"<cached output of {self.step_name!r}{'' if self.loaded else ', not loaded yet'}>"


def resolve(value: Any) -> Any:
    """``value``, with a :class:`Deferred` loaded."""
    return value.get() if isinstance(value, Deferred) else value


class RunDataMap(Mapping[str, Any]):
    """The data map a run leaves behind: a read-only mapping whose cached outputs are
    loaded from the cache when first read (``dict(data_map)`` loads them all)."""

    def __init__(self, entries: Mapping[str, Any]) -> None:
        self._entries = dict(entries)

    def __getitem__(self, key: str) -> Any:
        return resolve(self._entries[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        waiting = sorted(k for k, v in self._entries.items() if isinstance(v, Deferred) and not v.loaded)
        return f"RunDataMap(keys={sorted(self._entries)}, cached_not_loaded={waiting})"


class StepCache:
    """Keys, lookups and stores of one run's steps in a :class:`CacheManager`."""

    def __init__(self, cache: CacheManager, context: EngineContext) -> None:
        self.cache = cache
        self.context = context
        self._fingerprints: dict[str, str] = {}  # data-map key -> fingerprint of its value
        self._lock = threading.Lock()

    @staticmethod
    def output_key(key: str, logical: str) -> str:
        """The entry key of one output of a step whose key is ``key``."""
        return hashlib.sha256(f"{key}:{logical}".encode()).hexdigest()

    def forget(self, data_keys: Mapping[str, str]) -> None:
        """Drop remembered fingerprints of data-map keys that are being rewritten."""
        with self._lock:
            for key in data_keys.values():
                self._fingerprints.pop(key, None)

    def _fingerprint(self, data_key: str, value: Any) -> str | None:
        with self._lock:
            known = self._fingerprints.get(data_key)
        if known is not None:
            return known
        if isinstance(value, Deferred) and value.fingerprint is not None:
            fingerprint: str | None = value.fingerprint
        elif isinstance(value, Connection):
            return self.cache.fingerprint_source(value.location)
        else:
            value = resolve(value)
            fingerprint = self.context.fingerprint(value) if self.context.is_frame(value) else None
        if fingerprint is not None:
            with self._lock:
                self._fingerprints[data_key] = fingerprint
        return fingerprint

    def key(self, node: DAGNode, inputs: Mapping[str, Any]) -> str | None:
        """The step's content address, or None when it is not cacheable or something cannot
        be fingerprinted (then it simply runs)."""
        step = node.step
        if not self.cache.enabled or step.kind[0] not in CACHEABLE_LAYERS:
            return None
        fingerprints = {logical: self._fingerprint(step.inputs[logical], value)
                        for logical, value in inputs.items()}
        if step.kind[0] == "ingest" and not any(isinstance(v, Connection) for v in inputs.values()):
            fingerprints["<source>"] = self.cache.fingerprint_source(str(step.value))
        code = None
        if step.kind[1] == "function":
            try:
                code = self.cache.fingerprint_code(get_function(str(step.value)))
            except LookupError:
                return None  # the run itself reports the missing function
            if code is None:
                log.info("step %s not cached: the source of %s is unavailable", step.name, step.value)
                return None
        params = {k: v for k, v in step.params.items() if k not in EXECUTOR_PARAMS}
        try:
            return self.cache.compute_cache_key(step.name, params, fingerprints, step.value,
                                                step_type=step.type, engine=self.context.name,
                                                code_fingerprint=code)
        except Uncacheable as exc:
            log.info("step %s not cached: %s", step.name, exc)
            return None

    def load(self, node: DAGNode, key: str) -> dict[str, Deferred] | None:
        """Every output of the step as a :class:`Deferred`, or None when one is missing."""
        outputs = {}
        for logical, data_key in node.step.outputs.items():
            hit = self.cache.lookup(self.output_key(key, logical), engine=self.context.name)
            if hit is None:
                return None
            outputs[logical] = deferred = Deferred(hit, node.name)
            if deferred.fingerprint is not None:
                with self._lock:
                    self._fingerprints[data_key] = deferred.fingerprint
        return outputs

    def store(self, node: DAGNode, key: str, outputs: Mapping[str, Any]) -> None:
        """Cache each output with its fingerprint and snapshot (remembered for this run too)."""
        for logical, data_key in node.step.outputs.items():
            value = outputs[logical]
            metadata: dict[str, Any] = {}
            if self.context.is_frame(value):
                fingerprint = self._fingerprint(data_key, value)
                if fingerprint is None:
                    # not fingerprintable (a Spark frame): it is never cached, so do not take
                    # a snapshot either (on Spark that would be a job per node)
                    return
                metadata["fingerprint"] = fingerprint
                metadata["snapshot"] = self.context.snapshot(value, sample_rows=5).to_record()
            self.cache.put(self.output_key(key, logical), value, engine=self.context.name,
                           step_name=node.name, metadata=metadata)
