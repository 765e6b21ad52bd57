//! The busy-host benchmark: what sockscope costs against `ss` and against the floor (a bare
//! sock_diag dump that only counts messages) on populations shaped like busy hosts, at several
//! sizes, so that the cost per socket can be seen to stay flat.
//!
//! For each population — (a) all established, (b) mostly TIME_WAIT, (c) a mix with full accept
//! queues and SYN_RECV entries; see `load/population.rs` — and each size, the benchmark builds it
//! in a private network namespace, checks it with `ss`, then runs every command RUNS times,
//! alternating (one of each per run), and prints the medians: wall, CPU (wait4's rusage) and
//! peak RSS (GNU time), with ratios against `ss -tan`, the floor, and for two rows the `ss`
//! command they replace. Then, per population, the wall time per socket at every size, and where
//! sockscope's time went (`collection.source_micros` of a JSON report).
//!
//! Knobs: SOCKSCOPE_BENCH_POPULATIONS (default `a,b,c`), SOCKSCOPE_BENCH_SIZES (default
//! `10000,50000,100000,200000`), SOCKSCOPE_BENCH_RUNS (default 5).
//!
//! Needs root: without it (or with a knob it cannot read) it prints one line on stderr and
//! exits with status 2, having measured nothing. Interrupted (SIGINT, SIGTERM), it deletes its
//! namespace, kills its holder processes and exits with status 130.
//!
//! Run: `cargo bench --bench busy_host` (the release build of sockscope is used).

mod load;

use std::time::Instant;

use load::diag;
use load::measure::{Invocation, Measure, measure};
use load::population::{Kind, Population, serve_holder_if_asked};
use load::{build_release, in_netns, median};

/// Set in the child that runs the floor's dump.
const FLOOR_ENV: &str = "SOCKSCOPE_BENCH_FLOOR";
const DEFAULT_SIZES: [usize; 4] = [10_000, 50_000, 100_000, 200_000];
const DEFAULT_RUNS: usize = 5;

fn main() {
    serve_holder_if_asked();
    if std::env::var_os(FLOOR_ENV).is_some() {
        floor();
    }
    if !rustix::process::geteuid().is_root() {
        eprintln!("busy_host: not run: the benchmark needs root (it builds network namespaces)");
        std::process::exit(2);
    }
    let knobs = Knobs::from_env().unwrap_or_else(|error| {
        eprintln!("busy_host: not run: {error}");
        std::process::exit(2);
    });
    let sockscope = build_release();
    let rows = rows(&sockscope);
    for kind in &knobs.kinds {
        let mut growth = Vec::new();
        for &size in &knobs.sizes {
            let started = Instant::now();
            let population = Population::build(*kind, size);
            let results = measure_rows(&population, &rows, knobs.runs);
            print_table(&population, &rows, &results, knobs.runs);
            print_sources(&population, &sockscope);
            println!("({:.0}s for this population and size)\n", started.elapsed().as_secs_f64());
            growth.push(results);
            drop(population);
        }
        print_growth(*kind, &rows, &growth);
    }
}

/// The floor, in its own process: counts every TCP socket's message and prints the count.
fn floor() -> ! {
    match diag::count_tcp(diag::ALL_STATES) {
        Ok(count) => {
            println!("{count}");
            std::process::exit(0);
        }
        Err(error) => {
            eprintln!("busy_host floor: sock_diag dump failed: {error}");
            std::process::exit(1);
        }
    }
}

/// What to run, from the environment.
struct Knobs {
    kinds: Vec<Kind>,
    sizes: Vec<usize>,
    runs: usize,
}

