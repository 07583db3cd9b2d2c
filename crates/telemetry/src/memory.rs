//! In-memory exporters for tests (feature `test-util`): every span, log record and metric a
//! service exports, kept per service.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use opentelemetry_sdk::logs::InMemoryLogExporter;
use opentelemetry_sdk::metrics::InMemoryMetricExporter;
use opentelemetry_sdk::trace::InMemorySpanExporter;

/// A service's name, and the version of a release started beside it (`None`: the service as
/// started).
type Key = (String, Option<String>);

/// In-memory exporters, one set per service, for tests and local inspection.
#[derive(Clone, Default)]
pub struct MemorySink {
    /// Keyed by service and, for a release started beside it, the release's version.
    inner: Arc<Mutex<HashMap<Key, MemoryExporters>>>,
}

#[derive(Clone)]
pub(crate) struct MemoryExporters {
    pub(crate) spans: InMemorySpanExporter,
    pub(crate) logs: InMemoryLogExporter,
    pub(crate) metrics: InMemoryMetricExporter,
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn exporters_for(&self, service: &str, release: Option<&str>) -> MemoryExporters {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((service.to_owned(), release.map(str::to_owned)))
            .or_insert_with(|| MemoryExporters {
                spans: InMemorySpanExporter::default(),
                logs: InMemoryLogExporter::default(),
                metrics: InMemoryMetricExporter::default(),
            })
            .clone()
    }

    /// Every service's exporters, the releases' included.
    fn all(&self) -> Vec<(String, Option<String>, MemoryExporters)> {
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|((s, r), v)| (s.clone(), r.clone(), v.clone()))
            .collect()
    }

    /// The exporters of each service as it was started (its releases left out).
    fn services(&self) -> Vec<(String, MemoryExporters)> {
        self.all()
            .into_iter()
            .filter(|(_, r, _)| r.is_none())
            .map(|(s, _, e)| (s, e))
            .collect()
    }

    /// Every finished span so far, with the name of the service that produced it.
    pub fn spans(&self) -> Vec<(String, opentelemetry_sdk::trace::SpanData)> {
        self.spans_with_release()
            .into_iter()
            .map(|(s, _, d)| (s, d))
            .collect()
    }

    /// Every finished span so far, with its service and, when a release started beside the
    /// service produced it, that release's `service.version`.
    pub fn spans_with_release(
        &self,
    ) -> Vec<(String, Option<String>, opentelemetry_sdk::trace::SpanData)> {
        let mut out = Vec::new();
        for (service, release, e) in self.all() {
            if let Ok(spans) = e.spans.get_finished_spans() {
                out.extend(
                    spans
                        .into_iter()
                        .map(|s| (service.clone(), release.clone(), s)),
                );
            }
        }
        out
    }

    /// Every emitted log record so far, with its service.
    pub fn logs(&self) -> Vec<(String, opentelemetry_sdk::logs::SdkLogRecord)> {
        let mut out = Vec::new();
        for (service, _, e) in self.all() {
            if let Ok(logs) = e.logs.get_emitted_logs() {
                out.extend(logs.into_iter().map(|l| (service.clone(), l.record)));
            }
        }
        out
    }

    /// The names of every metric exported so far, per service.
    pub fn metric_names(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (service, e) in self.services() {
            if let Ok(batches) = e.metrics.get_finished_metrics() {
                for rm in batches {
                    for sm in rm.scope_metrics() {
                        for m in sm.metrics() {
                            out.push((service.clone(), m.name().to_owned()));
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Calls `f` with the data of every export of metric `name` by `service`, oldest first.
    fn each_export(
        &self,
        service: &str,
        name: &str,
        mut f: impl FnMut(&opentelemetry_sdk::metrics::data::AggregatedMetrics),
    ) {
        let Some((_, exporters)) = self.services().into_iter().find(|(s, _)| s == service) else {
            return;
        };
        let Ok(batches) = exporters.metrics.get_finished_metrics() else {
            return;
        };
        for rm in &batches {
            for sm in rm.scope_metrics() {
                for m in sm.metrics().filter(|m| m.name() == name) {
                    f(m.data());
                }
            }
        }
    }

    /// The bucket boundaries of an `f64` histogram a service exported, as last exported.
    pub fn histogram_bounds(&self, service: &str, name: &str) -> Option<Vec<f64>> {
        use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
        let mut last = None;
        self.each_export(service, name, |data| {
            if let AggregatedMetrics::F64(MetricData::Histogram(h)) = data {
                last = h.data_points().next().map(|p| p.bounds().collect());
            }
        });
        last
    }

    /// The latest value of a `u64` gauge a service exported, summed over its data points that
    /// carry `attribute` (any point when `None`).
    pub fn last_gauge_u64(
        &self,
        service: &str,
        name: &str,
        attribute: Option<(&str, &str)>,
    ) -> Option<u64> {
        use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
        let mut last = None;
        self.each_export(service, name, |data| {
            if let AggregatedMetrics::U64(MetricData::Gauge(g)) = data {
                last = Some(
                    g.data_points()
                        .filter(|p| carries(p.attributes(), attribute))
                        .map(|p| p.value())
                        .sum::<u64>(),
                );
            }
        });
        last
    }

    /// The latest value of an `i64` gauge or sum (an up-down counter) a service exported,
    /// summed over its data points that carry `attribute` (any point when `None`).
    pub fn last_i64(
        &self,
        service: &str,
        name: &str,
        attribute: Option<(&str, &str)>,
    ) -> Option<i64> {
        use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
        let mut last = None;
        self.each_export(service, name, |data| {
            let sum = match data {
                AggregatedMetrics::I64(MetricData::Gauge(g)) => g
                    .data_points()
                    .filter(|p| carries(p.attributes(), attribute))
                    .map(|p| p.value())
                    .sum::<i64>(),
                AggregatedMetrics::I64(MetricData::Sum(g)) => g
                    .data_points()
                    .filter(|p| carries(p.attributes(), attribute))
                    .map(|p| p.value())
                    .sum::<i64>(),
                _ => return,
            };
            last = Some(sum);
        });
        last
    }

    pub fn clear(&self) {
        for (_, _, e) in self.all() {
            e.spans.reset();
            e.logs.reset();
            e.metrics.reset();
        }
    }
}

/// Whether a data point's attributes hold `attribute` (any do when `None`).
fn carries<'a>(
    mut attrs: impl Iterator<Item = &'a opentelemetry::KeyValue>,
    attribute: Option<(&str, &str)>,
) -> bool {
    attribute.is_none_or(|(k, v)| attrs.any(|kv| kv.key.as_str() == k && kv.value.as_str() == v))
}
