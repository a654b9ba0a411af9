//! HTTP mode: the Events API, slash command and interactivity endpoints (to be written).