impl Knobs {
    fn from_env() -> Result<Knobs, String> {
        let kinds = match std::env::var("SOCKSCOPE_BENCH_POPULATIONS") {
            Ok(list) => list
                .split(',')
                .map(|letter| {
                    Kind::parse(letter).ok_or(format!("SOCKSCOPE_BENCH_POPULATIONS: {letter:?} is not a, b or c"))
                })
                .collect::<Result<_, _>>()?,
            Err(_) => vec![Kind::Established, Kind::TimeWait, Kind::Mix],
        };
        let number = |text: &str, name: &str| {
            text.trim()
                .parse::<usize>()
                .ok()
                .filter(|&value| value > 0)
                .ok_or(format!("{name}: {text:?} is not a positive number"))
        };
        let sizes = match std::env::var("SOCKSCOPE_BENCH_SIZES") {
            Ok(list) => list.split(',').map(|size| number(size, "SOCKSCOPE_BENCH_SIZES")).collect::<Result<_, _>>()?,
            Err(_) => DEFAULT_SIZES.to_vec(),
        };
        let runs = match std::env::var("SOCKSCOPE_BENCH_RUNS") {
            Ok(runs) => number(&runs, "SOCKSCOPE_BENCH_RUNS")?,
            Err(_) => DEFAULT_RUNS,
        };
        Ok(Knobs { kinds, sizes, runs })
    }
}

/// Which `ss` command a row is also compared with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Against {
    Nothing,
    SsTanp,
    SsLtn,
}

/// One line of the table: a command, or `None` where it cannot run (a flag this sockscope
/// does not have).
struct Row {
    name: &'static str,
    invocation: Option<Invocation>,
    against: Against,
}

const FLOOR: usize = 0;
const SS_TAN: usize = 1;
const SS_LTN: usize = 3;
const SS_TANP: usize = 4;

fn rows(sockscope: &str) -> Vec<Row> {
    let exe = std::env::current_exe().expect("current_exe").display().to_string();
    let mut floor = Invocation::new(&[&exe]);
    floor.env.push((FLOOR_ENV.into(), "1".into()));
    floor.keep_stdout = true;
    let report = |args: &[&str]| Invocation::new(&[&[sockscope, "report"], args].concat());
    let knows_listeners = std::process::Command::new(sockscope)
        .args(["report", "--help"])
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("--listeners"));
    let row = |name, invocation, against| Row { name, invocation: Some(invocation), against };
    vec![
        row("floor: sock_diag dump, messages counted", floor, Against::Nothing),
        row("ss -tan", Invocation::new(&["ss", "-tan"]), Against::Nothing),
        row("ss -tani", Invocation::new(&["ss", "-tani"]), Against::Nothing),
        row("ss -ltn", Invocation::new(&["ss", "-ltn"]), Against::Nothing),
        row("ss -tanp", Invocation::new(&["ss", "-tanp"]), Against::Nothing),
        row("report --format json --no-processes", report(&["--format", "json", "--no-processes"]), Against::Nothing),
        row("report --format json (owners)", report(&["--format", "json"]), Against::SsTanp),
        row("report --no-processes (text)", report(&["--no-processes"]), Against::Nothing),
        Row {
            name: "report --format json --no-processes --listeners",
            invocation: knows_listeners.then(|| report(&["--format", "json", "--no-processes", "--listeners"])),
            against: Against::SsLtn,
        },
    ]
}

/// The measures of every row (empty for a row that cannot run) and the floor's socket count.
struct Results {
    measures: Vec<Vec<Measure>>,
    sockets: f64,
    topped_up: usize,
}

/// Runs every row `runs` times, alternating, topping TIME_WAIT up before each command.
fn measure_rows(population: &Population, rows: &[Row], runs: usize) -> Results {
    let mut measures = vec![Vec::new(); rows.len()];
    let mut topped_up = 0;
    for _ in 0..runs {
        for (index, row) in rows.iter().enumerate() {
            let Some(invocation) = row.invocation.clone() else { continue };
            topped_up += population.top_up();
            // Spawned from a thread inside the namespace: no `ip netns exec` in the measure.
            measures[index].push(in_netns(population.netns(), move || measure(&invocation)));
        }
    }
    let counts: Vec<f64> = measures[FLOOR]
        .iter()
        .map(|m| m.stdout.as_deref().and_then(|text| text.trim().parse().ok()).expect("the floor's count"))
        .collect();
    Results { measures, sockets: median(counts), topped_up }
}

fn wall(measures: &[Measure]) -> f64 {
    median(measures.iter().map(|m| m.wall.as_secs_f64()).collect())
}

