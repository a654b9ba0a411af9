//! Web API parameters: query strings, form bodies and JSON bodies merged into one JSON object,
//! and typed reads that accept both encodings (a form sends `blocks` as a JSON string, a JSON
//! body as an array).

use http::{HeaderMap, Uri, header};
use serde_json::{Map, Value};

/// Where the token came from decides whether Slack accepts it.
pub(crate) struct Parsed {
    pub params: Value,
    /// `token` from the query or a form body (Slack ignores `token` inside a JSON body).
    pub token_param: Option<String>,
}

pub(crate) fn parse(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Parsed {
    let mut map = Map::new();
    let mut token_param = None;
    let mut add_form = |map: &mut Map<String, Value>, bytes: &[u8]| {
        for (k, v) in form_urlencoded::parse(bytes) {
            if k == "token" {
                token_param = Some(v.to_string());
            }
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(query) = uri.query() {
        add_form(&mut map, query.as_bytes());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
            map.extend(object);
        }
    } else if !body.is_empty() {
        add_form(&mut map, body);
    }
    Parsed {
        params: Value::Object(map),
        token_param,
    }
}

/// The token of an `Authorization: Bearer ...` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

/// A parameter as a non-empty string; numbers and booleans are formatted.
pub(crate) fn str_of(params: &Value, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A structured parameter: a JSON value, or a string holding JSON.
pub(crate) fn json_of(params: &Value, key: &str) -> Option<Value> {
    match params.get(key)? {
        Value::Null => None,
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

/// A list parameter: a JSON array of strings or a comma-separated string.
pub(crate) fn list_of(params: &Value, key: &str) -> Vec<String> {
    match params.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn merges_query_and_form_and_takes_the_form_token() {
        let uri: Uri = "/api/chat.postMessage?channel=C1".parse().unwrap();
        let p = parse(
            &uri,
            &headers("application/x-www-form-urlencoded"),
            b"text=hi%20there&token=xoxb-1&blocks=%5B%5D",
        );
        assert_eq!(
            p.params,
            json!({"channel": "C1", "text": "hi there", "token": "xoxb-1", "blocks": "[]"})
        );
        assert_eq!(p.token_param.as_deref(), Some("xoxb-1"));
        assert_eq!(json_of(&p.params, "blocks"), Some(json!([])));
    }

    #[test]
    fn json_body_token_is_not_a_credential() {
        let uri: Uri = "/api/auth.test".parse().unwrap();
        let p = parse(
            &uri,
            &headers("application/json; charset=utf-8"),
            br#"{"token":"xoxb-1","users":["U1","U2"],"n":3}"#,
        );
        assert_eq!(p.token_param, None);
        assert_eq!(list_of(&p.params, "users"), ["U1", "U2"]);
        assert_eq!(str_of(&p.params, "n").as_deref(), Some("3"));
    }

    #[test]
    fn lists_accept_comma_separated_strings() {
        assert_eq!(list_of(&json!({"users": "U1, U2"}), "users"), ["U1", "U2"]);
    }
}
