"""The event base class, the topic registry and the JSON codec of event payloads.

An event is a frozen dataclass with an explicit, versioned ``TOPIC``. The topic, not the
Python module path, is what the log stores, so classes can move without orphaning history.
A changed shape gets a new class with a new topic version and an upcaster from the old one.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

_REGISTRY: dict[str, type[Event]] = {}
_UPCASTERS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {}
_TUPLE_FIELDS: dict[type, frozenset[str]] = {}
_FIELD_NAMES: dict[type, frozenset[str]] = {}  # computed once: decoding runs per event read
_PLAIN: set[type] = set()  # classes whose fields are declared of ``_PLAIN_TYPES`` only (``is_plain``)
_PLAIN_TYPES = (str, int, bool, type(None))

E = TypeVar("E", bound="type[Event]")
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Event:
    """Base of every event. Subclasses set ``TOPIC`` and are registered with ``@event``."""

    TOPIC: ClassVar[str] = ""


def event(cls: E) -> E:
    """Register an event class under its topic; a topic is never reused."""
    topic = cls.__dict__.get("TOPIC")
    if not topic:
        raise TypeError(f"{cls.__name__} must define its own TOPIC")
    if topic in _REGISTRY and _REGISTRY[topic] is not cls:
        raise TypeError(f"topic {topic!r} is already registered to {_REGISTRY[topic].__name__}")
    if "__post_init__" in dir(cls) or "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__}: events are plain frozen dataclasses (see ``filled``)")
    _REGISTRY[topic] = cls
    hints = typing.get_type_hints(cls)
    _TUPLE_FIELDS[cls] = frozenset(
        f.name for f in dataclasses.fields(cls) if typing.get_origin(hints[f.name]) is tuple
    )
    _FIELD_NAMES[cls] = frozenset(f.name for f in dataclasses.fields(cls))
    if all(_plain_hint(hints[f.name]) for f in dataclasses.fields(cls)):
        _PLAIN.add(cls)
    return cls


def _plain_hint(hint: Any) -> bool:
    """Text, integers, booleans, None, and tuples and unions of them: no float, no ``Any``."""
    if hint in _PLAIN_TYPES:
        return True
    args = typing.get_args(hint)
    return (
        bool(args)
        and typing.get_origin(hint) in (tuple, typing.Union, types.UnionType)
        and all(a is Ellipsis or _plain_hint(a) for a in args)
    )


def is_plain(cls: type[Event]) -> bool:
    """Whether every field of ``cls`` is declared text, an integer, a boolean or None, or a
    tuple of them: the JSON of such an event has no number whose text two encoders could
    write differently (floats), so any encoder that takes it writes the same bytes."""
    return cls in _PLAIN


def upcaster(
    old_topic: str, new_topic: str
) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]], Callable[[dict[str, Any]], dict[str, Any]]]:
    """Declare how a stored payload of ``old_topic`` becomes one of ``new_topic``."""

    def register(
        fn: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        _UPCASTERS[old_topic] = (new_topic, fn)
        return fn

    return register


def registered_topics() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


def readable_topics() -> dict[str, type[Event]]:
    """Every topic the log may hold, with the class it is read as: the registered topics and
    the older versions that upcast to one (a reader filtering the log by topic needs both)."""
    topics = dict(_REGISTRY)
    for old in _UPCASTERS:
        new = old
        while new not in _REGISTRY and new in _UPCASTERS:
            new = _UPCASTERS[new][0]
        if new in _REGISTRY:
            topics[old] = _REGISTRY[new]
    return topics


def topic_of(cls: type[Event]) -> str:
    return cls.TOPIC


def to_payload(evt: Event) -> dict[str, Any]:
    """The event's fields as JSON-ready values (tuples become lists)."""
    return {f.name: _plain(getattr(evt, f.name)) for f in dataclasses.fields(evt)}


def from_payload(topic: str, payload: dict[str, Any], *, given: bool = False) -> Event:
    """Rebuild an event from its stored topic and payload, upcasting old versions. ``given``:
    the caller gives ``payload`` away (a dict just parsed), and the event keeps it as its
    fields when it holds exactly them (no copy: the log's reader decodes every event of a
    rebuild)."""
    while topic not in _REGISTRY and topic in _UPCASTERS:
        topic, fn = _UPCASTERS[topic]
        payload = fn(dict(payload))
    cls = _REGISTRY.get(topic)
    if cls is None:
        raise LookupError(f"no event class registered for topic {topic!r}")
    tuples, names = _TUPLE_FIELDS[cls], _FIELD_NAMES[cls]
    if given and payload.keys() == names:
        for k in tuples:
            payload[k] = tuple(payload[k])
        return filled(cls, payload, given=True)
    kwargs = {k: (tuple(v) if k in tuples else v) for k, v in payload.items() if k in names}
    if len(kwargs) == len(names):
        return filled(cls, kwargs, given=True)
    return cls(**kwargs)  # an older payload without some field: its default


def filled(cls: type[T], values: dict[str, Any], *, given: bool = False) -> T:
    """``cls(**values)`` for a frozen dataclass given every field and without ``__post_init__``,
    at a quarter of the cost: its ``__init__`` sets each field through ``object.__setattr__``,
    and decoding the log builds several such objects per event read. ``given``: ``values``
    becomes the object's ``__dict__`` itself (the caller must not use it after)."""
    obj = _NEW(cls)
    if given:
        _SET(obj, "__dict__", values)
    else:
        obj.__dict__.update(values)
    return obj


_NEW = object.__new__
_SET = object.__setattr__


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
