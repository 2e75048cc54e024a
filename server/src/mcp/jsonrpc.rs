//! JSON-RPC 2.0 as the MCP gateway reads it: a POST body is one message or a batch of them,
//! each a request (`method` and `id`), a notification (`method`, no `id`) or a response the
//! client sends to a server's request (`id` and `result` or `error`). Anything else is an
//! invalid message, answered with an error and never forwarded.
use serde_json::{json, Map, Value};

/// Not JSON (JSON-RPC 2.0 §5.1).
pub const PARSE_ERROR: i64 = -32700;
/// Not a JSON-RPC 2.0 message, an empty batch, a batch over the limit.
pub const INVALID_REQUEST: i64 = -32600;
/// A method's parameters the gateway cannot map (a tool name no tool has, ...).
pub const INVALID_PARAMS: i64 = -32602;
/// The policy refused the message (the server-error range JSON-RPC leaves to implementations).
pub const REFUSED: i64 = -32001;
/// The MCP server could not be reached, or its answer could not be checked.
pub const UPSTREAM_FAILED: i64 = -32002;

/// Longest method name accepted; MCP's are a few dozen bytes.
pub const MAX_METHOD_BYTES: usize = 256;

/// A POST body.
pub enum Body {
    /// One message.
    Single(Value),
    /// A JSON array of messages, each decided on its own.
    Batch(Vec<Value>),
}

/// What one message is.
#[derive(Debug, PartialEq)]
pub enum Message<'a> {
    /// Answered with a response of the same `id`.
    Request {
        /// A string or a number.
        id: &'a Value,
        /// The method.
        method: &'a str,
        /// `params`, an object or an array, if any.
        params: Option<&'a Value>,
    },
    /// Not answered.
    Notification {
        /// The method.
        method: &'a str,
        /// `params`, if any.
        params: Option<&'a Value>,
    },
    /// The client's answer to a request of the server (sampling, elicitation, roots).
    Response,
    /// Not a JSON-RPC 2.0 message: answered `INVALID_REQUEST` with its id when it has a usable
    /// one, else `null`.
    Invalid {
        /// The id to answer with.
        id: Value,
        /// What is wrong.
        problem: &'static str,
    },
}

/// Parses a POST body: a JSON object, or a non-empty array of at most `max_batch` elements.
pub fn parse_body(bytes: &[u8], max_batch: usize) -> Result<Body, (i64, String)> {
    let value: Value = serde_json::from_slice(bytes).map_err(|error| (PARSE_ERROR, format!("not JSON: {error}")))?;
    match value {
        Value::Array(items) if items.is_empty() => Err((INVALID_REQUEST, "an empty batch".to_string())),
        Value::Array(items) if items.len() > max_batch => Err((
            INVALID_REQUEST,
            format!("a batch of {} messages is over the limit of {max_batch} (limits.max_batch)", items.len()),
        )),
        Value::Array(items) => Ok(Body::Batch(items)),
        Value::Object(_) => Ok(Body::Single(value)),
        _ => Err((INVALID_REQUEST, "a JSON-RPC message is a JSON object or an array of them".to_string())),
    }
}

/// Classifies one message of a body.
pub fn classify(value: &Value) -> Message<'_> {
    let Value::Object(fields) = value else {
        return invalid(Value::Null, "a JSON-RPC message is a JSON object");
    };
    let id = fields.get("id");
    let usable_id = match id {
        None => None,
        Some(id @ Value::String(_)) => Some(id),
        Some(id @ Value::Number(number)) if number.is_i64() || number.is_u64() => Some(id),
        Some(_) => return invalid(Value::Null, "`id` must be a string or an integer"),
    };
    let answer_id = usable_id.cloned().unwrap_or(Value::Null);
    if fields.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(answer_id, "`jsonrpc` must be \"2.0\"");
    }
    let params = fields.get("params");
    if params.is_some_and(|params| !params.is_object() && !params.is_array()) {
        return invalid(answer_id, "`params` must be an object or an array");
    }
    match (fields.get("method"), usable_id) {
        (Some(Value::String(method)), _) if !is_method_name(method) => {
            invalid(answer_id, "`method` must be 1 to 256 visible ASCII characters")
        }
        (Some(Value::String(method)), Some(id)) => Message::Request { id, method, params },
        (Some(Value::String(method)), None) => Message::Notification { method, params },
        (Some(_), _) => invalid(answer_id, "`method` must be a string"),
        (None, Some(_)) if fields.contains_key("result") != fields.contains_key("error") => Message::Response,
        (None, _) => invalid(answer_id, "neither a request, a notification nor a response"),
    }
}

