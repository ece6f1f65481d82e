//! Crash test for `SledStore`: whatever `sync` acknowledged survives SIGKILL.
//!
//! The parent test re-executes this very test binary, running only
//! `child_writer`, with `CASHDESK_CRASH_DIR` naming the store directory. The
//! child changes cards from a few threads with `transact` (which reads the
//! card through the commit leader's handle and is durable on return) and
//! prints `ack <writer> <seq>` once the call returns. The parent kills it with SIGKILL at a random
//! moment, reopens the store and checks that every acknowledged write is
//! there, that each card agrees with its history and its lots (each batch
//! writes all three with one sequence, so a half-applied batch would show as
//! a disagreement), and that the store opens cleanly. Rounds reuse one directory, so each child
//! also recovers from the previous crash.
#![cfg(unix)]

use cashdesk_card::domain::{Amount, BonusType, CardType, Category, Status};
use cashdesk_card::store::{Batch, CardRecord, HistoryEntry, Lot, SledStore, Store, StoreRead};
use rand::Rng;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DIR_ENV: &str = "CASHDESK_CRASH_DIR";
/// Microseconds the child's store sleeps after each write of a commit.
const PAUSE_ENV: &str = "CASHDESK_CRASH_PAUSE_US";
const WRITERS: u64 = 4;
const ROUNDS: usize = 30;

fn number(writer: u64) -> String {
    format!("77000{writer}")
}

fn card(number: &str, history_len: u64) -> CardRecord {
    CardRecord {
        number: number.to_string(),
        status: Status::Active,
        category: Category::Plastic,
        card_type: CardType::Bonus,
        contact: None,
        block: None,
        history_len,
    }
}

fn entry(seq: u64) -> HistoryEntry {
    HistoryEntry {
        time: "2024-05-01T10:00:00Z".into(),
        user: "crash".into(),
        role: "cashier".into(),
        method: "ChangeStatus".into(),
        from: Some(Status::Issued),
        to: Some(Status::Active),
        reason: seq.to_string(),
    }
}

/// The lots a card has after the batch that wrote history entry `seq`: one
/// lot whose amount is `seq + 1`, the card's `history_len` after that batch.
fn lots(seq: u64) -> Vec<Lot> {
    vec![Lot {
        amount: Amount::parse(&(seq + 1).to_string()).expect("amount"),
        bonus_type: BonusType::Monetary,
        active_from: chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
        expire: None,
        frozen: false,
        receipt: None,
    }]
}

/// The child: does nothing unless the parent set `CASHDESK_CRASH_DIR`.
#[test]
fn child_writer() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let store = SledStore::open(Path::new(&dir)).expect("child: open store");
    if let Some(us) = std::env::var(PAUSE_ENV).ok().and_then(|v| v.parse().ok()) {
        store.pause_between_writes_for_crash_tests(Duration::from_micros(us));
    }
    let store = &store;
    println!("ready");
    std::io::stdout().flush().expect("child: flush stdout");
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            s.spawn(move || {
                let number = number(w);
                let batch = |seq: u64| {
                    let mut b = Batch::default();
                    b.push_history(&number, entry(seq));
                    b.put_lots(&number, lots(seq));
                    b.put_card(card(&number, seq + 1));
                    b
                };
                let mut seq = 0;
                loop {
                    store
                        .transact(&mut |r| {
                            seq = r.card(&number)?.map_or(0, |c| c.history_len);
                            Ok(Some(batch(seq)))
                        })
                        .expect("child: transact");
                    // One locked write per line, so lines from writers never mix.
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {w} {seq}").expect("child: write ack");
                    out.flush().expect("child: flush ack");
                    seq += 1;
                }
            });
        }
    });
}

/// Highest acknowledged sequence per writer, over all rounds.
type Acked = BTreeMap<u64, u64>;

