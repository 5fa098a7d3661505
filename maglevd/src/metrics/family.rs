//! Building metric families by hand, for the collectors that compute their
//! values at scrape time (health snapshot, VPP status, /proc/self).
//!
//! The `prometheus` crate's own vectors keep every series alive until it is
//! deleted; scrape-time families are rebuilt from the current state on every
//! scrape instead, so a backend dropped by a reload disappears at once.

use std::collections::HashMap;

use prometheus::core::Desc;
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};

/// The descriptor of a scrape-time family (what `Collector::desc` returns).
/// Names and label names are compile-time constants, so an invalid one is a
/// programming error caught by the unit tests.
pub(super) fn desc(name: &str, help: &str, labels: &[&str]) -> Desc {
    Desc::new(
        name.to_string(),
        help.to_string(),
        labels.iter().map(|l| l.to_string()).collect(),
        HashMap::new(),
    )
    .unwrap_or_else(|e| panic!("metric {name} is defined wrongly: {e}"))
}

/// One family being filled with samples.
pub(super) struct Family {
    mf: MetricFamily,
    labels: &'static [&'static str],
}

impl Family {
    pub fn gauge(name: &str, help: &str, labels: &'static [&'static str]) -> Family {
        Family::new(name, help, labels, MetricType::GAUGE)
    }

    pub fn counter(name: &str, help: &str, labels: &'static [&'static str]) -> Family {
        Family::new(name, help, labels, MetricType::COUNTER)
    }

    fn new(name: &str, help: &str, labels: &'static [&'static str], kind: MetricType) -> Family {
        let mut mf = MetricFamily::default();
        mf.set_name(name.to_string());
        mf.set_help(help.to_string());
        mf.set_field_type(kind);
        Family { mf, labels }
    }

    /// Adds one sample; `values` pairs up with the family's label names.
    pub fn add(&mut self, values: &[&str], value: f64) {
        debug_assert_eq!(values.len(), self.labels.len(), "label values of {}", self.mf.name());
        let pairs = self
            .labels
            .iter()
            .zip(values)
            .map(|(name, value)| {
                let mut p = LabelPair::default();
                p.set_name(name.to_string());
                p.set_value(value.to_string());
                p
            })
            .collect();
        let mut m = Metric::default();
        m.set_label(pairs);
        match self.mf.get_field_type() {
            MetricType::COUNTER => {
                let mut c = Counter::default();
                c.set_value(value);
                m.set_counter(c);
            }
            _ => {
                let mut g = Gauge::default();
                g.set_value(value);
                m.set_gauge(g);
            }
        }
        self.mf.mut_metric().push(m);
    }

    pub fn finish(self) -> MetricFamily {
        self.mf
    }
}
