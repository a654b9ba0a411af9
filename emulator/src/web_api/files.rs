//! The three-step upload: `files.getUploadURLExternal`, the upload URL, and
//! `files.completeUploadExternal`.

use super::{Conv, Ctx, Reply, error, resolve};
use crate::ids;
use crate::params::{json_of, list_of};
use crate::state::{File, Message, Shared, State};
use axum::body::Bytes;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

impl Ctx<'_> {
    pub(super) fn files_get_upload_url(&self, s: &mut State) -> Reply {
        let (Some(filename), Some(length)) = (
            self.str("filename"),
            self.str("length").and_then(|l| l.parse::<u64>().ok()),
        ) else {
            return error("invalid_arguments");
        };
        let id = ids::prefixed("F");
        s.files.push(File {
            id: id.clone(),
            filename,
            length,
            title: None,
            content: String::new(),
            uploaded: false,
            completed: false,
            channel: None,
            thread_ts: None,
            initial_comment: None,
        });
        Reply::Ok(json!({
            "upload_url": format!("{}/upload/{id}", self.shared.base_url()),
            "file_id": id,
        }))
    }

    pub(super) fn files_complete_upload(&self, s: &mut State) -> Reply {
        let Some(Value::Array(entries)) = json_of(self.p, "files") else {
            return error("invalid_arguments");
        };
        let channel_param = self
            .str("channel_id")
            .or_else(|| list_of(self.p, "channels").into_iter().next());
        let channel = match channel_param {
            None => None,
            Some(_) if self.str("channel_id").is_some() => match self.postable(s, "channel_id") {
                Ok(conv) => Some(conv.id()),
                Err(reply) => return reply,
            },
            Some(id) => match resolve(self.cfg, &id) {
                None => return error("channel_not_found"),
                Some(Conv::Channel(c)) if !self.bot_in(s, c) => return error("not_in_channel"),
                Some(conv) => Some(conv.id()),
            },
        };
        let wanted: Vec<(String, Option<String>)> = entries
            .iter()
            .map(|e| {
                let id = e["id"].as_str().unwrap_or_default().to_string();
                (id, e["title"].as_str().map(str::to_string))
            })
            .collect();
        // Unknown, never uploaded, or already completed: the upload is gone.
        if wanted.is_empty()
            || wanted.iter().any(|(id, _)| {
                !s.files
                    .iter()
                    .any(|f| &f.id == id && f.uploaded && !f.completed)
            })
        {
            return error("file_not_found");
        }
        let thread_ts = self.str("thread_ts");
        let initial_comment = self.str("initial_comment");
        let mut shared_files = Vec::new();
        for (id, title) in &wanted {
            let Some(file) = s.files.iter_mut().find(|f| &f.id == id) else {
                continue;
            };
            file.title = Some(title.clone().unwrap_or_else(|| file.filename.clone()));
            file.completed = true;
            file.channel = channel.clone();
            file.thread_ts = thread_ts.clone();
            file.initial_comment = initial_comment.clone();
            shared_files.push(json!({
                "id": file.id,
                "title": file.title,
                "name": file.filename,
                "size": file.content.len(),
                "user": self.cfg.bot_user_id,
                "created": ids::unix_now(),
                "timestamp": ids::unix_now(),
            }));
        }
        if let Some(channel) = channel {
            s.messages.push(Message {
                channel,
                ts: ids::next_ts(),
                user: self.cfg.bot_user_id.clone(),
                text: initial_comment,
                blocks: None,
                thread_ts,
                ephemeral_to: None,
                files: wanted.into_iter().map(|(id, _)| id).collect(),
                metadata: None,
                params: self.p.clone(),
                history: Vec::new(),
                at: Instant::now(),
            });
        }
        Reply::Ok(json!({"files": shared_files}))
    }
}

/// `POST /upload/{file_id}`: stores the bytes (a raw body, or the first part of a multipart
/// form) and answers like Slack's upload host: `200 OK - <length>`.
pub(crate) async fn upload(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let bytes = multipart_file(content_type, &body).unwrap_or(&body);
    let length = bytes.len();
    let content = String::from_utf8_lossy(bytes).into_owned();
    let found = shared.update(|s| {
        let file = s.files.iter_mut().find(|f| f.id == file_id)?;
        file.content = content;
        file.uploaded = true;
        Some(())
    });
    match found {
        Some(()) => (StatusCode::OK, format!("OK - {length}")).into_response(),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

/// The first part's data of a `multipart/form-data` body.
fn multipart_file<'a>(content_type: &str, body: &'a [u8]) -> Option<&'a [u8]> {
    let boundary = content_type
        .strip_prefix("multipart/form-data")?
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let start = find(body, delimiter.as_bytes())? + delimiter.len();
    let headers_end = start + find(&body[start..], b"\r\n\r\n")? + 4;
    let end = headers_end + find(&body[headers_end..], format!("\r\n{delimiter}").as_bytes())?;
    Some(&body[headers_end..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_body_yields_the_file_part() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.md\"\r\n\r\n# Notes\r\n--xyz--\r\n";
        assert_eq!(
            multipart_file("multipart/form-data; boundary=xyz", body),
            Some(&b"# Notes"[..])
        );
        assert_eq!(multipart_file("text/markdown", body), None);
    }
}
