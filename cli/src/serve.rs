//! `warrant serve`: runs the enforcement point (`warrant-server`) from a configuration file or,
//! for the simple case, from flags. Logs go to stderr (`RUST_LOG` filters them).
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use warrant::token::Algorithm;
use warrant_server::config::{AuditSection, IssuerSection, McpSection, ProtectedResourceSection};
use warrant_server::{ConfigError, ServerConfig};

use super::CliError;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (see `server/warrant.example.toml`); the other flags are then refused.
    #[arg(
        long,
        conflicts_with_all = ["policy", "data", "issuer", "listen", "grpc_listen", "audit", "no_watch", "mcp_upstream"]
    )]
    config: Option<PathBuf>,
    /// The policy: a `.warrant` file, a package folder or a built `.wasm` module.
    #[arg(required_unless_present = "config")]
    policy: Option<PathBuf>,
    /// The data document (JSON).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The trusted token issuer (exact `iss`).
    #[arg(long)]
    issuer: Option<String>,
    /// An accepted token audience (repeatable; with `--mcp-resource`, that resource by default).
    #[arg(long, requires = "issuer")]
    audience: Vec<String>,
    /// An accepted signature algorithm (repeatable; default RS256 and ES256).
    #[arg(long, requires = "issuer")]
    algorithm: Vec<Algorithm>,
    /// The issuer's JWK Set URL.
    #[arg(long, requires = "issuer", conflicts_with_all = ["jwks_file", "discovery"])]
    jwks_uri: Option<String>,
    /// The issuer's JWK Set file.
    #[arg(long, requires = "issuer", conflicts_with = "discovery")]
    jwks_file: Option<PathBuf>,
    /// Find the JWK Set URL by OIDC discovery (`{issuer}/.well-known/openid-configuration`).
    #[arg(long, requires = "issuer")]
    discovery: bool,
    /// The HTTP listener (JSON API, ext_authz HTTP mode, health, metrics).
    #[arg(long, default_value = "127.0.0.1:8181")]
    listen: Option<SocketAddr>,
    /// The gRPC listener for Envoy ext_authz (off unless given).
    #[arg(long)]
    grpc_listen: Option<SocketAddr>,
    /// The decision log (JSON Lines; `-` for standard output).
    #[arg(long)]
    audit: Option<PathBuf>,
    /// Serve as an MCP gateway in front of this MCP server (its Streamable HTTP endpoint);
    /// tokens come from `--issuer` and must be issued for `--mcp-resource` (docs/mcp.md).
    #[arg(long, requires_all = ["mcp_resource", "issuer"])]
    mcp_upstream: Option<String>,
    /// The MCP server's URI as its clients know it (`https://tools.acme.com/mcp`): the audience
    /// of its tokens, published as RFC 9728 metadata with `--issuer` as authorization server.
    #[arg(long, requires = "mcp_upstream")]
    mcp_resource: Option<String>,
    /// Do not reload when the policy or data files change (SIGHUP still reloads).
    #[arg(long)]
    no_watch: bool,
    /// The format of the server's own logs on stderr (`RUST_LOG` filters them).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How `warrant serve` writes its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

pub fn run(args: &ServeArgs) -> Result<(), CliError> {
    init_logging(args.log_format);
    let config = match &args.config {
        Some(path) => ServerConfig::from_toml_file(path).map_err(warrant_server::ServeError::from)?,
        None => config_from_flags(args)?,
    };
    warrant_server::run(config).map_err(CliError::from)
}

fn config_from_flags(args: &ServeArgs) -> Result<ServerConfig, CliError> {
    let policy = args.policy.clone().ok_or_else(|| {
        let problem = "give a policy or --config".to_string();
        warrant_server::ServeError::Config(ConfigError::Invalid { key: "policy".to_string(), problem })
    })?;
    let mut config = ServerConfig::for_policy(policy);
    config.policy.data = args.data.clone();
    if let Some(listen) = args.listen {
        config.listen.http = listen;
    }
    config.listen.grpc = args.grpc_listen;
    config.audit = args.audit.clone().map(AuditSection::new);
    config.policy.watch = !args.no_watch;
    if let Some(issuer) = &args.issuer {
        let algorithms =
            if args.algorithm.is_empty() { vec![Algorithm::RS256, Algorithm::ES256] } else { args.algorithm.clone() };
        let audiences = match (&args.mcp_resource, args.audience.is_empty()) {
            (Some(resource), true) => vec![resource.clone()],
            _ => args.audience.clone(),
        };
        let mut section = IssuerSection::new(issuer.clone(), audiences, algorithms);
        section.jwks_uri = args.jwks_uri.clone();
        section.jwks_file = args.jwks_file.clone();
        section.discovery = args.discovery;
        config.issuers.push(section);
        if let (Some(upstream), Some(resource)) = (&args.mcp_upstream, &args.mcp_resource) {
            config.protected_resource = Some(ProtectedResourceSection::new(resource.clone(), vec![issuer.clone()]));
            config.mcp = Some(McpSection::new(upstream.clone()));
        }
    }
    Ok(config)
}

/// Logs on stderr, `info` and up unless `RUST_LOG` says otherwise: startup and reloads at
/// info, each decision at debug (never a token).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(terminal);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
}
