"""The event catalogue: topics are explicit, unique and round-trip; old versions upcast."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

import events
from events import Meta, metrics
from events.base import Event, event, from_payload, to_payload, upcaster
from events.metrics import (
    MetricBlocked,
    MetricTagsBlocked,
    MetricUnblocked,
    lenient,
    option_after,
    render_option,
    with_entry,
)


def test_every_registered_event_has_its_own_versioned_topic() -> None:
    topics = events.registered_topics()
    assert len(topics) == len(set(topics.values()))
    for topic, cls in topics.items():
        assert cls.__dict__.get("TOPIC") == topic
        assert topic.rsplit(".", 1)[-1].startswith("v"), topic
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_payload_round_trip_keeps_tuples() -> None:
    e = MetricTagsBlocked(1, 2, "web", "c:custom/x@none", False, ("a",), ("a", "b"))
    payload = to_payload(e)
    assert payload["tags"] == ["a", "b"]
    assert from_payload(e.TOPIC, payload) == e


def test_an_old_version_is_upcast_on_read() -> None:
    @event
    @dataclasses.dataclass(frozen=True)
    class Renamed(Event):
        TOPIC = "tests.Renamed.v2"
        name: str
        size: int

    @upcaster("tests.Renamed.v1", "tests.Renamed.v2")
    def _v1_to_v2(state: dict[str, object]) -> dict[str, object]:
        return {"name": state["title"], "size": 0}

    assert from_payload("tests.Renamed.v1", {"title": "x"}) == Renamed("x", 0)


def test_a_topic_cannot_be_registered_twice() -> None:
    with pytest.raises(TypeError):

        @event
        @dataclasses.dataclass(frozen=True)
        class Again(Event):
            TOPIC = "metrics.MetricBlocked.v2"


def test_an_unknown_topic_is_an_error() -> None:
    with pytest.raises(LookupError):
        from_payload("nope.Nothing.v1", {})


def test_the_stored_envelope_is_the_json_of_the_payload() -> None:
    """Appends encode the fields as they are (tuples, nested ones too, written as lists): the
    bytes are those of ``to_payload``'s plain copy, so what the log holds does not change; and
    reading them gives the event back (orjson, and json for what orjson refuses)."""
    import json
    import uuid
    from datetime import UTC, datetime

    from events import Meta
    from infra.eventstore import _decode, _encode

    e = MetricTagsBlocked(1, 2**70, "wéb", "c:custom/x@none", False, ("a",), ("a", "b"))
    meta, at = Meta("token", 3, "label", "127.0.0.1", "r"), datetime(2026, 1, 2, tzinfo=UTC)
    stored = _encode(uuid.uuid4(), 1, e, meta, at)
    body = {"data": to_payload(e), "meta": meta.to_dict(), "at": at.isoformat()}
    assert stored.state == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    assert _decode(stored).event == e  # 2**70: past orjson's integers


def test_a_read_event_stamps_its_time_as_the_log_wrote_it() -> None:
    """``Recorded.stamp`` is the stored text of ``at`` (views write it per event), the same
    as formatting ``at`` again; a Recorded made in code formats it."""
    import uuid
    from datetime import UTC, datetime, timedelta, timezone

    from events import Recorded
    from infra.eventstore import _decode, _encode

    e = MetricTagsBlocked(1, 2, "web", "c:custom/x@none", False, ("a",), ())
    for at in (
        datetime(2026, 1, 2, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3))),
    ):
        read = _decode(_encode(uuid.uuid4(), 1, e, Meta(), at), 9)
        assert read.stamp == at.isoformat() == read.at.isoformat()
        assert Recorded(read.stream, 1, e, at, position=9).stamp == at.isoformat()
        assert read == Recorded(read.stream, 1, e, at, Meta(), 9)  # the stamp is not a field


def test_plain_events_are_written_as_json_writes_them() -> None:
    """Events declared of text, integers, booleans and None only are encoded by orjson: the
    bytes are ``json.dumps``'s (every control character, non-ASCII text, the integer limits);
    what orjson refuses is written by ``json`` (past 64 bits) or refused as before (a lone
    surrogate). A class with a float or ``Any`` field is not plain."""
    import uuid
    from datetime import UTC, datetime

    from commands import InvalidCommand
    from events.base import is_plain
    from events.releases import ReleaseCommitsRecorded, ReleaseCommitsSet
    from infra.eventstore import _decode, _encode

    assert is_plain(ReleaseCommitsRecorded) and not is_plain(ReleaseCommitsSet)
    text = "".join(map(chr, range(0x80))) + "\u2028\u2029\x85\ufeff wéb \U0001f600"
    meta, at = Meta("token", 3, "label", "127.0.0.1", "r"), datetime(2026, 1, 2, tzinfo=UTC)
    for big in (2**63 - 1, -(2**63), 2**64 - 1, 2**70):
        e = ReleaseCommitsRecorded(
            big, 2, text, (text, ""), (1, big), (None, text), ("n", None), (text, None), (None, "t"),
            (1,), (0, 1), ("a", text), ("M", "A"),
        )  # fmt: skip
        stored = _encode(uuid.uuid4(), 1, e, meta, at)
        body = {"data": to_payload(e), "meta": meta.to_dict(), "at": at.isoformat()}
        assert stored.state == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        assert _decode(stored).event == e
    none = (None,)
    lone = ReleaseCommitsRecorded(1, 2, "v", ("\ud800",), (1,), none, none, none, none, (), (), (), ())
    with pytest.raises(InvalidCommand, match="U\\+D800"):
        _encode(uuid.uuid4(), 1, lone, meta, at)


def test_a_decoded_event_equals_one_made_by_its_constructor() -> None:
    """Decoding fills a frozen event in without its ``__init__`` when every field is there, and
    uses the constructor (for the defaults) when some field is missing."""
    e = MetricTagsBlocked(1, 2, "web", "c:custom/x@none", False, ("a",), ("a", "b"))
    decoded = from_payload(e.TOPIC, to_payload(e))
    assert decoded == e and hash(decoded) == hash(e) and type(decoded) is MetricTagsBlocked
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.project_id = 3  # type: ignore[misc]

    @event
    @dataclasses.dataclass(frozen=True)
    class WithDefault(Event):
        TOPIC = "tests.WithDefault.v1"
        name: str
        size: int = 7

    assert from_payload(WithDefault.TOPIC, {"name": "n"}) == WithDefault("n", 7)


def test_an_event_with_post_init_is_refused() -> None:
    with pytest.raises(TypeError, match="plain frozen dataclasses"):

        @event
        @dataclasses.dataclass(frozen=True)
        class Checked(Event):
            TOPIC = "tests.Checked.v1"
            name: str

            def __post_init__(self) -> None:
                pass


def test_the_metric_blocking_option_renders_as_json_dumps() -> None:
    """``render_option`` writes entry by entry (cached per entry): the bytes ``json.dumps`` of
    the entries' dicts gives, for any text, order and repetition."""
    import json
    import random

    from events.metrics import MetricBlocking, render_option

    rnd = random.Random(13)
    words = ["a", "b", "é", "\u2028", '"q"', "\\", "x/y", "😀", "tag:1", ""]
    for _ in range(2000):
        state = {}
        for i in range(rnd.randint(0, 5)):
            mri = rnd.choice(["c:custom/m@none", "d:x/ü@ms", 'c:"q"@none', f"c:m{i}@none"])
            tags = frozenset(rnd.sample(words, rnd.randint(0, 4)))
            state[mri] = MetricBlocking(mri, rnd.choice([True, False, 1, 0]), tags)
        dicts = [
            {"metric_mri": b.metric_mri, "is_blocked": b.is_blocked, "blocked_tags": sorted(b.blocked_tags)}
            for b in state.values()
        ]
        assert render_option(state) == json.dumps(dicts)


