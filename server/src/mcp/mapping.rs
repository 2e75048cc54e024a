//! What the policy is asked about each MCP message: the action is the JSON-RPC method, the
//! resource names what the method acts on under the gateway's prefix, and `context` carries
//! the method's own words (the tool and its arguments).
//!
//! | message | `action` | `resource` | `context` |
//! |---|---|---|---|
//! | `tools/call` | `tools/call` | `{prefix}/tools/{name}` | `method`, `tool`, `arguments` |
//! | `prompts/get` | `prompts/get` | `{prefix}/prompts/{name}` | `method`, `prompt`, `arguments` |
//! | `resources/read`, `resources/subscribe`, `resources/unsubscribe` | the method | `{prefix}/resources/{uri}` | `method`, `uri` |
//! | any other request or notification (`initialize`, `ping`, `tools/list`, `notifications/...`) | the method | `{prefix}` | `method` |
//! | a response the client sends to the server's request | `mcp:response` | `{prefix}` | `method` |
//! | `GET` (the server's event stream), `DELETE` (end of session) | `mcp:stream`, `mcp:end_session` | `{prefix}` | `method` |
//!
//! Items of a list answer are decided one by one: the action is the list method, the resource
//! the item's (`tools/list` → `{prefix}/tools/{name}`, with `context.tool`), so a policy shows
//! an agent only what it may use. `mcp:` actions cannot collide with MCP methods, which have
//! no `:`.
//!
//! Names that could make one resource pass for another are refused, not mapped: a tool or
//! prompt name outside MCP's `[A-Za-z0-9_.-]{1,128}`, a resource URI with whitespace or
//! control characters or over [`MAX_URI_BYTES`].
use serde_json::{Map, Value};

/// A response the client sends.
pub const ACTION_RESPONSE: &str = "mcp:response";
/// `GET`: open the server's event stream.
pub const ACTION_STREAM: &str = "mcp:stream";
/// `DELETE`: end the session.
pub const ACTION_END_SESSION: &str = "mcp:end_session";
/// Longest resource URI mapped.
pub const MAX_URI_BYTES: usize = 4096;
/// Longest tool or prompt name (MCP's limit).
pub const MAX_NAME_BYTES: usize = 128;

/// The decision request of one message, less the token's part.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The decision's `action`.
    pub action: String,
    /// The decision's `resource`.
    pub resource: String,
    /// The decision's `context`.
    pub context: Map<String, Value>,
}

/// The target of a message that acts on the server as a whole.
pub fn server_target(prefix: &str, action: &str, method: &str) -> Target {
    Target { action: action.to_string(), resource: prefix.to_string(), context: context(method) }
}

/// The target of a request or notification; `Err` names parameters that cannot be mapped.
pub fn target(prefix: &str, method: &str, params: Option<&Value>) -> Result<Target, &'static str> {
    let field = |name: &str| params.and_then(|params| params.get(name));
    let mut context = context(method);
    let resource = match method {
        "tools/call" | "prompts/get" => {
            let (kind, key) = if method == "tools/call" { ("tools", "tool") } else { ("prompts", "prompt") };
            let name = field("name").and_then(Value::as_str).ok_or("`params.name` must be a string")?;
            if !is_name(name) {
                return Err("`params.name` must be 1 to 128 of A-Z a-z 0-9 _ - .");
            }
            match field("arguments") {
                None => {}
                Some(arguments @ Value::Object(_)) => {
                    context.insert("arguments".to_string(), arguments.clone());
                }
                Some(_) => return Err("`params.arguments` must be an object"),
            }
            context.insert(key.to_string(), Value::String(name.to_string()));
            format!("{prefix}/{kind}/{name}")
        }
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
            let uri = field("uri").and_then(Value::as_str).ok_or("`params.uri` must be a string")?;
            if !is_uri(uri) {
                return Err("`params.uri` must be at most 4096 bytes without whitespace or control characters");
            }
            context.insert("uri".to_string(), Value::String(uri.to_string()));
            format!("{prefix}/resources/{uri}")
        }
        _ => prefix.to_string(),
    };
    Ok(Target { action: method.to_string(), resource, context })
}

fn context(method: &str) -> Map<String, Value> {
    let mut context = Map::new();
    context.insert("method".to_string(), Value::String(method.to_string()));
    context
}

/// A list method whose answer is filtered item by item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `tools/list`: `result.tools[].name`.
    Tools,
    /// `prompts/list`: `result.prompts[].name`.
    Prompts,
    /// `resources/list`: `result.resources[].uri`.
    Resources,
    /// `resources/templates/list`: `result.resourceTemplates[].uriTemplate`.
    ResourceTemplates,
}

