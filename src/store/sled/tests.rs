//! What only the sled engine has: reopening, the redo intent's replay, the
//! history layout, damaged bytes. (The behaviours every engine shares are in
//! src/store/conformance.rs.)

use super::codec::CARD_TAG;
use super::intent::{self, Op, INTENT_KEY};
use super::layout::{history_prefix, TreeId};
use super::stage::stage_batch;
use super::*;
use crate::store::conformance::{append, card, contact, entry, lot};
use crate::store::{put, Batch, ContactWrite};

fn opened(store: &SledStore) -> Arc<Opened> {
    store.instance().expect("open")
}

/// The ops that would commit `batch` now.
fn plan(store: &SledStore, batch: &Batch) -> Vec<Op> {
    let o = opened(store);
    let mut staged = Staged::default();
    stage_batch(&o.trees, &mut staged, batch, &Default::default()).unwrap();
    staged.take().ops
}

/// Leaves `intent` in the closed store at `dir`, as a crash would have
/// (a clean shutdown removes the last intent).
fn leave_intent(dir: &std::path::Path, intent: &[u8]) {
    let db = sled::Config::new().path(dir).open().unwrap();
    db.open_tree("intents").unwrap().insert(INTENT_KEY, intent).unwrap();
    db.flush().unwrap();
}

fn contact_batch(code: &str, mobile: &str, old: Option<&str>) -> Batch {
    let mut b = Batch::default();
    b.put_contact(ContactWrite { record: contact(code, Some(mobile)), old_mobile: old.map(Into::into) });
    b
}

fn bound_card_batch() -> Batch {
    let mut b = contact_batch("C1", "+72222222222", Some("+71111111111"));
    b.put_contact_cards("C1", vec!["10".into()]);
    b.put_lots("10", vec![lot("12.30", Some("R-1"))]);
    b.push_history("10", entry("a"));
    b.push_history("10", entry("b"));
    b.put_card(card("10", Some("C1"), 2));
    b
}

#[test]
fn a_reopened_store_keeps_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, bound_card_batch()).unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.card("10").unwrap(), Some(card("10", Some("C1"), 2)));
    assert_eq!(store.history("10").unwrap(), [entry("a"), entry("b")]);
    assert_eq!(store.lots("10").unwrap(), [lot("12.30", Some("R-1"))]);
}

#[test]
fn an_intent_without_its_ops_is_completed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let ops = {
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, contact_batch("C1", "+71111111111", None)).unwrap();
        plan(&store, &bound_card_batch())
    };
    // A crash right after the intent: none of its ops applied.
    leave_intent(dir.path(), &intent::encode(&ops).unwrap());
    let store = SledStore::open(dir.path()).unwrap();
    assert!(opened(&store).trees.intents.is_empty(), "a replayed intent is removed");
    assert_eq!(store.card("10").unwrap(), Some(card("10", Some("C1"), 2)));
    assert_eq!(store.history("10").unwrap(), [entry("a"), entry("b")]);
    assert_eq!(store.contact_cards("C1").unwrap(), ["10"]);
    // The phone index decision made when the group was staged replays too.
    assert_eq!(store.contact_by_mobile("+71111111111").unwrap(), None);
    assert_eq!(store.contact_by_mobile("+72222222222").unwrap().map(|c| c.code), Some("C1".into()));
    // A new group leaves its intent under the one key until overwritten.
    append(&store, "10", "c");
    assert_eq!(opened(&store).trees.intents.len(), 1);
}

#[test]
fn an_intent_left_after_its_ops_replays_harmlessly() {
    let dir = tempfile::tempdir().unwrap();
    let ops = {
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, contact_batch("C1", "+71111111111", None)).unwrap();
        let ops = plan(&store, &bound_card_batch());
        opened(&store).trees.apply(&ops, Duration::ZERO).unwrap();
        ops
    };
    // A crash after every op, before the next group overwrote the intent.
    leave_intent(dir.path(), &intent::encode(&ops).unwrap());
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.history("10").unwrap(), [entry("a"), entry("b")]);
    assert_eq!(store.contact_by_mobile("+72222222222").unwrap().map(|c| c.code), Some("C1".into()));
    assert_eq!(opened(&store).trees.tree(TreeId::Phones).len(), 1);
}

#[test]
fn a_clean_shutdown_leaves_no_intent_behind() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        append(&store, "40", "x");
        assert_eq!(opened(&store).trees.intents.len(), 1);
    }
    let db = sled::Config::new().path(dir.path()).open().unwrap();
    assert!(db.open_tree("intents").unwrap().is_empty());
    assert!(db.open_tree("cards").unwrap().get("40").unwrap().is_some());
}