fn run_round(dir: &Path, round: usize, rng: &mut impl Rng, acked: &mut Acked) -> usize {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(DIR_ENV, dir)
        // Every other round, commits crawl, so the kill usually lands inside
        // a half-applied group: the round then checks the replay of its
        // intent (without replay, such rounds find half batches).
        .env(PAUSE_ENV, if round % 2 == 1 { "300" } else { "0" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut stderr = child.stderr.take().expect("child stderr");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        // Only whole lines count: a line cut short by the kill was never
        // fully acknowledged.
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        while matches!(stdout.read_line(&mut line), Ok(n) if n > 0) {
            if let Some(whole) = line.strip_suffix('\n') {
                if tx.send(whole.to_string()).is_err() {
                    break;
                }
            }
            line.clear();
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    // Most rounds kill while writes are flowing; every fifth round kills at
    // a random moment from spawn (a debug child takes ~100 ms to open the
    // store), so the kill may fall inside sled's recovery or its first writes.
    let early = round % 5 == 4;
    let mut lines = Vec::new();
    if early {
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..=150)));
    } else {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                // The harness prints "test child_writer ... " on the same line.
                Ok(line) if line.ends_with("ready") => break,
                Ok(line) => lines.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "round {round}: child never became ready; stderr:\n{}",
                        err_reader.join().unwrap_or_default()
                    );
                }
            }
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..=200)));
    }
    // `Child::kill` is SIGKILL on Unix: no destructors, no final flush.
    child.kill().expect("kill child");
    let status = child.wait().expect("wait child");
    reader.join().expect("stdout reader");
    lines.extend(rx.try_iter());
    let stderr = err_reader.join().unwrap_or_default();
    assert_eq!(status.signal(), Some(9), "round {round}: child ended by itself ({status}); stderr:\n{stderr}");

    let mut acks = 0;
    for line in lines {
        let Some(rest) = line.strip_prefix("ack ") else {
            continue; // test harness chatter
        };
        let mut parts = rest.split(' ').map(|p| p.parse::<u64>().expect("ack line"));
        let (w, seq) = (parts.next().unwrap(), parts.next().unwrap());
        let max = acked.entry(w).or_insert(seq);
        *max = (*max).max(seq);
        acks += 1;
    }
    acks
}

fn verify(dir: &Path, round: usize, acked: &Acked) {
    let store = SledStore::open(dir).unwrap_or_else(|e| panic!("round {round}: store does not reopen: {e}"));
    for w in 0..WRITERS {
        let number = number(w);
        let history = store.history(&number).unwrap_or_else(|e| panic!("round {round}: history of {number}: {e}"));
        let card = store.card(&number).unwrap_or_else(|e| panic!("round {round}: card {number}: {e}"));
        let history_len = card.as_ref().map_or(0, |c| c.history_len);
        let stored_lots = store.lots(&number).unwrap_or_else(|e| panic!("round {round}: lots of {number}: {e}"));
        // Card, history entry and lots were one batch: they must agree.
        let expected_lots = match history_len {
            0 => Vec::new(),
            len => lots(len - 1),
        };
        assert_eq!(
            stored_lots, expected_lots,
            "round {round}: card {number} says {history_len} entries, its lots disagree (half a batch)"
        );
        assert_eq!(
            history.len() as u64,
            history_len,
            "round {round}: card {number} says {history_len} entries, history has {}",
            history.len()
        );
        for (i, e) in history.iter().enumerate() {
            assert_eq!(e, &entry(i as u64), "round {round}: {number} entry {i}");
        }
        if let Some(&max) = acked.get(&w) {
            assert!(
                history_len > max,
                "round {round}: writer {w} acknowledged seq {max} but only {history_len} entries survived"
            );
        }
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if std::env::var_os(DIR_ENV).is_some() {
        return; // we are the child
    }
    let started = Instant::now();
    // Kept when a round fails (a panic skips the removal below), so that a
    // store sled will not reopen can be looked at afterwards.
    let dir = tempfile::tempdir().expect("temp dir").keep();
    eprintln!("store under {}; kept if the test fails", dir.display());
    let mut rng = rand::thread_rng();
    let mut acked = Acked::new();
    let mut total = 0;
    let mut rounds_with_acks = 0;
    for round in 0..ROUNDS {
        let acks = run_round(&dir, round, &mut rng, &mut acked);
        total += acks;
        rounds_with_acks += usize::from(acks > 0);
        verify(&dir, round, &acked);
    }
    eprintln!(
        "{ROUNDS} rounds, {rounds_with_acks} with acknowledged writes, {total} acks in all, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        rounds_with_acks >= ROUNDS / 2,
        "only {rounds_with_acks} of {ROUNDS} rounds saw an acknowledged write: the test proves little"
    );
    std::fs::remove_dir_all(&dir).expect("removing the store");
}