def test_a_payload_given_away_becomes_the_event_and_is_read_as_one_kept() -> None:
    """The log's reader gives the dicts it parsed away: an event (and its meta) keeps one that
    holds exactly its fields (tuples made tuples), and is equal to the one decoded from a copy."""
    e = MetricTagsBlocked(1, 2, "web", "c:custom/x@none", False, ("a",), ("a", "b"))
    payload = to_payload(e)
    decoded = from_payload(e.TOPIC, payload, given=True)
    assert decoded == e and hash(decoded) == hash(e) and decoded.tags == ("a", "b")
    assert vars(decoded) is payload
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.project_id = 3  # type: ignore[misc]
    extra = {**to_payload(e), "later": 1}  # a field this version does not know: not kept
    newer = from_payload(e.TOPIC, extra, given=True)
    assert newer == e and "later" not in vars(newer)

    stored = Meta("token", 7, "label", "127.0.0.1", "r").to_dict()
    assert vars(Meta.from_dict(stored, given=True)) is stored
    for normalized in ({**stored, "actor_label": None}, {**stored, "actor_type": ""}, {"actor_id": 7}):
        assert Meta.from_dict(dict(normalized), given=True) == Meta.from_dict(normalized)
    assert Meta.from_dict({**stored, "actor_label": None}, given=True).actor_label == ""


def test_the_option_after_a_metric_event_renders_as_its_whole_state_would() -> None:
    """``option_after`` renders only the entry that changed, the rest kept from the value
    before: each value equals ``render_option`` of the entries, whether the value before was
    rendered by it (cached), is a stored value it never saw, malformed, or absent."""
    rng = random.Random(7)
    for start in (None, '[{"metric_mri": "c:custom/m1@none", "is_blocked": true, "blocked_tags": []}]', "[1"):
        value: object = start
        for step in range(60):
            mri, tags = (
                f"c:custom/m{rng.randrange(5)}@none",
                tuple(sorted(rng.sample("abc", rng.randrange(3)))),
            )
            kind = MetricBlocked if rng.random() < 0.5 else MetricUnblocked
            evt = kind(1, 2, "web", mri, kind is MetricBlocked, tags)
            expected = render_option(with_entry(lenient(value), metrics.entry_of(evt)))
            if step % 7 == 0:
                metrics._RENDERED.clear()  # a value it did not render itself
            value = option_after(value, evt)
            assert value == expected and json.loads(value) == json.loads(expected)
