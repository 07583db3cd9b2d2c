//! The shared scenario state, the changes made to it, and the ground-truth history.

use serde::{Deserialize, Serialize};

use super::catalogue::{BLACKFRIDAY_STEPS, DEFAULT_LEVEL, Scenario, blackfriday_step};
use crate::config::ServiceName;

/// One scenario switched on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Activation {
    pub scenario: Scenario,
    /// The service it acts on.
    pub target: ServiceName,
    /// A pinned level; `None` follows Black Friday's schedule (or the default level).
    pub level: Option<u8>,
    /// Story minutes per real minute.
    pub speed: f64,
    /// When the story started, Unix milliseconds.
    pub started_at_ms: i64,
    /// Seed of the fault decisions, for reproducible runs.
    pub seed: Option<u64>,
    /// Affected spans carry `fault.injected=true` and `fault.scenario`.
    pub mark_faults: bool,
    /// Black Friday: checkout continues without recommendations instead of failing.
    pub graceful: bool,
}

impl Activation {
    /// Story minutes elapsed at `now_ms`.
    pub fn minutes_at(&self, now_ms: i64) -> f64 {
        (now_ms - self.started_at_ms).max(0) as f64 / 60_000.0 * self.speed
    }

    pub fn level_at(&self, now_ms: i64) -> u8 {
        match (self.level, self.scenario) {
            (Some(l), _) => l,
            (None, Scenario::Blackfriday) => blackfriday_step(self.minutes_at(now_ms)),
            (None, _) => DEFAULT_LEVEL,
        }
    }

    /// When each later schedule step begins, Unix milliseconds (Black Friday, unpinned).
    fn schedule(&self) -> Vec<(u8, i64)> {
        if self.scenario != Scenario::Blackfriday || self.level.is_some() || self.speed <= 0.0 {
            return Vec::new();
        }
        BLACKFRIDAY_STEPS
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, (from, _, _))| {
                (
                    i as u8,
                    self.started_at_ms + (from * 60_000.0 / self.speed) as i64,
                )
            })
            .collect()
    }
}

/// Everything switched on, with a version that grows with every change.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub version: u64,
    pub active: Vec<Activation>,
}

impl State {
    pub fn get(&self, scenario: Scenario) -> Option<&Activation> {
        self.active.iter().find(|a| a.scenario == scenario)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Activated,
    LevelChanged,
    Deactivated,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Someone switched it (API, CLI, console, `DEMO_MODE`).
    Control,
    /// Black Friday's schedule moved to its next step.
    Schedule,
}

/// One ground-truth record: what changed, where, when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Change {
    /// RFC 3339.
    pub at: String,
    pub at_ms: i64,
    pub action: Action,
    pub source: Source,
    pub scenario: Scenario,
    pub target_service: String,
    pub operation: String,
    pub fault_type: String,
    pub level: u8,
    /// The activation it belongs to (only on `activated` records), so the schedule can be
    /// replayed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub activation: Option<Activation>,
}

impl Change {
    fn new(action: Action, source: Source, activation: &Activation, level: u8, at_ms: i64) -> Self {
        let d = activation.scenario.definition();
        Change {
            at: rfc3339(at_ms),
            at_ms,
            action,
            source,
            scenario: activation.scenario,
            target_service: activation.target.as_str().to_owned(),
            operation: d.operation.to_owned(),
            fault_type: d.fault_type.to_owned(),
            level,
            activation: (action == Action::Activated).then(|| activation.clone()),
        }
    }
}

pub fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// What the control API asks for.
#[derive(Debug, Clone)]
pub enum Command {
    Set(Activation),
    Clear(Option<Scenario>),
}

