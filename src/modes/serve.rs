//! `sockscope serve`: the metric exposition over HTTP, for Prometheus to scrape.
//!
//! Read-only and without an async runtime: `tiny_http` reads the requests, a few worker
//! threads answer them. `/metrics` is OpenMetrics when the `Accept` header asks for it (as
//! Prometheus does), else the classic text format 0.0.4; `/` is a short page linking it; any
//! other path is 404 and any method but GET and HEAD is 405.
//!
//! **Bounded work per scrape.** A collection — one round of samples through the [`Pipelines`],
//! kept for the whole run so rates and the advisor's trend checks see every collection — runs
//! at most once per `--interval`, behind one mutex: scrapes within an interval share its
//! sample, and scrapes that arrive while it runs wait for it and reuse it instead of starting
//! dumps of their own. Each format's body is rendered once per collection and kept with it;
//! only the self-metrics (scrapes, collections, the last collection's duration and time) are
//! written per scrape.
//!
//! **The listening socket** is made here rather than by `tiny_http` or std, which listen with
//! a backlog of 128: with [`BACKLOG`] a burst of concurrent scrapes waits in the accept queue
//! instead of having its SYNs dropped while `tiny_http`'s one accept thread hands connections
//! to its threads (the kernel caps it at `net.core.somaxconn`).
//!
//! Once listening it prints one line on stderr, the URL of `/metrics` (with the port the
//! kernel chose for `--listen ADDR:0`). SIGTERM and SIGINT end it cleanly: no new requests are
//! taken, those being answered are finished, and it exits with status 0.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Request, Response, Server};

use super::Failure;
use crate::cli::ServeArgs;
use crate::collect::SampleSource;
use crate::config::Config;
use crate::engine::{Pipelines, Scene};
use crate::render::metrics::{self, Exposition, ServeStats};

/// The address `serve` listens on by default: loopback only, so nothing is exposed to the
/// network until asked for.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9437";

/// The `listen()` backlog of the HTTP socket (capped by `net.core.somaxconn`).
pub const BACKLOG: i32 = 1024;

/// Threads answering requests.
const WORKERS: usize = 4;

/// The page served at `/`.
const INDEX: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sockscope</title></head>\n\
<body><h1>sockscope</h1>\n<p>TCP listen queues, SYN queues, drops and the kernel settings that bound them, \
as Prometheus metrics: <a href=\"/metrics\">/metrics</a>.</p></body></html>\n";

/// Serves `/metrics` from `source` until SIGTERM or SIGINT; returns the exit status.
pub fn run(args: &ServeArgs, source: Box<dyn SampleSource + Send>, config: &Config) -> Result<u8, Failure> {
    let listener = listen(args.listen)?;
    let bound = listener.local_addr().unwrap_or(args.listen);
    let server = Server::from_listener(listener, None)
        .map_err(|error| Failure::runtime(format!("cannot serve on {bound}: {error}")))?;
    let exporter = Exporter::new(source, Pipelines::new(config.rules()), args.interval);
    let (events, ended) = mpsc::channel();
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT])
        .map_err(|error| Failure::runtime(format!("cannot watch signals: {error}")))?;
    let stopping = AtomicBool::new(false);
    // Nobody may read stderr (a closed descriptor must not end the run).
    let _ = writeln!(std::io::stderr(), "sockscope: serving http://{bound}/metrics");
    let end = std::thread::scope(|scope| {
        let handle = signals.handle();
        let signalled = events.clone();
        scope.spawn(move || {
            if signals.forever().next().is_some() {
                let _ = signalled.send(End::Signal);
            }
        });
        for _ in 0..WORKERS {
            let events = events.clone();
            scope.spawn(|| answer_requests(&server, &exporter, &stopping, events));
        }
        let end = ended.recv().unwrap_or(End::Signal);
        stopping.store(true, Ordering::SeqCst);
        for _ in 0..WORKERS {
            server.unblock();
        }
        handle.close();
        end
    });
    match end {
        End::Signal => Ok(0),
        End::Failed(message) => Err(Failure::runtime(message)),
    }
}

/// Why serving ended.
enum End {
    /// SIGTERM or SIGINT.
    Signal,
    /// The server stopped accepting connections.
    Failed(String),
}

/// A TCP socket listening on `address` with [`BACKLOG`]; a port in use is one line.
fn listen(address: SocketAddr) -> Result<std::net::TcpListener, Failure> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let fail =
        |errno: rustix::io::Errno| Failure::runtime(format!("cannot listen on {address}: {}", bind_error(errno)));
    let family = if address.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    let socket = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None).map_err(fail)?;
    rustix::net::sockopt::set_socket_reuseaddr(&socket, true).map_err(fail)?;
    rustix::net::bind(&socket, &address).map_err(fail)?;
    rustix::net::listen(&socket, BACKLOG).map_err(fail)?;
    Ok(std::net::TcpListener::from(socket))
}