#[test]
fn a_corrupt_intent_stops_open_with_a_named_key() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledStore::open(dir.path()).unwrap());
    leave_intent(dir.path(), &[1, 0, 0, 0, 1, 99]);
    match SledStore::open(dir.path()) {
        Err(StoreError::Corrupt { key, reason }) => {
            assert_eq!(key, "intents/last");
            assert!(reason.contains("tree code 99"), "{reason}");
        }
        Err(e) => panic!("expected Corrupt, got {e}"),
        Ok(_) => panic!("expected Corrupt, the store opened"),
    }
}

#[test]
fn the_newest_entries_ride_in_the_card_and_older_ones_move_out_in_chunks() {
    let store = SledStore::temporary().unwrap();
    for i in 0..50 {
        append(&store, "123456", &format!("e{i}"));
    }
    let o = opened(&store);
    let chunks: Vec<u64> = o
        .trees
        .tree(TreeId::History)
        .scan_prefix(history_prefix("123456"))
        .map(|kv| super::layout::history_seq(&history_prefix("123456"), &kv.unwrap().0).unwrap())
        .collect();
    assert_eq!(chunks, [0, 8, 16, 24, 32, 40]);
    let value = o.trees.tree(TreeId::Cards).get("123456").unwrap().unwrap();
    let stored = super::codec::StoredCard::parse("123456", &value).unwrap();
    assert_eq!((stored.tail_start, stored.tail.len()), (48, 2));
}

#[test]
fn a_reader_sees_the_history_whole_while_a_writer_appends() {
    let store = SledStore::temporary().unwrap();
    append(&store, "5", "e0");
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 1..400 {
                append(&store, "5", &format!("e{i}"));
            }
            done.store(true, Ordering::SeqCst);
        });
        let mut last = 0;
        while !done.load(Ordering::SeqCst) {
            let h = store.history("5").unwrap();
            assert!(h.len() >= last, "the history shrank");
            for (i, e) in h.iter().enumerate() {
                assert_eq!(e.reason, format!("e{i}"), "entry {i} of {}", h.len());
            }
            last = h.len();
        }
    });
    assert_eq!(store.history("5").unwrap().len(), 400);
}

#[test]
fn damaged_values_are_corrupt_not_a_panic() {
    let store = SledStore::temporary().unwrap();
    let o = opened(&store);
    let cards = o.trees.tree(TreeId::Cards);
    for (i, bad) in [&[][..], &[9, 9][..], &[CARD_TAG, 1][..], &[CARD_TAG, 1, 0, 0, 0, 7][..]].iter().enumerate() {
        let number = format!("90{i}");
        cards.insert(number.as_bytes(), *bad).unwrap();
        assert!(matches!(store.card(&number), Err(StoreError::Corrupt { .. })), "{bad:?}");
        assert!(matches!(store.history(&number), Err(StoreError::Corrupt { .. })), "{bad:?}");
        assert!(matches!(store.lots(&number), Err(StoreError::Corrupt { .. })), "{bad:?}");
    }
    o.trees.tree(TreeId::Contacts).insert("C1", &[1, 200][..]).unwrap();
    assert!(matches!(store.contact("C1"), Err(StoreError::Corrupt { .. })));
    o.trees.tree(TreeId::Phones).insert("+79000000000", &b"nobody"[..]).unwrap();
    assert!(matches!(store.contact_by_mobile("+79000000000"), Err(StoreError::Corrupt { .. })));
    append(&store, "123456", "the store goes on");
}

#[test]
fn a_failed_group_makes_the_store_reopen_and_replay_on_the_next_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    append(&store, "10", "before");
    // A group whose ops cannot be staged fails alone; the store goes on.
    let r = store.transact(&mut |_| {
        let mut b = Batch::default();
        b.put_lots("missing", vec![lot("1", None)]);
        Ok(Some(b))
    });
    assert!(r.is_err());
    append(&store, "10", "after");
    // A write that fails half way breaks the instance: the next change
    // reopens the directory and goes on.
    let first = opened(&store);
    first.commits().submit(&Failing, &mut |_: &mut Staged| {}).unwrap_err();
    assert!(first.commits().needs_recovery());
    drop(first);
    append(&store, "10", "reopened");
    assert_eq!(
        store.history("10").unwrap().iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(),
        ["before", "after", "reopened"]
    );
}

/// An engine whose every write fails, to break a group on purpose.
struct Failing;

impl Engine for Failing {
    type Group = Staged;
    fn begin(&self) -> Staged {
        Staged::default()
    }
    fn is_full(&self, _: &Staged) -> bool {
        false
    }
    fn write(&self, _: &mut Staged) -> Result<(), StoreError> {
        Err(StoreError::engine("writing", std::io::Error::other("injected")))
    }
}
