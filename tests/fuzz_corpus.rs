//! Replays every saved fuzz corpus (`fuzz/corpus/<target>/`) through the same
//! code the fuzz targets run (`fuzz/harness.rs`), so `cargo test` keeps them as
//! regression tests without libFuzzer. A missing or empty corpus fails: a
//! renamed directory must not quietly test nothing.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join("corpus").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()));
    let mut files: Vec<_> = entries.map(|e| e.expect("readable corpus entry").path()).filter(|p| p.is_file()).collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    for path in &files {
        let data = std::fs::read(path).expect("readable corpus file");
        if let Err(panic) = std::panic::catch_unwind(|| run(&data)) {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!("{target}: {} panics: {msg}", path.display());
        }
    }
    eprintln!("{target}: {} corpus files replayed", files.len());
}

#[test]
fn rules_files_corpus() {
    replay("rules_files", harness::rules_files);
}

#[test]
fn json_body_corpus() {
    replay("json_body", harness::json_body);
}

#[test]
fn parsers_corpus() {
    replay("parsers", harness::parsers);
}

#[test]
fn purchase_body_corpus() {
    replay("purchase_body", harness::purchase_body);
}
