//! Process metrics as the conventions name them, read from `/proc/self` (Linux; elsewhere
//! nothing is reported): `process.memory.usage`, `process.cpu.time` by `cpu.mode`,
//! `process.thread.count`. Each service reports its process, so an APM sees a leak or a hot
//! loop from outside the code that causes it.

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;

/// Clock ticks per second of `/proc/self/stat`'s CPU times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// Resident memory in bytes (`VmRSS`) and threads, from `/proc/self/status`.
fn status() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")? * 1024, field("Threads:")?))
}

/// User and system CPU seconds, from `/proc/self/stat` (fields 14 and 15, after the
/// parenthesised command name, which may hold spaces).
fn cpu_seconds() -> Option<(f64, f64)> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user / TICKS_PER_SECOND, system / TICKS_PER_SECOND))
}

/// Registers the process instruments on `meter`.
pub fn register(meter: &Meter) {
    meter
        .i64_observable_up_down_counter("process.memory.usage")
        .with_unit("By")
        .with_description("The amount of physical memory in use.")
        .with_callback(|o| {
            if let Some((rss, _)) = status() {
                o.observe(i64::try_from(rss).unwrap_or(i64::MAX), &[]);
            }
        })
        .build();
    meter
        .i64_observable_up_down_counter("process.thread.count")
        .with_unit("{thread}")
        .with_description("Process threads count.")
        .with_callback(|o| {
            if let Some((_, threads)) = status() {
                o.observe(i64::try_from(threads).unwrap_or(i64::MAX), &[]);
            }
        })
        .build();
    meter
        .f64_observable_counter("process.cpu.time")
        .with_unit("s")
        .with_description("Total CPU seconds broken down by different CPU modes.")
        .with_callback(|o| {
            if let Some((user, system)) = cpu_seconds() {
                o.observe(user, &[KeyValue::new("cpu.mode", "user")]);
                o.observe(system, &[KeyValue::new("cpu.mode", "system")]);
            }
        })
        .build();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn this_process_is_read() {
        let (rss, threads) = status().expect("/proc/self/status");
        assert!(rss > 1024 * 1024, "{rss}");
        assert!(threads >= 1);
        // Burn a little CPU so user time is not zero.
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let (user, system) = cpu_seconds().expect("/proc/self/stat");
        assert!(user > 0.0 && system >= 0.0, "{user} {system}");
    }
}