impl ListKind {
    /// The list a method asks for, if it is one.
    pub fn of(method: &str) -> Option<ListKind> {
        match method {
            "tools/list" => Some(ListKind::Tools),
            "prompts/list" => Some(ListKind::Prompts),
            "resources/list" => Some(ListKind::Resources),
            "resources/templates/list" => Some(ListKind::ResourceTemplates),
            _ => None,
        }
    }

    fn method(self) -> &'static str {
        match self {
            ListKind::Tools => "tools/list",
            ListKind::Prompts => "prompts/list",
            ListKind::Resources => "resources/list",
            ListKind::ResourceTemplates => "resources/templates/list",
        }
    }

    /// The key of the item array in the result.
    pub fn items_key(self) -> &'static str {
        match self {
            ListKind::Tools => "tools",
            ListKind::Prompts => "prompts",
            ListKind::Resources => "resources",
            ListKind::ResourceTemplates => "resourceTemplates",
        }
    }

    /// The target of one item of the answer; `None` (the item is not shown) when it has no
    /// name or URI that maps.
    pub fn item_target(self, prefix: &str, item: &Value) -> Option<Target> {
        let (field, kind, key, valid): (_, _, _, fn(&str) -> bool) = match self {
            ListKind::Tools => ("name", "tools", "tool", is_name),
            ListKind::Prompts => ("name", "prompts", "prompt", is_name),
            ListKind::Resources => ("uri", "resources", "uri", is_uri),
            ListKind::ResourceTemplates => ("uriTemplate", "resources", "uri", is_uri),
        };
        let name = item.get(field)?.as_str().filter(|name| valid(name))?;
        let mut context = context(self.method());
        context.insert(key.to_string(), Value::String(name.to_string()));
        Some(Target { action: self.method().to_string(), resource: format!("{prefix}/{kind}/{name}"), context })
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'))
}

fn is_uri(uri: &str) -> bool {
    !uri.is_empty() && uri.len() <= MAX_URI_BYTES && !uri.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const PREFIX: &str = "mcp://tools.acme.com";

    #[test]
    fn a_tool_call_names_the_tool_and_carries_its_arguments() {
        let params = json!({ "name": "refund_order", "arguments": { "amount": 40 } });
        let call = target(PREFIX, "tools/call", Some(&params)).unwrap();
        assert_eq!(call.action, "tools/call");
        assert_eq!(call.resource, "mcp://tools.acme.com/tools/refund_order");
        assert_eq!(
            Value::Object(call.context),
            json!({ "method": "tools/call", "tool": "refund_order", "arguments": { "amount": 40 } })
        );
        let prompt = target(PREFIX, "prompts/get", Some(&json!({ "name": "greet" }))).unwrap();
        assert_eq!(prompt.resource, "mcp://tools.acme.com/prompts/greet");
        let read = target(PREFIX, "resources/read", Some(&json!({ "uri": "file:///a b" })));
        assert!(read.is_err());
        let read = target(PREFIX, "resources/read", Some(&json!({ "uri": "file:///a" }))).unwrap();
        assert_eq!(read.resource, "mcp://tools.acme.com/resources/file:///a");
        let other = target(PREFIX, "initialize", Some(&json!({ "name": "x" }))).unwrap();
        assert_eq!((other.action.as_str(), other.resource.as_str()), ("initialize", PREFIX));
    }

    #[test]
    fn names_that_could_pass_for_another_resource_are_refused() {
        for name in [json!("../admin"), json!("a/b"), json!(""), json!("a b"), json!(7), json!("x".repeat(129))] {
            let params = json!({ "name": name, "arguments": {} });
            assert!(target(PREFIX, "tools/call", Some(&params)).is_err(), "{name}");
        }
        assert!(target(PREFIX, "tools/call", None).is_err());
        let params = json!({ "name": "a", "arguments": [1] });
        assert!(target(PREFIX, "tools/call", Some(&params)).is_err(), "arguments must be an object");
    }

    #[test]
    fn list_items_are_decided_as_the_list_method_on_the_item() {
        let item = ListKind::Tools.item_target(PREFIX, &json!({ "name": "lookup_customer" })).unwrap();
        assert_eq!(item.action, "tools/list");
        assert_eq!(item.resource, "mcp://tools.acme.com/tools/lookup_customer");
        assert_eq!(item.context["tool"], "lookup_customer");
        let template = json!({ "uriTemplate": "file:///{path}" });
        let resource = ListKind::ResourceTemplates.item_target(PREFIX, &template).unwrap();
        assert_eq!(resource.resource, "mcp://tools.acme.com/resources/file:///{path}");
        assert_eq!(ListKind::Tools.item_target(PREFIX, &json!({ "name": "a/b" })), None);
        assert_eq!(ListKind::Prompts.item_target(PREFIX, &json!({})), None);
    }
}
