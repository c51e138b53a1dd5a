"""The integrity checker finds lost, changed, phantom and duplicate orders and stock drift."""

from chaoslab.experiment.integrity import Ledger, check


def _order(oid, pid, qty, key=None):
    return {"order_id": oid, "product_id": pid, "quantity": qty, "idempotency_key": key}


def test_lost_and_phantom_orders_are_reported():
    ledger = Ledger()
    ledger.add(3, 2, None, [(201, None, {"order_id": 1})])
    ledger.add(1, 1, None, [(201, None, {"order_id": 2})])  # acknowledged, then lost
    ledger.add(5, 3, None, [(201, None, {"order_id": 3})])
    final = [_order(1, 3, 2), _order(3, 5, 3), _order(4, 7, 1)]  # 4 was never requested
    result = check(ledger, set(), final, {1: 100, 3: 50, 5: 80, 7: 40}, {1: 99, 3: 48, 5: 77, 7: 39})
    assert result["lost"] == [2]
    assert result["phantom"] == [4]
    assert result["acknowledged"] == 3
    # stock: product 1 was decremented for an order that no longer exists
    assert result["stock_consistent"] is False
    assert result["stock_mismatches"] == [{"product_id": 1, "expected": 100, "actual": 99}]


def test_clean_run_with_an_ambiguous_write_that_committed():
    ledger = Ledger()
    ledger.add(2, 1, None, [(201, None, {"order_id": 10})])
    ledger.add(4, 1, None, [(None, "timeout", None)])  # committed behind the timeout
    ledger.add(6, 1, None, [(None, "refused", None)])  # never reached anyone
    final = [_order(9, 1, 1), _order(10, 2, 1), _order(11, 4, 1)]
    result = check(ledger, {9}, final, {2: 10, 4: 10, 6: 10}, {2: 9, 4: 9, 6: 10})
    assert result["lost"] == [] and result["phantom"] == [] and result["changed"] == []
    assert result["ambiguous"] == 1
    assert result["stock_consistent"] is True
    assert result["notes"]


def test_changed_order_and_retry_duplicate():
    ledger = Ledger()
    ledger.add(2, 1, None, [(201, None, {"order_id": 1})])
    # a retry without a key: the first attempt committed behind a 502, the retry made a second order
    ledger.add(3, 1, None, [(502, None, None), (201, None, {"order_id": 3})])
    final = [_order(1, 2, 5), _order(2, 3, 1), _order(3, 3, 1)]
    result = check(ledger, set(), final, None, None)
    assert result["changed"] == [1]
    assert result["duplicates"] == 1
    assert result["stock_consistent"] is None


def test_idempotent_replay_is_not_a_duplicate():
    ledger = Ledger()
    ledger.add(3, 1, "k1", [(None, "timeout", None), (200, None, {"order_id": 7})])
    result = check(ledger, set(), [_order(7, 3, 1, "k1")], {3: 5}, {3: 4})
    assert result["duplicates"] == 0 and result["lost"] == [] and result["phantom"] == []
    assert result["stock_consistent"] is True