/// Why a bind failed, in a sysadmin's words.
fn bind_error(errno: rustix::io::Errno) -> String {
    use rustix::io::Errno;
    match errno {
        Errno::ADDRINUSE => "address already in use".to_string(),
        Errno::ACCESS => "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)".to_string(),
        Errno::ADDRNOTAVAIL => "no local interface has this address".to_string(),
        other => std::io::Error::from(other).to_string(),
    }
}

/// Answers requests until the server is unblocked; a failure of the server itself ends the run.
fn answer_requests(server: &Server, exporter: &Exporter, stopping: &AtomicBool, events: mpsc::Sender<End>) {
    loop {
        match server.recv() {
            Ok(request) => answer(exporter, request),
            Err(error) => {
                if !stopping.load(Ordering::SeqCst) {
                    let _ = events.send(End::Failed(format!("the HTTP server stopped: {error}")));
                }
                return;
            }
        }
    }
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `/metrics` in this format.
    Metrics(Exposition),
    /// The page at `/`.
    Index,
    /// Any other path.
    NotFound,
    /// A method other than GET or HEAD.
    NotAllowed,
}

/// The route of a request from its method, URL and `Accept` header.
fn route(method: &Method, url: &str, accept: Option<&str>) -> Route {
    if !matches!(method, Method::Get | Method::Head) {
        return Route::NotAllowed;
    }
    match url.split(['?', '#']).next().unwrap_or_default() {
        "/metrics" => Route::Metrics(negotiate(accept)),
        "/" => Route::Index,
        _ => Route::NotFound,
    }
}

/// OpenMetrics when the `Accept` header prefers it (any version this encoder writes: 1.0.0, or
/// 0.0.1, which it also satisfies) to the classic format; the classic format otherwise.
fn negotiate(accept: Option<&str>) -> Exposition {
    let mut openmetrics = 0.0_f64;
    let mut classic = 0.0_f64;
    for range in accept.unwrap_or_default().split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut quality = 1.0;
        let mut version = None;
        for parameter in parts {
            match parameter.split_once('=').map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim())) {
                Some((key, value)) if key == "q" => quality = value.parse().unwrap_or(0.0),
                Some((key, value)) if key == "version" => version = Some(value.to_string()),
                _ => {}
            }
        }
        match media.as_str() {
            "application/openmetrics-text" if matches!(version.as_deref(), None | Some("1.0.0" | "0.0.1")) => {
                openmetrics = openmetrics.max(quality);
            }
            "text/plain" | "text/*" | "*/*" => classic = classic.max(quality),
            _ => {}
        }
    }
    if openmetrics > 0.0 && openmetrics >= classic { Exposition::OpenMetrics } else { Exposition::Prometheus }
}

/// Answers one request; a client that went away is not an error.
fn answer(exporter: &Exporter, request: Request) {
    let accept =
        request.headers().iter().find(|header| header.field.equiv("Accept")).map(|header| header.value.as_str());
    let response = match route(request.method(), request.url(), accept) {
        Route::Metrics(exposition) => match exporter.scrape(exposition) {
            Some(body) => text(200, exposition.content_type(), body),
            None => text(503, "text/plain; charset=utf-8", "no sample: the sample source ended\n".to_string()),
        },
        Route::Index => text(200, "text/html; charset=utf-8", INDEX.to_string()),
        Route::NotFound => {
            text(404, "text/plain; charset=utf-8", "not found: sockscope serves / and /metrics\n".into())
        }
        Route::NotAllowed => with_header(
            text(405, "text/plain; charset=utf-8", "only GET and HEAD are served\n".to_string()),
            "Allow",
            "GET, HEAD",
        ),
    };
    let _ = request.respond(response);
}

/// A response of that status, type and body.
type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn text(status: u16, content_type: &str, body: String) -> Reply {
    with_header(Response::from_string(body).with_status_code(status), "Content-Type", content_type)
}

/// The response with one more header (names and values are this module's ASCII constants,
/// which always parse).
fn with_header(response: Reply, name: &str, value: &str) -> Reply {
    match Header::from_bytes(name, value) {
        Ok(header) => response.with_header(header),
        Err(()) => response,
    }
}

/// The collections and their rendered bodies, shared by every worker.
struct Exporter {
    state: Mutex<State>,
    interval: Duration,
    scrapes: AtomicU64,
}

