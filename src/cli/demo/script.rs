//! The demo's team and what each member does, by the clock: most answer the prompt, one reports
//! a blocker, one edits her answer, one answers only after the reminder, and someone asks
//! `/standup blocked` before the meeting.

use chrono::Duration;
use standup_core::domain::Format;

/// Someone in the demo workspace.
pub struct Person {
    pub id: &'static str,
    pub handle: &'static str,
    pub name: &'static str,
    /// What they worked on, for the members who answer with a plain update.
    pub shipped: &'static str,
    pub next: &'static str,
}

/// The people the team is taken from, in order: the first four have parts of their own
/// (the blocked one, the one who edits, the late one), so a small team still shows them.
pub const PEOPLE: [Person; 12] = [
    Person {
        id: "U0DEMO0001",
        handle: "maria",
        name: "Maria Lopez",
        shipped: "Faster CSV export (<https://github.com/example/orbit/pull/412|#412>)",
        next: "Start the billing migration",
    },
    Person {
        id: "U0DEMO0002",
        handle: "kenji",
        name: "Kenji Sato",
        shipped: "",
        next: "",
    },
    Person {
        id: "U0DEMO0003",
        handle: "li",
        name: "Li Wei",
        shipped: "",
        next: "",
    },
    Person {
        id: "U0DEMO0004",
        handle: "zoe",
        name: "Zoe Martin",
        shipped: "Release notes for 2.4",
        next: "Plan the Q1 roadmap review",
    },
    Person {
        id: "U0DEMO0005",
        handle: "amara",
        name: "Amara Okafor",
        shipped: "Retry logic for webhook deliveries",
        next: "Load-test the new queue",
    },
    Person {
        id: "U0DEMO0006",
        handle: "lukas",
        name: "Lukas Becker",
        shipped: "Search results paging",
        next: "Saved searches",
    },
    Person {
        id: "U0DEMO0007",
        handle: "priya",
        name: "Priya Nair",
        shipped: "Accessibility fixes on the sign-up form :wheelchair:",
        next: "Screen-reader pass on settings",
    },
    Person {
        id: "U0DEMO0008",
        handle: "tom",
        name: "Tom Walsh",
        shipped: "Nightly database backups verified",
        next: "Rotate the staging credentials",
    },
    Person {
        id: "U0DEMO0009",
        handle: "ines",
        name: "Inês Costa",
        shipped: "Mobile push opt-in screen",
        next: "Push delivery metrics",
    },
    Person {
        id: "U0DEMO0010",
        handle: "omar",
        name: "Omar Haddad",
        shipped: "Invoice PDF layout",
        next: "Tax rates for the EU",
    },
    Person {
        id: "U0DEMO0011",
        handle: "sofia",
        name: "Sofia Rossi",
        shipped: "Design review of the dashboard",
        next: "Usability interviews",
    },
    Person {
        id: "U0DEMO0012",
        handle: "noah",
        name: "Noah Fischer",
        shipped: "Flaky test in the importer fixed",
        next: "CI cache for the web app",
    },
];

/// What a member does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Answers the prompt in their DM.
    Reply(String),
    /// Edits their earlier answer to this text.
    Edit(String),
    /// Runs `/standup <text>` in the team channel.
    Command(String),
}

/// One thing a member does, `after` the prompt.
#[derive(Debug, Clone)]
pub struct Step {
    pub after: Duration,
    pub who: usize,
    pub act: Act,
}

/// The section headings a member writes in this format.
struct Headings {
    done: &'static str,
    doing: &'static str,
    next: &'static str,
}

fn headings(format: Format) -> Headings {
    match format {
        Format::Standup => Headings {
            done: "*Last week*",
            doing: "*This week*",
            next: "*This week*",
        },
        _ => Headings {
            done: "*Shipped*",
            doing: "*In progress*",
            next: "*Next*",
        },
    }
}

fn update(h: &Headings, done: &str, doing: Option<&str>, next: &str) -> String {
    let mut text = format!("{}\n• {done}\n", h.done);
    match doing {
        Some(doing) if h.doing == h.next => {
            text.push_str(&format!("{}\n• {doing}\n• {next}", h.next))
        }
        Some(doing) => text.push_str(&format!("{}\n• {doing}\n{}\n• {next}", h.doing, h.next)),
        None => text.push_str(&format!("{}\n• {next}", h.next)),
    }
    text
}

/// The first `team_size` people's steps, in time order. The reminder goes 45 minutes after the
/// prompt, so everyone but the late member answers before it.
pub fn script(team_size: usize, format: Format) -> Vec<Step> {
    let h = headings(format);
    let minutes = Duration::minutes;
    let mut steps = Vec::new();
    for (who, p) in PEOPLE.iter().enumerate().take(team_size) {
        match who {
            1 => steps.push(Step {
                after: minutes(9),
                who,
                act: Act::Reply(format!(
                    "{}\n• Upgrade the staging cluster to Postgres 16\n*Blocked*\n• Waiting on the security review of the new VPC",
                    h.doing
                )),
            }),
            2 => {
                let first = update(&h, "Onboarding emails", None, "A/B test of the welcome flow");
                steps.push(Step {
                    after: minutes(13),
                    who,
                    act: Act::Reply(first.clone()),
                });
                steps.push(Step {
                    after: minutes(21),
                    who,
                    act: Act::Edit(format!("{first}\n• Fix the unsubscribe link :bug:")),
                });
            }
            3 => steps.push(Step {
                after: minutes(52),
                who,
                act: Act::Reply(update(&h, p.shipped, None, p.next)),
            }),
            _ => steps.push(Step {
                after: if who == 0 {
                    minutes(4)
                } else {
                    minutes(15 + 2 * (who as i64 - 4))
                },
                who,
                act: Act::Reply(update(
                    &h,
                    p.shipped,
                    (who == 0).then_some("Dark mode for the settings page"),
                    p.next,
                )),
            }),
        }
    }
    steps.push(Step {
        after: minutes(40),
        who: 0,
        act: Act::Command("blocked".into()),
    });
    steps.sort_by_key(|s| s.after);
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use standup_core::parse::{NoNames, parse_reply};

    #[test]
    fn every_scripted_answer_parses_into_sections_without_a_diagnostic() {
        for format in [Format::Planning, Format::Standup] {
            for step in script(PEOPLE.len(), format) {
                let (Act::Reply(text) | Act::Edit(text)) = &step.act else {
                    continue;
                };
                let parsed = parse_reply(text, format, &NoNames);
                assert!(!parsed.update.sections.is_empty(), "{format:?}: {text}");
                assert!(
                    parsed.diagnostics.is_empty(),
                    "{format:?}: {text}: {:?}",
                    parsed.diagnostics
                );
            }
        }
    }

    #[test]
    fn a_small_team_keeps_the_command_and_its_members_parts() {
        let steps = script(2, Format::Planning);
        assert!(steps.iter().all(|s| s.who < 2));
        assert!(
            steps
                .iter()
                .any(|s| s.act == Act::Command("blocked".into()))
        );
        assert!(
            steps
                .iter()
                .any(|s| matches!(&s.act, Act::Reply(t) if t.contains("*Blocked*")))
        );
        assert!(steps.windows(2).all(|w| w[0].after <= w[1].after));
    }

    #[test]
    fn only_the_late_member_answers_after_the_reminder() {
        let late: Vec<_> = script(PEOPLE.len(), Format::Planning)
            .into_iter()
            .filter(|s| s.after >= Duration::minutes(45))
            .map(|s| s.who)
            .collect();
        assert_eq!(late, vec![3]);
    }
}
