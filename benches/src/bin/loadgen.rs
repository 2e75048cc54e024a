//! `loadgen`: loads `warrant serve` and prints one JSON line (decisions/s, p50/p99/p99.9 in µs,
//! errors by kind, the generator's own CPU per request). `benches/serve_load.sh` runs the matrix.
//!
//! Modes: `json` (`POST /v1/decide`, claims verified by the caller), `json-token`
//! (`POST /v1/decide/token`), `grpc` (ext_authz `Authorization/Check`), and `inprocess` (the
//! same decisions through `Gateway` in this process, no network: the baseline for the server's
//! overhead). `--tokens N` signs N distinct tokens: 1 keeps the server's verified-token cache
//! warm; more than the requests of the run keeps it cold.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use warrant_benches::loadgen::{self, LoadConfig, LoadError, Protocol, Workload};
use warrant_engine::token::{Algorithm, DpopMode, IssuerConfig, KeySource, TokenVerifier, VerifyOptions};
use warrant_engine::{ClaimMapping, Engine, Gateway, Request, SourceFile};

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Json,
    JsonToken,
    Grpc,
    Inprocess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Expect {
    Allow,
    Deny,
}

/// Closed-loop load against `warrant serve`; one JSON line on standard output.
#[derive(Debug, Parser)]
struct Args {
    /// The server: its HTTP listener (json modes) or gRPC listener (grpc).
    #[arg(long, default_value = "127.0.0.1:8181")]
    addr: SocketAddr,
    #[arg(long, value_enum, default_value = "json")]
    mode: Mode,
    /// Concurrent connections, each a closed loop with its own keep-alive connection.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Warm-up seconds (answers checked, not measured).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Distinct tokens (json-token, grpc, inprocess): 1 = warm cache, many = cold.
    #[arg(long, default_value_t = 1)]
    tokens: usize,
    /// json mode: send `POST /v1/decide/batch` with this many copies of the request in each
    /// call (1: `POST /v1/decide`); every item of every answer is checked.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// h2 (prior knowledge) instead of HTTP/1.1 for the json modes.
    #[arg(long)]
    http2: bool,
    /// The decision every answer must carry.
    #[arg(long, value_enum, default_value = "allow")]
    expect: Expect,
    /// Longest wait for one connect or answer, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// The ES256 signing key (PEM) of the tokens.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/keys/k1.pem"))]
    key: PathBuf,
    /// The `kid` of the tokens.
    #[arg(long, default_value = "k1")]
    kid: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<Value, Box<dyn std::error::Error>> {
    let seconds = |value: f64, name: &'static str| {
        Duration::try_from_secs_f64(value)
            .map_err(|_| LoadError::Invalid { setting: name, problem: "must be a number of seconds".to_string() })
    };
    let duration = seconds(args.duration, "duration")?;
    let warmup = seconds(args.warmup, "warmup")?;
    if !(1..=1_000_000).contains(&args.tokens) {
        return Err(LoadError::Invalid { setting: "tokens", problem: "must be between 1 and 1000000".into() }.into());
    }
    if args.batch == 0 || (args.batch > 1 && args.mode != Mode::Json) {
        return Err(LoadError::Invalid {
            setting: "batch",
            problem: "at least 1, and above 1 only in json mode".into(),
        }
        .into());
    }
    if args.mode == Mode::Inprocess {
        return inprocess(args, duration, warmup);
    }
    let expect_allowed = args.expect == Expect::Allow;
    let signing = Instant::now();
    let workload = workload(args, expect_allowed)?;
    let signing_s = signing.elapsed().as_secs_f64();
    let mut config = LoadConfig::new(args.addr, args.connections, duration);
    config.warmup = warmup;
    config.request_timeout = Duration::from_millis(args.timeout_ms);
    config.protocol = if args.http2 { Protocol::Http2 } else { Protocol::Http1 };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let cpu_before = own_cpu_us();
    let report = runtime.block_on(loadgen::run(config, workload))?;
    let cpu = own_cpu_us().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    let mut line = report.to_json();
    if let Value::Object(fields) = &mut line {
        fields.insert("mode".into(), json!(mode_name(args.mode)));
        fields.insert("http2".into(), json!(args.http2));
        fields.insert("batch".into(), json!(args.batch));
        fields.insert("decisions_per_s".into(), json!((report.rps() * args.batch as f64).round()));
        if args.mode != Mode::Json {
            fields.insert("tokens".into(), json!(args.tokens));
            // Requests beyond the number of distinct tokens reuse one: a "cold" run is cold only
            // if this is 0 (or small beside the server's cache capacity, 1024 by default).
            fields.insert("token_reuses".into(), json!(report.all_requests.saturating_sub(args.tokens as u64)));
            fields.insert("signing_s".into(), json!((signing_s * 10.0).round() / 10.0));
        }
        let per_request = cpu.map(|us| (us as f64 / report.all_requests.max(1) as f64 * 10.0).round() / 10.0);
        fields.insert("client_cpu_us_per_request".into(), json!(per_request));
    }
    Ok(line)
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Json => "json",
        Mode::JsonToken => "json-token",
        Mode::Grpc => "grpc",
        Mode::Inprocess => "inprocess",
    }
}

