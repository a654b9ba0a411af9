//! The meeting a document is rendered from: the stored meeting plus what the bot knows beside
//! it (who is away, sections the bot writes). Both the running bot and `standup-bot compile`
//! render through here, so a posted document and a compiled one are the same.

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::TeamConfig;
use crate::domain::Meeting;
use crate::store::{Result, Store};

/// The meeting of `team` on `date`, ready to render at `now`.
pub fn meeting(
    store: &Store,
    team: &TeamConfig,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Meeting> {
    let _ = now;
    let mut meeting = store.meeting(&team.id, team.format, date)?;
    meeting
        .extras
        .extend(crate::resolved::section(store, team, date)?);
    Ok(meeting)
}
