//! The pictures README shows (docs/*.svg) are drawn from the shipped rules by
//! the real binary. A stale picture fails this test, which writes the fresh
//! one in its place: commit it.

use std::path::Path;
use std::process::Command;

fn draw(args: &[&str]) -> String {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut all = vec!["rules", "graph", rules.to_str().expect("utf-8 path"), "--format", "svg"];
    all.extend_from_slice(args);
    let out = Command::new(env!("CARGO_BIN_EXE_cashdesk")).args(&all).output().expect("cashdesk runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("SVG is UTF-8")
}

fn fresh(file: &str, svg: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(file);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != svg {
        std::fs::write(&path, svg).expect("docs/ is writable");
        panic!("docs/{file} was stale and has been redrawn from the shipped rules: commit it");
    }
}

#[test]
fn the_status_machine_picture_is_fresh() {
    let svg = draw(&[]);
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"), "not an SVG document");
    for name in ["0 new", "1 issued", "2 active", "3 blocked", "Заблокирована", "UnBlock [bound, registered]"]
    {
        assert!(svg.contains(name), "`{name}` is not drawn");
    }
    assert_eq!(draw(&[]), svg, "two drawings of one rule set differ");
    fresh("status-machine.svg", &svg);
}

#[test]
fn the_matrices_picture_is_fresh() {
    let svg = draw(&["--matrices"]);
    for name in ["Who may block with which reason", "Who may lift which block", "Замена карты (final)", "cashier"]
    {
        assert!(svg.contains(name), "`{name}` is not drawn");
    }
    assert_eq!(draw(&["--matrices"]), svg, "two drawings of one rule set differ");
    fresh("matrices.svg", &svg);
}

#[test]
fn matrices_without_svg_are_refused() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let out = Command::new(env!("CARGO_BIN_EXE_cashdesk"))
        .args(["rules", "graph", rules.to_str().expect("utf-8"), "--matrices"])
        .output()
        .expect("cashdesk runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format svg"));
}
