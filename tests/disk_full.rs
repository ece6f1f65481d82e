//! The server on a full disk: the data directory on a small tmpfs, filled
//! to the last byte while a desk keeps changing a card. The server answers
//! `InternalError` without detail, logs that the disk is full, loses no
//! acknowledged change, and works again once space is freed — without a
//! restart. Needs root (to mount the tmpfs), as CI runs.
#![cfg(target_os = "linux")]

mod common;

use common::App;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const NUMBER: &str = "8800000099";

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill it and needs root for that (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros to `path` until the file system refuses more.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.write_all(&chunk[..1]);
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
}

/// One Block or UnBlock by the call centre: the reply.
fn toggle(app: &App, blocked: bool) -> common::Reply {
    let (path, field) =
        if blocked { ("/api/card/UnBlock", "UnBlockReasonCode") } else { ("/api/card/Block", "BlockReasonCode") };
    app.post("call_center", path, &serde_json::json!({"Number": NUMBER, field: "0"}))
}

fn toggles(app: &App) -> usize {
    let r = app.get("administrator", &format!("/api/admin/cards/{NUMBER}/history"));
    r.expect_ok();
    r.json["History"].as_array().unwrap().iter().filter(|e| e["Method"] == "Block" || e["Method"] == "UnBlock").count()
}

/// The card's status agrees with its history, and the history holds every
/// acknowledged change (and perhaps some of the refused ones, whose writes
/// may have reached the disk after all).
fn check(app: &App, acked: usize, refused: usize, when: &str) -> usize {
    let found = toggles(app);
    assert!(
        found >= acked && found <= acked + refused,
        "{when}: {found} changes in the history, {acked} acknowledged, {refused} refused"
    );
    assert_eq!(app.status_of(NUMBER), if found % 2 == 1 { "3" } else { "2" }, "{when}: status vs history");
    found
}

#[test]
fn a_full_disk_fails_changes_cleanly_and_the_server_recovers_without_a_restart() {
    let mut app = common::new_app();
    let mnt = app.dir.join("mnt");
    let _fs = Tmpfs::mount(&mnt, "24m");
    app.data = mnt.join("data");
    let log = app.dir.join("server.log");
    app.stderr_file = Some(log.clone());
    app.start();
    app.active_card(NUMBER, "DF1", "+79165550099");

    let filler = mnt.join("filler");
    fill(&filler);
    let (mut acked, mut refused, mut blocked) = (0, 0, false);
    let mut failure = None;
    for _ in 0..5_000 {
        let r = toggle(&app, blocked);
        if r.status == 200 {
            r.expect_ok();
            acked += 1;
            blocked = !blocked;
        } else {
            refused += 1;
            failure = Some(r);
            break;
        }
    }
    let failure = failure.expect("the disk never filled up");
    failure.expect(500, "InternalError");
    assert_eq!(failure.json["Value"], "internal error", "no internal detail reaches the caller");
    // While it stays full, changes keep failing the same way.
    for _ in 0..5 {
        toggle(&app, blocked).expect(500, "InternalError");
        refused += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    eprintln!("{acked} changes acknowledged before the disk was full, {refused} refused while full");
    assert!(text.contains("the disk holding the store is full"), "the log does not say the disk is full:\n{text}");

    std::fs::remove_file(&filler).unwrap();
    let started = Instant::now();
    loop {
        // A refused change may have reached the disk after all: go on from
        // the card's status as it is (reads fail too while the store reopens).
        let balance = app.get("administrator", &format!("/api/card/balance/by/number/{NUMBER}"));
        let r = if balance.status == 200 { toggle(&app, balance.json["StatusCode"] == "3") } else { balance };
        if r.status == 200 {
            r.expect_ok();
            acked += 1;
            break;
        }
        refused += 1;
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not recover after space was freed");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The history may also hold changes that were refused; go on from it.
    let found = check(&app, acked, refused, "after recovery");
    eprintln!("recovered {:.1?} after space was freed; {found} changes in the history", started.elapsed());
    let (mut acked, mut blocked) = (found, found % 2 == 1);
    for _ in 0..10 {
        toggle(&app, blocked).expect_ok();
        acked += 1;
        blocked = !blocked;
    }
    check(&app, acked, 0, "after more changes");
    app.kill9();
    app.start();
    check(&app, acked, 0, "after kill -9 and a restart");
    app.kill9();
}
