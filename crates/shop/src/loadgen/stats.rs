//! What a load run measured: an HDR histogram per journey, step and traffic type, latencies
//! taken from each step's *intended* start (so a generator that falls behind shows it instead
//! of hiding it: no coordinated omission), and failures counted by kind.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Connection,
    Timeout,
    Http4xx,
    Http5xx,
    InvalidBody,
    Other,
}

impl ErrorKind {
    pub fn of_status(status: u16) -> ErrorKind {
        if (400..500).contains(&status) {
            ErrorKind::Http4xx
        } else {
            ErrorKind::Http5xx
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub journey: String,
    /// A step's name, or `journey` for the whole journey.
    pub step: String,
    pub traffic_type: String,
}

struct Series {
    latency: Histogram<u64>,
    errors: u64,
}

impl Series {
    fn new() -> Self {
        Self {
            // Microseconds from 1 µs to 10 minutes, three significant digits; longer saturates.
            latency: Histogram::new_with_bounds(1, 600_000_000, 3)
                .unwrap_or_else(|_| unreachable!("valid bounds")),
            errors: 0,
        }
    }
}

#[derive(Default)]
struct Inner {
    series: BTreeMap<Key, Series>,
    errors: BTreeMap<ErrorKind, u64>,
    requests: u64,
    journeys: u64,
    journeys_failed: u64,
}

/// Shared by every journey of a run.
pub struct Stats {
    started: Instant,
    inner: Mutex<Inner>,
    /// Journeys started and not yet finished (queued for the in-flight cap included).
    pub in_flight: std::sync::atomic::AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

/// One line of the summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Row {
    #[serde(flatten)]
    pub key: Key,
    pub count: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub elapsed_s: f64,
    pub in_flight: u64,
    pub requests: u64,
    pub requests_per_s: f64,
    pub journeys: u64,
    pub journeys_failed: u64,
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Failed requests over all requests.
    pub error_rate: f64,
    pub rows: Vec<Row>,
}

fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

impl Stats {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            inner: Mutex::default(),
            in_flight: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// One request of a journey, timed from when it should have started.
    pub fn request(
        &self,
        journey: &str,
        step: &str,
        traffic: &str,
        latency: Duration,
        error: Option<ErrorKind>,
    ) {
        self.with(|i| {
            i.requests += 1;
            let s = i
                .series
                .entry(Key {
                    journey: journey.to_owned(),
                    step: step.to_owned(),
                    traffic_type: traffic.to_owned(),
                })
                .or_insert_with(Series::new);
            s.latency
                .saturating_record(latency.as_micros().max(1) as u64);
            if let Some(kind) = error {
                s.errors += 1;
                *i.errors.entry(kind).or_default() += 1;
            }
        });
    }

    /// One whole journey, timed from its intended start.
    pub fn journey(&self, journey: &str, traffic: &str, latency: Duration, failed: bool) {
        self.with(|i| {
            i.journeys += 1;
            if failed {
                i.journeys_failed += 1;
            }
            let s = i
                .series
                .entry(Key {
                    journey: journey.to_owned(),
                    step: "journey".to_owned(),
                    traffic_type: traffic.to_owned(),
                })
                .or_insert_with(Series::new);
            s.latency
                .saturating_record(latency.as_micros().max(1) as u64);
            if failed {
                s.errors += 1;
            }
        });
    }

    pub fn snapshot(&self) -> Snapshot {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-9);
        self.with(|i| {
            let failed: u64 = i.errors.values().sum();
            Snapshot {
                elapsed_s: (elapsed * 100.0).round() / 100.0,
                in_flight: self.in_flight.load(std::sync::atomic::Ordering::Relaxed),
                requests: i.requests,
                requests_per_s: (i.requests as f64 / elapsed * 10.0).round() / 10.0,
                journeys: i.journeys,
                journeys_failed: i.journeys_failed,
                error_rate: if i.requests == 0 {
                    0.0
                } else {
                    failed as f64 / i.requests as f64
                },
                errors: i.errors.clone(),
                rows: i
                    .series
                    .iter()
                    .map(|(k, s)| Row {
                        key: k.clone(),
                        count: s.latency.len(),
                        errors: s.errors,
                        p50_ms: ms(s.latency.value_at_quantile(0.50)),
                        p95_ms: ms(s.latency.value_at_quantile(0.95)),
                        p99_ms: ms(s.latency.value_at_quantile(0.99)),
                        max_ms: ms(s.latency.max()),
                    })
                    .collect(),
            }
        })
    }

    /// p95 of every request of one traffic type, for the progress line.
    pub fn p95_by_traffic(&self) -> BTreeMap<String, f64> {
        self.with(|i| {
            let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
            for (k, s) in i.series.iter().filter(|(k, _)| k.step != "journey") {
                let h = merged
                    .entry(k.traffic_type.clone())
                    .or_insert_with(|| Series::new().latency);
                let _ = h.add(&s.latency);
            }
            merged
                .into_iter()
                .map(|(t, h)| (t, ms(h.value_at_quantile(0.95))))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_errors_are_counted() {
        let s = Stats::new();
        for i in 1..=100u64 {
            let error = (i % 10 == 0).then_some(ErrorKind::Http5xx);
            s.request(
                "checkout",
                "checkout",
                "demo",
                Duration::from_millis(i),
                error,
            );
        }
        s.request(
            "browse",
            "browse",
            "baseline",
            Duration::from_millis(5),
            Some(ErrorKind::Timeout),
        );
        let snap = s.snapshot();
        assert_eq!(snap.requests, 101);
        assert_eq!(snap.errors.get(&ErrorKind::Http5xx), Some(&10));
        assert_eq!(snap.errors.get(&ErrorKind::Timeout), Some(&1));
        let row = snap
            .rows
            .iter()
            .find(|r| r.key.journey == "checkout")
            .expect("row");
        assert_eq!((row.count, row.errors), (100, 10));
        assert!((49.0..=51.0).contains(&row.p50_ms), "{}", row.p50_ms);
        assert!((94.0..=96.0).contains(&row.p95_ms), "{}", row.p95_ms);
        assert!((99.0..=100.1).contains(&row.max_ms), "{}", row.max_ms);
        assert!((snap.error_rate - 11.0 / 101.0).abs() < 1e-9);
    }
}