fn print_table(population: &Population, rows: &[Row], results: &Results, runs: usize) {
    let walls: Vec<Option<f64>> =
        results.measures.iter().map(|measures| (!measures.is_empty()).then(|| wall(measures))).collect();
    let reference = |index: usize| walls[index].unwrap_or(f64::NAN);
    println!(
        "\npopulation {}, {} sockets planned; the floor counted {:.0} sockets (median); {} TIME_WAIT made again as they expired",
        population.kind.describe(),
        population.total(),
        results.sockets,
        results.topped_up
    );
    println!(
        "{:<50} {:>9} {:>9} {:>9} {:>8} {:>8} {:>13}",
        "command", "wall ms", "cpu ms", "peak MiB", "/ss -tan", "/floor", "/ss it replaces"
    );
    for (index, (row, measures)) in rows.iter().zip(&results.measures).enumerate() {
        let Some(wall) = walls[index] else {
            println!("{:<50} {:>9}", row.name, "n/a");
            continue;
        };
        let cpu = median(measures.iter().map(|m| m.cpu.as_secs_f64()).collect());
        let rss = median(measures.iter().map(|m| m.max_rss_kib as f64).collect()) / 1024.0;
        let against = match row.against {
            Against::Nothing => String::new(),
            Against::SsTanp => format!("{:.3}x ss -tanp", wall / reference(SS_TANP)),
            Against::SsLtn => format!("{:.3}x ss -ltn", wall / reference(SS_LTN)),
        };
        println!(
            "{:<50} {:>9.1} {:>9.1} {:>9.1} {:>7.2}x {:>7.2}x {:>13}",
            row.name,
            wall * 1e3,
            cpu * 1e3,
            rss,
            wall / reference(SS_TAN),
            wall / reference(FLOOR),
            against
        );
    }
    println!("medians of {runs} runs, alternating (one of each command per run), same namespace");
}

/// Where sockscope's time went: `collection.source_micros` of one more JSON report.
fn print_sources(population: &Population, sockscope: &str) {
    let mut invocation = Invocation::new(&[sockscope, "report", "--format", "json", "--no-processes"]);
    invocation.keep_stdout = true;
    population.top_up();
    let output = in_netns(population.netns(), move || measure(&invocation)).stdout.unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(&output).expect("the JSON report parses");
    let Some(sources) = report.pointer("/collection/source_micros").and_then(|v| v.as_object()) else {
        println!("collection.source_micros: absent from the report");
        return;
    };
    let mut sources: Vec<(&String, u64)> =
        sources.iter().map(|(name, micros)| (name, micros.as_u64().unwrap_or(0))).collect();
    sources.sort_by_key(|(_, micros)| std::cmp::Reverse(*micros));
    let text: Vec<String> =
        sources.iter().map(|(name, micros)| format!("{name} {:.1} ms", *micros as f64 / 1e3)).collect();
    println!("collection.source_micros of the last JSON report: {}", text.join(", "));
}

/// Wall time per socket of every command at every size of one population.
fn print_growth(kind: Kind, rows: &[Row], growth: &[Results]) {
    println!("\ngrowth, population {}: wall µs per socket (the floor's count)", kind.describe());
    let sizes: Vec<String> = growth.iter().map(|results| format!("{:.0}", results.sockets)).collect();
    println!("{:<50} {}  {:>9}", "command", sizes.iter().map(|s| format!("{s:>9}")).collect::<String>(), "last/first");
    for (index, row) in rows.iter().enumerate() {
        let per_socket: Vec<Option<f64>> = growth
            .iter()
            .map(|results| {
                let measures = &results.measures[index];
                (!measures.is_empty()).then(|| wall(measures) * 1e6 / results.sockets)
            })
            .collect();
        let cells: String = per_socket
            .iter()
            .map(|cell| cell.map_or(format!("{:>9}", "n/a"), |value| format!("{value:>9.3}")))
            .collect();
        let trend = match (per_socket.first().copied().flatten(), per_socket.last().copied().flatten()) {
            (Some(first), Some(last)) if per_socket.len() > 1 => format!("{:>8.2}x", last / first),
            _ => format!("{:>9}", "-"),
        };
        println!("{:<50} {cells}  {trend}", row.name);
    }
    println!("linear cost keeps µs per socket flat across a row (last/first near 1)\n");
}
