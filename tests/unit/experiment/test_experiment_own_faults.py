"""A lab reused across runs reports earlier experiments' faults too: only this run's FIS
experiment's faults make victims and fault windows."""

import io

from chaoslab.config import LabConfig
from chaoslab.experiment.labclient import LabClient
from chaoslab.experiment.runner import Run
from chaoslab.report import LiveView


def _fault(seq, t, kind, target, experiment):
    return {
        "seq": seq,
        "time": t,
        "kind": kind,
        "fault": "network-blackhole",
        "target": target,
        "experiment": experiment,
        "action": "blackhole",
    }


EARLIER = [
    _fault(1, 100.0, "fault.applied", "10.0.10.5", "EXPold"),
    _fault(2, 160.0, "fault.reverted", "10.0.10.5", "EXPold"),
]


def _run():
    lab = LabClient("http://127.0.0.1:9", LabConfig())  # never called: the events are given
    return Run({"title": "t"}, lab=lab, view=LiveView(io.StringIO(), tty=False), stack="s")


def test_an_earlier_experiments_faults_are_not_this_runs():
    run = _run()
    run.events += EARLIER
    run._claim_faults(EARLIER)  # read before this run's experiment started
    run.fis = {"experiment_id": "EXPnew", "actions": {}}
    run._claim_faults(run.events)
    run.targets = {"10.0.10.5": "healthy", "10.0.11.7": "healthy"}
    assert run.dead == set() and run.healthy_now() == 2 and run._faults() == []

    ours = [
        _fault(3, 300.0, "fault.applied", "10.0.11.7", "EXPnew"),
        _fault(4, 360.0, "fault.reverted", "10.0.11.7", "EXPnew"),
    ]
    run.events += ours
    run._claim_faults(ours)
    assert run.dead == {"10.0.11.7"} and run.healthy_now() == 1
    (window,) = run._faults()
    assert (window["start"], window["end"], window["targets"]) == (300.0, 360.0, ["10.0.11.7"])


def test_faults_fetched_before_start_experiment_answered_are_claimed():
    run = _run()
    early = [_fault(5, 300.0, "fault.applied", "i-1", "EXPnew")]
    run.events += early
    run._claim_faults(early)  # the experiment id is not known yet
    assert run.dead == set()
    run.fis = {"experiment_id": "EXPnew", "actions": {}}
    run._claim_faults(run.events)  # what _inject does once it knows the id
    assert run.dead == {"i-1"}
