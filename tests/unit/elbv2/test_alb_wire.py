"""The lab <-> ALB worker protocol: framed control messages, the record ring, and the lab's
folding of ring records back into request records and metrics."""

from __future__ import annotations

import mmap

from chaoslab.net import albwire
from chaoslab.net.albplane import DataPlane
from chaoslab.net.albstats import RequestStats


def test_control_messages_survive_any_split_of_the_stream() -> None:
    messages = [
        ("lb", 1, 60.0),
        ("upstream", 2, "i-abc", "10.0.10.5", 80),
        ("pool", 3, "targetgroup/t/1", [2], "round_robin"),
    ]
    stream = b"".join(albwire.encode(m) for m in messages)
    for cut in (1, 3, 7, len(stream) // 2, len(stream) - 1):
        decoder = albwire.Decoder()
        assert decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) == messages
    one_byte_at_a_time = albwire.Decoder()
    assert [m for i in range(len(stream)) for m in one_byte_at_a_time.feed(stream[i : i + 1])] == messages


def test_ring_gives_records_in_order_across_the_wrap() -> None:
    slots = 8
    buf = mmap.mmap(-1, albwire.ring_size(slots))
    writer, reader = albwire.RingWriter(buf, slots), albwire.RingReader(buf, slots)
    assert reader.read() == []
    for i in range(5):
        writer.write(float(i), 0.001, 1, 2, 3, 200, False, 0)
    assert [r[0] for r in reader.read()] == [0.0, 1.0, 2.0, 3.0, 4.0]
    for i in range(5, 13):  # wraps: slots 5..7 then 0..4
        writer.write(float(i), 0.001, 1, 2, 3, 200, False, 0)
    assert [r[0] for r in reader.read()] == [float(i) for i in range(5, 13)]
    assert reader.lost == 0


def test_a_reader_a_whole_ring_behind_skips_what_was_overwritten_and_counts_it() -> None:
    slots = 4
    buf = mmap.mmap(-1, albwire.ring_size(slots))
    writer, reader = albwire.RingWriter(buf, slots), albwire.RingReader(buf, slots)
    for i in range(10):
        writer.write(float(i), 0.0, 1, 2, albwire.NO_TARGET, 503, True, albwire.ERROR_CODE["no_targets"])
    assert [r[0] for r in reader.read()] == [6.0, 7.0, 8.0, 9.0]
    assert reader.lost == 6


def test_folded_records_are_what_the_proxy_recorded_in_process() -> None:
    """The lab turns the numbers back into names: the same records, totals and metrics as a
    proxy recording straight into RequestStats."""
    plane = DataPlane(workers=1)  # never started: no processes
    stats = RequestStats("app/web/abc")
    lb = plane.add_load_balancer(stats, 60.0)
    tg = plane.add_pool("targetgroup/tg/def")
    target = plane.add_upstream("i-0abc", "10.0.10.5", 80)
    code = albwire.ERROR_CODE
    plane.fold(
        [
            (1.0, 0.004, lb, tg, target, 200, 0, 0),
            (1.1, 0.5, lb, tg, target, 502, 1, code["target_closed"]),
            (1.2, 0.0, lb, tg, albwire.NO_TARGET, 503, 1, code["no_targets"]),
            (1.3, 0.0, 999, tg, target, 200, 0, 0),  # a load balancer the lab does not know: dropped
        ]
    )
    assert [(r["target"], r["status"], r["source"], r["error"]) for r in stats.recent()] == [
        ("i-0abc", 200, "target", None),
        ("i-0abc", 502, "elb", "target_closed"),
        (None, 503, "elb", "no_targets"),
    ]
    assert stats.totals == {
        ("targetgroup/tg/def", "i-0abc", 2, False): 1,
        ("targetgroup/tg/def", "i-0abc", 5, True): 1,
        ("targetgroup/tg/def", None, 5, True): 1,
    }

    class Sink:
        def __init__(self) -> None:
            self.calls: dict[tuple[str, bool], list[float]] = {}

        def put_metric(self, namespace, name, dimensions, values, unit, timestamp=None) -> None:
            self.calls.setdefault((name, "TargetGroup" in dimensions), []).extend(values)

    sink = Sink()
    assert stats.flush(sink, 1.0) == {"targetgroup/tg/def": 2}
    assert sink.calls[("RequestCount", False)] == [2.0]
    assert sink.calls[("HTTPCode_ELB_502_Count", False)] == [1.0]
    assert sink.calls[("HTTPCode_ELB_503_Count", False)] == [1.0]
    assert sink.calls[("TargetResponseTime", True)] == [0.004]


def test_state_changes_before_the_workers_start_are_all_in_their_first_snapshot() -> None:
    plane = DataPlane(workers=1)
    lb = plane.add_load_balancer(RequestStats("app/web/abc"), 60.0)
    plane.set_idle_timeout(lb, 5.0)
    a, b = plane.add_upstream("a", "10.0.0.1", 80), plane.add_upstream("b", "10.0.0.2", 80)
    pool = plane.add_pool("targetgroup/tg/1")
    plane.set_pool(pool, routing=[a, b])
    plane.set_pool(pool, algorithm="least_outstanding_requests")
    plane.drop_upstream(a)
    plane.set_pool(pool, routing=[b])
    assert [m for m, _ in plane._snapshot()] == [
        ("lb", lb, 5.0),
        ("upstream", b, "b", "10.0.0.2", 80),
        ("pool", pool, "targetgroup/tg/1", [b], "least_outstanding_requests"),
    ]