/// Applies a command: the new state and the records it makes. Pure, so every store behaves
/// the same and it is tested once.
pub fn transition(old: &State, command: &Command, now_ms: i64) -> (State, Vec<Change>) {
    let mut state = old.clone();
    let mut changes = Vec::new();
    match command {
        Command::Set(activation) => {
            let level = activation.level_at(now_ms);
            match state
                .active
                .iter_mut()
                .find(|a| a.scenario == activation.scenario)
            {
                Some(existing) => {
                    let before = existing.level_at(now_ms);
                    let restarted = existing.started_at_ms != activation.started_at_ms
                        || existing.target != activation.target;
                    if restarted {
                        changes.push(Change::new(
                            Action::Deactivated,
                            Source::Control,
                            existing,
                            before,
                            now_ms,
                        ));
                        changes.push(Change::new(
                            Action::Activated,
                            Source::Control,
                            activation,
                            level,
                            now_ms,
                        ));
                    } else if before != level || existing != activation {
                        changes.push(Change::new(
                            Action::LevelChanged,
                            Source::Control,
                            activation,
                            level,
                            now_ms,
                        ));
                    }
                    *existing = activation.clone();
                }
                None => {
                    changes.push(Change::new(
                        Action::Activated,
                        Source::Control,
                        activation,
                        level,
                        now_ms,
                    ));
                    state.active.push(activation.clone());
                }
            }
        }
        Command::Clear(which) => {
            state.active.retain(|a| {
                let clear = which.is_none_or(|s| s == a.scenario);
                if clear {
                    changes.push(Change::new(
                        Action::Deactivated,
                        Source::Control,
                        a,
                        a.level_at(now_ms),
                        now_ms,
                    ));
                }
                !clear
            });
        }
    }
    if !changes.is_empty() {
        state.version += 1;
    }
    (state, changes)
}

/// The recorded changes plus the schedule steps Black Friday took between them, in time order.
pub fn with_schedule(recorded: &[Change], now_ms: i64) -> Vec<Change> {
    let mut out: Vec<Change> = recorded.to_vec();
    for (i, change) in recorded.iter().enumerate() {
        let Some(activation) = &change.activation else {
            continue;
        };
        // The activation lasts until its scenario's next control record.
        let end = recorded[i + 1..]
            .iter()
            .find(|c| c.scenario == activation.scenario)
            .map(|c| c.at_ms)
            .unwrap_or(now_ms);
        for (level, at) in activation.schedule() {
            if at > change.at_ms && at < end && at <= now_ms {
                out.push(Change::new(
                    Action::LevelChanged,
                    Source::Schedule,
                    activation,
                    level,
                    at,
                ));
            }
        }
    }
    out.sort_by_key(|c| c.at_ms);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bf(started_at_ms: i64, speed: f64) -> Activation {
        Activation {
            scenario: Scenario::Blackfriday,
            target: ServiceName::ProductCatalog,
            level: None,
            speed,
            started_at_ms,
            seed: None,
            mark_faults: false,
            graceful: false,
        }
    }

    #[test]
    fn set_change_and_clear_make_one_record_each() {
        let (s1, c1) = transition(&State::default(), &Command::Set(bf(1_000, 1.0)), 1_000);
        assert_eq!(c1.len(), 1);
        assert_eq!(c1[0].action, Action::Activated);
        assert_eq!(s1.version, 1);
        let mut pinned = bf(1_000, 1.0);
        pinned.level = Some(4);
        let (s2, c2) = transition(&s1, &Command::Set(pinned), 2_000);
        assert_eq!((c2[0].action, c2[0].level), (Action::LevelChanged, 4));
        let (s3, c3) = transition(&s2, &Command::Clear(None), 3_000);
        assert!(s3.active.is_empty());
        assert_eq!((c3[0].action, c3[0].level), (Action::Deactivated, 4));
        assert_eq!(s3.version, 3);
        let (s4, c4) = transition(&s3, &Command::Clear(Some(Scenario::Blackfriday)), 4_000);
        assert!(c4.is_empty(), "clearing what is off records nothing");
        assert_eq!(s4.version, 3);
    }

    #[test]
    fn the_schedule_is_replayed_between_control_records() {
        // Speed 60: one story minute per second.
        let (_, mut recorded) = transition(&State::default(), &Command::Set(bf(0, 60.0)), 0);
        let history = with_schedule(&recorded, 7_500);
        let steps: Vec<_> = history
            .iter()
            .filter(|c| c.source == Source::Schedule)
            .map(|c| (c.level, c.at_ms))
            .collect();
        assert_eq!(steps, vec![(1, 1_000), (2, 5_000)]);
        let (_, cleared) = transition(
            &State {
                version: 1,
                active: vec![bf(0, 60.0)],
            },
            &Command::Clear(None),
            6_000,
        );
        recorded.extend(cleared);
        let history = with_schedule(&recorded, 60_000);
        let actions: Vec<_> = history.iter().map(|c| (c.action, c.level)).collect();
        assert_eq!(
            actions,
            vec![
                (Action::Activated, 0),
                (Action::LevelChanged, 1),
                (Action::LevelChanged, 2),
                (Action::Deactivated, 2)
            ]
        );
    }
}
