#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
//! A real MCP server and client of the official Rust SDK (`rmcp`), to drive the gateway with.
//!
//! The upstream is a stateful Streamable HTTP server: `initialize` answers with an
//! `Mcp-Session-Id`, every request POST is answered with `text/event-stream`, and the client
//! opens a standalone GET stream after `initialize` and sends a DELETE when it is closed.

use std::sync::{Arc, Mutex};

use axum::{
    extract::{Request, State},
    http::{header::AUTHORIZATION, HeaderMap, Method},
    middleware::{self, Next},
    response::Response,
    Router,
};
use rmcp::{
    handler::server::wrapper::Parameters,
    model::{CallToolRequestParams, CallToolResult, ProgressNotificationParam},
    service::{RequestContext, RunningService, ServiceError},
    tool, tool_handler, tool_router,
    transport::{
        streamable_http_client::StreamableHttpClientTransportConfig,
        streamable_http_server::{
            session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
        },
        StreamableHttpClientTransport,
    },
    RoleClient, RoleServer, ServerHandler, ServiceExt,
};
use serde::Deserialize;

/// A connected rmcp client (no client-side handler).
pub type McpClient = RunningService<RoleClient, ()>;

#[derive(Deserialize, schemars::JsonSchema)]
pub struct CustomerArgs {
    pub customer_id: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct RefundArgs {
    pub customer_id: String,
    pub order_id: String,
    pub amount: f64,
}

#[derive(Deserialize, schemars::JsonSchema)]
pub struct ExportArgs {
    pub rows: u32,
}

/// The "customer support" MCP server.
#[derive(Clone)]
pub struct CustomerSupport;

#[tool_router]
impl CustomerSupport {
    #[tool(description = "Look a customer up")]
    async fn lookup_customer(&self, Parameters(a): Parameters<CustomerArgs>) -> String {
        format!("customer {}: Alice Example", a.customer_id)
    }

    #[tool(description = "Refund an order")]
    async fn refund_order(&self, Parameters(a): Parameters<RefundArgs>) -> String {
        format!("refunded {} on {} for {}", a.amount, a.order_id, a.customer_id)
    }

    #[tool(description = "Delete a customer")]
    async fn delete_customer(&self, Parameters(a): Parameters<CustomerArgs>) -> String {
        format!("deleted {}", a.customer_id)
    }

    /// Sends one progress notification per row on the request's SSE stream, then the rows.
    #[tool(description = "Export a report, streaming progress")]
    async fn export_report(
        &self,
        Parameters(a): Parameters<ExportArgs>,
        context: RequestContext<RoleServer>,
    ) -> String {
        // rmcp clients put a progressToken on every request; the server routes progress
        // notifications by that token onto the POST's own SSE stream.
        if let Some(token) = context.meta.get_progress_token() {
            for n in 1..=a.rows {
                let progress =
                    ProgressNotificationParam::new(token.clone(), f64::from(n)).with_total(f64::from(a.rows));
                let _ = context.peer.notify_progress(progress).await;
            }
        }
        (1..=a.rows).map(|n| format!("row {n}")).collect::<Vec<_>>().join("\n")
    }
}

#[tool_handler(name = "customer-support", version = "1.0.0")]
impl ServerHandler for CustomerSupport {}

/// A running upstream MCP server, stopped when dropped.
pub struct Upstream {
    /// `http://127.0.0.1:PORT/mcp`
    pub url: String,
    /// The `Authorization` header of every HTTP request received (POST, GET and DELETE).
    pub seen_authorization: Arc<Mutex<Vec<Option<String>>>>,
    /// All headers of every HTTP request received.
    pub seen_headers: Arc<Mutex<Vec<HeaderMap>>>,
    /// The method of every HTTP request received (same order as the two above).
    pub seen_methods: Arc<Mutex<Vec<Method>>>,
    /// The body of every HTTP request received, as text.
    pub seen_bodies: Arc<Mutex<Vec<String>>>,
    stop: Box<dyn Fn() + Send + Sync>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        (self.stop)();
        self.task.abort();
    }
}

#[derive(Clone)]
struct Seen {
    authorization: Arc<Mutex<Vec<Option<String>>>>,
    headers: Arc<Mutex<Vec<HeaderMap>>>,
    methods: Arc<Mutex<Vec<Method>>>,
    bodies: Arc<Mutex<Vec<String>>>,
}

/// Middleware recording each request's headers before rmcp handles it.
async fn record(State(seen): State<Seen>, request: Request, next: Next) -> Response {
    {
        // Hold all three locks so the three lists stay aligned under concurrent requests.
        let (mut a, mut h, mut m) =
            (seen.authorization.lock().unwrap(), seen.headers.lock().unwrap(), seen.methods.lock().unwrap());
        let headers = request.headers();
        a.push(headers.get(AUTHORIZATION).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()));
        h.push(headers.clone());
        m.push(request.method().clone());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    seen.bodies.lock().unwrap().push(String::from_utf8_lossy(&bytes).into_owned());
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// Starts the upstream on 127.0.0.1:0 (stateful sessions, SSE answers; rmcp's default
/// Host check admits only `localhost`, `127.0.0.1` and `::1`).
pub async fn start_upstream() -> Upstream {
    let config = StreamableHttpServerConfig::default();
    assert!(config.legacy_session_mode && !config.json_response, "stateful, SSE answers");
    let cancel = config.cancellation_token.clone();
    let service = StreamableHttpService::new(|| Ok(CustomerSupport), Arc::new(LocalSessionManager::default()), config);
    let seen = Seen {
        authorization: Arc::default(),
        headers: Arc::default(),
        methods: Arc::default(),
        bodies: Arc::default(),
    };
    let router =
        Router::new().nest_service("/mcp", service).layer(middleware::from_fn_with_state(seen.clone(), record));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let shutdown = cancel.clone();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).with_graceful_shutdown(async move { shutdown.cancelled().await }).await;
    });
    Upstream {
        url,
        seen_authorization: seen.authorization,
        seen_headers: seen.headers,
        seen_methods: seen.methods,
        seen_bodies: seen.bodies,
        stop: Box::new(move || cancel.cancel()),
        task,
    }
}

/// Connects an rmcp client (sending `Authorization: Bearer <bearer>` on every request) and
/// performs `initialize`; the error is the Debug form of rmcp's `ClientInitializeError`.
pub async fn connect_client(url: &str, bearer: Option<&str>) -> Result<McpClient, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(token) = bearer {
        config = config.auth_header(token); // rmcp adds the `Bearer ` prefix
    }
    ().serve(StreamableHttpClientTransport::from_config(config)).await.map_err(|e| format!("{e:?}"))
}

/// The names of the tools the server lists (all pages).
pub async fn list_tool_names(client: &McpClient) -> Vec<String> {
    client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.into_owned()).collect()
}

/// Calls a tool. A JSON-RPC error answer becomes `Err("{code}: {message}")`; any other
/// failure (transport, HTTP status) its Debug form.
pub async fn call_tool(client: &McpClient, name: &str, arguments: serde_json::Value) -> Result<CallToolResult, String> {
    let serde_json::Value::Object(arguments) = arguments else { panic!("tool arguments must be a JSON object") };
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
    client.call_tool(params).await.map_err(|e| match e {
        ServiceError::McpError(error) => format!("{}: {}", error.code.0, error.message),
        other => format!("{other:?}"),
    })
}

/// The concatenated text contents of a tool result.
pub fn text_of(result: &CallToolResult) -> String {
    result.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect()
}
