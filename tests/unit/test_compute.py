"""Big batches: rows over the cores in row order, and the cyclic collector paused and given back as it was."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from leadgate.shared import compute


def test_rows_split_over_the_cores_come_back_in_row_order(monkeypatch):
    monkeypatch.setattr(compute, "cores", lambda: 3)
    threads, blocks = set(), []
    together = threading.Barrier(3, timeout=10)  # broken unless the three blocks run at the same time

    def square(rows: np.ndarray) -> np.ndarray:
        threads.add(threading.get_ident())
        blocks.append(len(rows))
        together.wait()
        return rows**2

    x = np.arange(35_000, dtype=float).reshape(-1, 1)
    assert np.array_equal(compute.by_rows(square, x), x**2)
    assert sorted(blocks) == [11_666, 11_667, 11_667] and len(threads) == 3


def test_rows_written_in_place_over_the_cores_fill_every_row_once(monkeypatch):
    monkeypatch.setattr(compute, "cores", lambda: 3)
    threads, blocks = set(), []
    together = threading.Barrier(3, timeout=10)

    def square(rows: np.ndarray, out: np.ndarray) -> None:
        threads.add(threading.get_ident())
        blocks.append(len(rows))
        together.wait()
        out += rows**2  # out starts at -1 everywhere: a row written twice or never shows

    x = np.arange(35_000, dtype=float).reshape(-1, 1)
    out = np.full(x.shape, -1.0)
    assert compute.into_rows(square, x, out) is out
    assert np.array_equal(out, x**2 - 1)
    assert sorted(blocks) == [11_666, 11_667, 11_667] and len(threads) == 3

    def fails_after_the_first_block(rows: np.ndarray, out: np.ndarray) -> None:
        if rows[0, 0] > 0:
            raise ValueError("bad block")

    with pytest.raises(ValueError, match="bad block"):
        compute.into_rows(fails_after_the_first_block, x, out)


def test_a_small_batch_or_one_core_is_one_call_on_this_thread(monkeypatch):
    seen = []
    x = np.arange(50_000.0)
    monkeypatch.setattr(compute, "cores", lambda: 2)
    compute.by_rows(lambda rows: seen.append((len(rows), threading.get_ident())) or rows, x[:15_000])
    monkeypatch.setattr(compute, "cores", lambda: 1)
    compute.by_rows(lambda rows: seen.append((len(rows), threading.get_ident())) or rows, x)
    assert seen == [(15_000, threading.get_ident()), (50_000, threading.get_ident())]


def test_an_error_in_a_block_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(compute, "cores", lambda: 2)

    def fails_on_the_second_half(rows):
        if rows[0] > 0:
            raise ValueError("bad block")
        return rows

    with pytest.raises(ValueError, match="bad block"):
        compute.by_rows(fails_on_the_second_half, np.arange(40_000))


@pytest.fixture
def collector():
    was = gc.isenabled()
    yield
    gc.enable() if was else gc.disable()


def test_the_collector_is_paused_inside_and_back_after_nested_and_failed_uses(collector):
    gc.enable()
    with compute.cyclic_gc_paused():
        assert not gc.isenabled()
        with compute.cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer holder still holds it
    assert gc.isenabled()
    with pytest.raises(RuntimeError), compute.cyclic_gc_paused():
        raise RuntimeError("scoring failed")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off(collector):
    gc.disable()
    with compute.cyclic_gc_paused():
        pass
    assert not gc.isenabled()


def test_two_threads_holding_it_give_it_back_when_the_last_leaves(collector):
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def hold():
        with compute.cyclic_gc_paused():
            inside.set()
            release.wait(10)

    other = threading.Thread(target=hold)
    other.start()
    inside.wait(10)
    with compute.cyclic_gc_paused():
        pass
    assert not gc.isenabled()  # the other thread still scores
    release.set()
    other.join(10)
    assert gc.isenabled()


def test_blas_runs_on_one_thread_inside_and_as_before_after_even_on_an_error():
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    with threadpool_limits(limits=2, user_api="blas"):  # as on the 2-core machine, wherever the test runs
        assert blas_threads() == {2}
        with compute.one_blas_thread():
            assert blas_threads() == {1}
            np.ones((300, 300)) @ np.ones((300, 300))  # a product inside works
        assert blas_threads() == {2}
        with pytest.raises(RuntimeError), compute.one_blas_thread():
            raise RuntimeError("training failed")
        assert blas_threads() == {2}
