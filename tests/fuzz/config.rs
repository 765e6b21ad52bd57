//! The configuration parser on mutated copies of README's examples and on random TOML-ish
//! text: it answers with a configuration or with one line naming the file, never a panic.

use std::path::Path;

use sockscope::config::Config;

use super::harness::{Rng, cases, mutate_text_n, run};

/// The TOML blocks of README.md.
fn examples() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let blocks: Vec<String> = readme
        .split("```toml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block.to_string()))
        .collect();
    assert!(blocks.len() >= 2, "README's configuration examples");
    blocks
}

/// Pieces of TOML and of this file's keys, values and mistakes.
const TOKENS: [&str; 32] = [
    "[thresholds]",
    "[keys]",
    "[serve]",
    "[[thresholds]]",
    "silence = [",
    "\"accept-queue-full\"",
    "]",
    "accept_queue_fill = ",
    "ports_critical = ",
    "time_wait_buckets = ",
    "tcp_mem_critical = ",
    "quit = [\"q\"]",
    "help = [\"j\"]",
    "down = [\"ctrl+\u{1b}\"]",
    "0.8",
    "nan",
    "inf",
    "-1",
    "1e308",
    "18446744073709551616",
    "9223372036854775807",
    "\"x\"",
    "true",
    "{ a = 1 }",
    "= =",
    "#",
    "\n",
    "\n",
    "\r\n",
    "'''",
    "\"\"\"",
    "\u{0}",
];

fn toml_ish(rng: &mut Rng) -> String {
    (0..rng.below(40)).map(|_| *rng.pick(&TOKENS)).collect()
}

#[test]
fn any_text_gives_a_config_or_one_line_naming_the_file() {
    let examples = examples();
    for example in &examples {
        assert!(Config::parse(example, Path::new("c.toml")).is_ok(), "README's example parses:\n{example}");
    }
    run("config", cases(4000), |rng| {
        let text = if rng.chance(1, 3) {
            toml_ish(rng)
        } else {
            let rounds = 1 + rng.below(5);
            let example = rng.pick(&examples).clone();
            mutate_text_n(rng, &example, rounds)
        };
        if let Err(error) = Config::parse(&text, Path::new("c.toml")) {
            let line = error.to_string();
            assert!(line.starts_with("config c.toml: "), "{line:?}");
            assert!(!line.contains('\n'), "one line: {line:?}");
        }
    });
}
