//! Records samples of the current network namespace as a JSON array, for the dashboard's
//! snapshot tests and screenshots: `capture_samples OUT.json COUNT` takes COUNT samples one
//! second apart, with every socket kept in the last one (as the Connections view asks; the
//! earlier ones drop them to keep the file small). Run it inside the namespace of
//! `tests/fixtures/samples/incident.py`.

use sockscope::collect::Collector;
use sockscope::sample::CollectPlan;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(count)) = (args.next(), args.next().and_then(|n| n.parse::<usize>().ok())) else {
        eprintln!("usage: capture_samples OUT.json COUNT");
        std::process::exit(2);
    };
    let mut collector = Collector::new(CollectPlan { connections: true, ..CollectPlan::default() });
    let mut samples = Vec::new();
    for index in 0..count {
        if index > 0 {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        samples.push(collector.collect());
    }
    let last = samples.len().saturating_sub(1);
    for sample in &mut samples[..last] {
        sample.connections = None;
    }
    match serde_json::to_string(&samples).map(|json| std::fs::write(&path, json)) {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            eprintln!("capture_samples: {path}: {error}");
            std::process::exit(1);
        }
        Err(error) => {
            eprintln!("capture_samples: {error}");
            std::process::exit(1);
        }
    }
}
