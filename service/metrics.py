"""The /metrics figures, read from the records and the broker when Prometheus scrapes (prometheus-client).

Every figure is computed from shared state at scrape time, so it is right whichever API process answers
and wherever the workers run: a custom Collector on a registry of the app's own (not the process-global
default registry, nor the multiprocess mode, which only adds up what processes on one machine observed).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from service.models import STATUSES
from service.store import LIVE_WORKER_SECONDS, Store

BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300)   # seconds to grade one submission


class GradingCollector(Collector):
    """Queue depth, submissions by status, grading times, live workers and their slots."""

    def __init__(self, store: Store, publisher) -> None:
        self.store, self.publisher = store, publisher

    def collect(self) -> Iterator[Metric]:
        depth = self.publisher.depth()
        yield GaugeMetricFamily("grader_queue_depth", "Messages waiting in the broker's grading queue.",
                                value=math.nan if depth is None else depth)
        counts = self.store.status_counts()
        submissions = GaugeMetricFamily("grader_submissions", "Submissions by status.", labels=["status"])
        for status in STATUSES:
            submissions.add_metric([status], counts.get(status, 0))
        yield submissions
        within, total, count = self.store.grading_seconds_histogram(BUCKETS)
        yield HistogramMetricFamily("grader_grading_seconds", "Time to grade one submission on a worker.",
                                    buckets=[*((str(b), n) for b, n in zip(BUCKETS, within, strict=True)),
                                             ("+Inf", count)], sum_value=total)
        workers = self.store.live_workers()
        yield GaugeMetricFamily("grader_workers", f"Live Celery workers (heartbeat within {LIVE_WORKER_SECONDS:g} s).",
                                value=len(workers))
        yield GaugeMetricFamily("grader_worker_slots", "Tasks the live workers can run at once.",
                                value=sum(w.concurrency for w in workers))


def registry(store: Store, publisher) -> CollectorRegistry:
    """The app's own registry, holding only the grading figures."""
    own = CollectorRegistry()
    own.register(GradingCollector(store, publisher))
    return own
