//! Cost of `--all-netns` on a host with 50 namespaces, against one namespace, in the same run.
//!
//! Builds 50 private network namespaces, each with 8 listeners and 21 held connections (42
//! ESTABLISHED sockets, the expensive case for `tcp_info`), then times, alternating, `sockscope
//! --netns <one> report --format json` and `sockscope --all-netns report --format json` (which
//! also reads the host's namespace: 51 in all), with and without socket owners, and `ss -tan`
//! inside one namespace as the reference. Prints medians and ratios.
//!
//! Needs root: without it the benchmark prints one line on stderr and exits with status 2.
//!
//! Run: `cargo bench --bench netns` (a release build of sockscope is used).

mod load;

use std::process::{Command, Stdio};
use std::time::Instant;

use load::{Load, build_release, in_netns, median};

const NAMESPACES: usize = 50;
const SOCKETS_EACH: usize = 50;
const RUNS: usize = 15;

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("netns: not run: the benchmark needs root (it builds network namespaces)");
        std::process::exit(2);
    }
    let sockscope = build_release();
    let started = Instant::now();
    let loads: Vec<Load> = (0..NAMESPACES).map(|i| Load::new(&format!("sockscope-bench-{i}"), SOCKETS_EACH)).collect();
    let one = loads[0].netns.clone();
    println!(
        "{NAMESPACES} namespaces of {} TCP sockets each (ss -tan in {one}) built in {:.1}s",
        load::socket_count(&one),
        started.elapsed().as_secs_f64()
    );
    let argv = |args: &[&str]| -> Vec<String> {
        std::iter::once(sockscope.clone()).chain(args.iter().map(|a| a.to_string())).collect()
    };
    let commands: Vec<(&str, Vec<String>)> = vec![
        ("ss -tan (one namespace)", vec!["ss".into(), "-tan".into()]),
        (
            "sockscope --netns ONE report --no-processes",
            argv(&["--netns", &one, "report", "--format", "json", "--no-processes"]),
        ),
        (
            "sockscope --all-netns report --no-processes",
            argv(&["--all-netns", "report", "--format", "json", "--no-processes"]),
        ),
        ("sockscope --netns ONE report (owners)", argv(&["--netns", &one, "report", "--format", "json"])),
        ("sockscope --all-netns report (owners)", argv(&["--all-netns", "report", "--format", "json"])),
    ];
    let argvs: Vec<Vec<String>> = commands.iter().map(|(_, argv)| argv.clone()).collect();
    // Run from a thread in the first namespace, so `ss` sees it; sockscope enters by itself.
    let times: Vec<Vec<f64>> = in_netns(&one, move || {
        let mut times = vec![Vec::new(); argvs.len()];
        for _ in 0..RUNS {
            for (index, argv) in argvs.iter().enumerate() {
                times[index].push(wall_ms(argv));
            }
        }
        times
    });
    let medians: Vec<f64> = times.into_iter().map(median).collect();
    println!("\n{:<46} {:>10} {:>12}", "command", "wall ms", "vs ss -tan");
    for ((name, _), ms) in commands.iter().zip(&medians) {
        println!("{name:<46} {ms:>10.1} {:>11.2}x", ms / medians[0]);
    }
    println!(
        "\nall {} namespaces / one namespace: {:.2}x without owners, {:.2}x with owners (target: at most 2x)",
        NAMESPACES + 1,
        medians[2] / medians[1],
        medians[4] / medians[3]
    );
    drop(loads);
}

/// Wall time of one run, in milliseconds; a failing run fails the benchmark.
fn wall_ms(argv: &[String]) -> f64 {
    let started = Instant::now();
    let status = Command::new(&argv[0]).args(&argv[1..]).stdout(Stdio::null()).status().expect("spawn");
    let elapsed = started.elapsed();
    assert!(status.success(), "{argv:?} failed: {status}");
    elapsed.as_secs_f64() * 1000.0
}