/// What the collections keep between scrapes.
struct State {
    source: Box<dyn SampleSource + Send>,
    pipelines: Pipelines,
    collections: u64,
    latest: Option<Collection>,
}

/// The last collection and the bodies rendered from it.
struct Collection {
    started: Instant,
    started_at: f64,
    seconds: f64,
    scene: Arc<Scene>,
    /// The classic and OpenMetrics bodies, rendered at their first scrape.
    bodies: [Option<Arc<str>>; 2],
}

impl Collection {
    /// This collection's families in one format, rendered once.
    fn body(&mut self, exposition: Exposition) -> Arc<str> {
        let slot = &mut self.bodies[usize::from(exposition == Exposition::OpenMetrics)];
        slot.get_or_insert_with(|| metrics::families(&self.scene, exposition).into()).clone()
    }
}

impl Exporter {
    fn new(source: Box<dyn SampleSource + Send>, pipelines: Pipelines, interval: Duration) -> Exporter {
        let state = State { source, pipelines, collections: 0, latest: None };
        Exporter { state: Mutex::new(state), interval, scrapes: AtomicU64::new(0) }
    }

    /// The document of one scrape: the last collection's families (collecting first when it is
    /// older than the interval), then the self-metrics. `None` before any sample exists.
    fn scrape(&self, exposition: Exposition) -> Option<String> {
        let scrapes = self.scrapes.fetch_add(1, Ordering::SeqCst) + 1;
        let (body, stats) = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.refresh(self.interval);
            let collections = state.collections;
            let latest = state.latest.as_mut()?;
            let stats = ServeStats {
                scrapes,
                collections,
                collection_seconds: latest.seconds,
                collected_at: latest.started_at,
            };
            (latest.body(exposition), stats)
        };
        let own = metrics::serve_families(&stats, exposition);
        let mut document = String::with_capacity(body.len() + own.len() + 8);
        document.push_str(&body);
        document.push_str(&own);
        document.push_str(exposition.end());
        Some(document)
    }
}

impl State {
    /// Takes a new collection unless the last one is younger than `interval`; a source that
    /// ended keeps the last one.
    fn refresh(&mut self, interval: Duration) {
        if self.latest.as_ref().is_some_and(|latest| latest.started.elapsed() < interval) {
            return;
        }
        let started = Instant::now();
        let started_at = jiff::Timestamp::now().as_microsecond() as f64 / 1e6;
        let Some(round) = self.source.next_round() else { return };
        let scene = self.pipelines.push(round);
        self.collections += 1;
        let seconds = started.elapsed().as_secs_f64();
        self.latest = Some(Collection { started, started_at, seconds, scene, bodies: [None, None] });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_gets_openmetrics_and_everyone_else_the_classic_format() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,\
                          text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(Some(prometheus)), Exposition::OpenMetrics);
        assert_eq!(
            negotiate(Some("application/openmetrics-text; version=1.0.0; charset=utf-8")),
            Exposition::OpenMetrics
        );
        assert_eq!(negotiate(None), Exposition::Prometheus);
        assert_eq!(negotiate(Some("*/*")), Exposition::Prometheus);
        assert_eq!(negotiate(Some("text/plain;version=0.0.4")), Exposition::Prometheus);
        assert_eq!(negotiate(Some("text/plain, application/openmetrics-text;q=0.5")), Exposition::Prometheus);
        assert_eq!(negotiate(Some("application/openmetrics-text;version=2.0.0")), Exposition::Prometheus);
        assert_eq!(negotiate(Some("application/openmetrics-text;q=0")), Exposition::Prometheus);
    }

    #[test]
    fn paths_and_methods_are_routed() {
        assert_eq!(route(&Method::Get, "/metrics", None), Route::Metrics(Exposition::Prometheus));
        assert_eq!(route(&Method::Head, "/metrics?x=1", None), Route::Metrics(Exposition::Prometheus));
        assert_eq!(route(&Method::Get, "/", None), Route::Index);
        assert_eq!(route(&Method::Get, "/metrics/", None), Route::NotFound);
        assert_eq!(route(&Method::Get, "/favicon.ico", None), Route::NotFound);
        assert_eq!(route(&Method::Post, "/metrics", None), Route::NotAllowed);
        assert_eq!(route(&Method::Delete, "/", None), Route::NotAllowed);
    }

    #[test]
    fn bind_errors_read_as_one_plain_phrase() {
        assert_eq!(bind_error(rustix::io::Errno::ADDRINUSE), "address already in use");
        assert!(bind_error(rustix::io::Errno::ACCESS).starts_with("permission denied"));
    }
}