fn invalid(id: Value, problem: &'static str) -> Message<'static> {
    Message::Invalid { id, problem }
}

fn is_method_name(method: &str) -> bool {
    !method.is_empty() && method.len() <= MAX_METHOD_BYTES && method.bytes().all(|byte| byte.is_ascii_graphic())
}

/// An error response.
pub fn error(id: Value, code: i64, message: &str, data: Option<Map<String, Value>>) -> Value {
    let mut error = json!({ "code": code, "message": message });
    if let (Some(data), Value::Object(fields)) = (data, &mut error) {
        fields.insert("data".to_string(), Value::Object(data));
    }
    json!({ "jsonrpc": "2.0", "id": id, "error": error })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn kind(text: &str) -> String {
        let value: Value = serde_json::from_str(text).unwrap();
        match classify(&value) {
            Message::Request { method, .. } => format!("request {method}"),
            Message::Notification { method, .. } => format!("notification {method}"),
            Message::Response => "response".to_string(),
            Message::Invalid { id, .. } => format!("invalid {id}"),
        }
    }

    #[test]
    fn requests_notifications_responses() {
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), "request tools/list");
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":"a","method":"x","params":{}}"#), "request x");
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            "notification notifications/initialized"
        );
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":7,"result":{}}"#), "response");
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"m"}}"#), "response");
    }

    #[test]
    fn every_other_shape_is_invalid_with_a_usable_id_only() {
        for (text, id) in [
            ("1", "null"),
            ("[]", "null"),
            (r#"{"id":1,"method":"x"}"#, "1"),
            (r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#, "1"),
            (r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#, "null"),
            (r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#, "null"),
            (r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#, "null"),
            (r#"{"jsonrpc":"2.0","id":true,"method":"x"}"#, "null"),
            (r#"{"jsonrpc":"2.0","id":1,"method":7}"#, "1"),
            (r#"{"jsonrpc":"2.0","id":1,"method":""}"#, "1"),
            (r#"{"jsonrpc":"2.0","id":1,"method":"a b"}"#, "1"),
            (r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#, "1"),
            (r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#, "1"),
            (r#"{"jsonrpc":"2.0","id":"s"}"#, "\"s\""),
        ] {
            assert_eq!(kind(text), format!("invalid {id}"), "{text}");
        }
        let long = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#, "m".repeat(MAX_METHOD_BYTES + 1));
        assert_eq!(kind(&long), "invalid 1");
    }

    #[test]
    fn bodies_are_objects_or_bounded_non_empty_arrays() {
        assert!(matches!(parse_body(b"{}", 2), Ok(Body::Single(_))));
        assert!(matches!(parse_body(b"[{},{}]", 2), Ok(Body::Batch(items)) if items.len() == 2));
        assert_eq!(parse_body(b"[{},{},{}]", 2).err().map(|e| e.0), Some(INVALID_REQUEST));
        assert_eq!(parse_body(b"[]", 2).err().map(|e| e.0), Some(INVALID_REQUEST));
        assert_eq!(parse_body(b"\"x\"", 2).err().map(|e| e.0), Some(INVALID_REQUEST));
        assert_eq!(parse_body(b"{", 2).err().map(|e| e.0), Some(PARSE_ERROR));
        let deep = "[".repeat(10_000);
        assert_eq!(parse_body(deep.as_bytes(), 2).err().map(|e| e.0), Some(PARSE_ERROR));
    }
}