fn workload(args: &Args, expect_allowed: bool) -> Result<Workload, Box<dyn std::error::Error>> {
    let now = unix_now();
    match args.mode {
        Mode::Json if args.batch == 1 => Ok(Workload::Http {
            path: "/v1/decide".into(),
            bodies: Arc::new(vec![loadgen::agent_tools_decide_body()?]),
            expect_allowed,
            decisions_per_answer: 1,
        }),
        Mode::Json => Ok(Workload::Http {
            path: "/v1/decide/batch".into(),
            bodies: Arc::new(vec![loadgen::agent_tools_batch_body(args.batch)?]),
            expect_allowed,
            decisions_per_answer: args.batch,
        }),
        Mode::JsonToken => {
            let tokens = sign(args, |index| loadgen::agent_tools_claims(index, now))?;
            let bodies = tokens.iter().map(|token| loadgen::agent_tools_token_body(token)).collect::<Result<_, _>>()?;
            Ok(Workload::Http {
                path: "/v1/decide/token".into(),
                bodies: Arc::new(bodies),
                expect_allowed,
                decisions_per_answer: 1,
            })
        }
        Mode::Grpc => {
            let tokens = sign(args, |index| Ok(loadgen::pinning_claims(index, now)))?;
            let requests = tokens.iter().map(|token| loadgen::check_request(token)).collect();
            Ok(Workload::Grpc { requests: Arc::new(requests), expect_allowed })
        }
        Mode::Inprocess => Err("inprocess has no network workload".into()),
    }
}

fn sign(
    args: &Args,
    claims: impl Fn(usize) -> Result<Value, LoadError> + Sync,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let pem = std::fs::read(&args.key).map_err(|error| format!("{}: {error}", args.key.display()))?;
    Ok(loadgen::sign_tokens(&pem, &args.kid, args.tokens, claims)?)
}

/// The baseline: the agent-tools decision through a `Gateway` in this process, one thread,
/// (1) on a request built beforehand, (2) from the JSON body to the JSON answer as the server's
/// `/v1/decide` does, and (3) token → verified request → decision with the verified-token cache
/// warm (`--tokens 1`) or cold (more tokens, cycled).
fn inprocess(args: &Args, duration: Duration, warmup: Duration) -> Result<Value, Box<dyn std::error::Error>> {
    let folder = format!("{REPO}/policies/agent-tools");
    let text = std::fs::read_to_string(format!("{folder}/policy.warrant"))?;
    let data: Value = serde_json::from_str(&std::fs::read_to_string(format!("{folder}/data.json"))?)?;
    let engine = Engine::new()?;
    let policy = engine.compile_package(&folder, &[SourceFile { name: "policy.warrant".into(), text }])?;
    let gateway = Gateway::new(&policy, data)?;
    let document = loadgen::agent_tools_request()?;
    let mapping = ClaimMapping::default();
    let request = Request::from_json(document.clone(), &mapping)?;
    let body = loadgen::agent_tools_decide_body()?;

    let decide = time_loop(duration, warmup, || gateway.decide(&request).decision.allowed);
    let json_path = time_loop(duration, warmup, || {
        let Ok(value) = serde_json::from_slice::<Value>(&body) else { return false };
        let Ok(request) = Request::from_json(value, &mapping) else { return false };
        let decided = gateway.decide(&request);
        serde_json::to_vec(&decided.decision).is_ok() && decided.decision.allowed
    });

    let keys = KeySource::jwks_file(format!("{REPO}/server/tests/keys/k1.jwks.json"))?;
    let issuer = IssuerConfig {
        issuer: loadgen::ISSUER.into(),
        audiences: vec![loadgen::AUDIENCE.into()],
        algorithms: vec![Algorithm::ES256],
        keys: vec![keys],
        dpop: DpopMode::default(),
    };
    let verifier = TokenVerifier::new(vec![issuer], VerifyOptions::default())?;
    let now = unix_now();
    let tokens = sign(args, |index| loadgen::agent_tools_claims(index, now))?;
    let resource = document.get("resource").and_then(Value::as_str).map(str::to_string);
    let action = document.get("action").and_then(Value::as_str).map(str::to_string);
    let context = document.get("context").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut next = 0usize;
    let token_path = time_loop(duration, warmup, || {
        let token = tokens.get(next % tokens.len()).map(String::as_str).unwrap_or_default();
        next = next.wrapping_add(1);
        match verifier.request(token, resource.clone(), action.clone(), unix_now()) {
            Ok(request) => gateway.decide(&request.with_context(context.clone())).decision.allowed,
            Err(_) => false,
        }
    });
    Ok(json!({
        "mode": "inprocess",
        "tokens": args.tokens,
        "decide": decide,
        "json": json_path,
        "token": token_path,
    }))
}

/// Calls `step` (which says whether the decision was the expected allow) for `warmup`, then
/// for `duration`, timing each call; the summary of the timed calls.
fn time_loop(duration: Duration, warmup: Duration, mut step: impl FnMut() -> bool) -> Value {
    let warm_until = Instant::now() + warmup;
    while Instant::now() < warm_until {
        step();
    }
    let mut histogram = loadgen::latency_histogram();
    let (mut ok, mut errors) = (0u64, 0u64);
    let started = Instant::now();
    let end = started + duration;
    while Instant::now() < end {
        let call = Instant::now();
        let allowed = step();
        let nanos = u64::try_from(call.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if allowed {
            ok += 1;
            histogram.saturating_record(nanos.max(1));
        } else {
            errors += 1;
        }
    }
    summary(&histogram, ok, errors, started.elapsed())
}

fn summary(histogram: &Histogram<u64>, ok: u64, errors: u64, elapsed: Duration) -> Value {
    let us = |quantile: f64| (histogram.value_at_quantile(quantile) as f64 / 100.0).round() / 10.0;
    json!({
        "per_s": (ok as f64 / elapsed.as_secs_f64().max(1e-9)).round(),
        "p50_us": us(0.5),
        "p99_us": us(0.99),
        "p999_us": us(0.999),
        "errors": errors,
    })
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// This process's user + system CPU time in µs (`/proc/self/stat`, USER_HZ = 100); None off Linux.
fn own_cpu_us() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name (from 1).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10_000)
}
