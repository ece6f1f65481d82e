//! The redo intent: how a group's writes become all-or-nothing across a
//! crash with nothing but single-key inserts.
//!
//! A group's writes are decided completely before anything is written (each
//! an [`Op`]: a key's full new value, or its removal), encoded as one value
//! and inserted under the one fixed [`INTENT_KEY`] (overwriting the previous
//! group's), and only then applied key by key. Opening the store replays the
//! intent it finds. Because sled recovers a prefix of its log and groups are
//! written one at a time, the intent a crash leaves is the last group's, and
//! replaying it completes that group; replaying a complete one is harmless,
//! since ops are full values decided on exactly the state replay runs on.
//! The whole argument is in docs/storage.md.
//!
//! Encoding:
//! ```text
//! version: u8 (= 1), count: u32 BE,
//! count × { tree: u8, key_len: u32 BE, key, tag: u8 (0 remove, 1 put), [value_len: u32 BE, value] }
//! ```

use super::layout::{TreeId, INTENTS_TREE};
use crate::store::StoreError;

/// One write of a group: the full new value of a key, or its removal.
/// Applying it twice is the same as once, which makes replay safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub tree: TreeId,
    pub key: Vec<u8>,
    /// `None` removes the key.
    pub value: Option<Vec<u8>>,
}

impl Op {
    pub fn put(tree: TreeId, key: impl Into<Vec<u8>>, value: Vec<u8>) -> Op {
        Op { tree, key: key.into(), value: Some(value) }
    }

    pub fn remove(tree: TreeId, key: impl Into<Vec<u8>>) -> Op {
        Op { tree, key: key.into(), value: None }
    }
}

/// The one key every intent is written under.
pub const INTENT_KEY: [u8; 8] = u64::MAX.to_be_bytes();

const VERSION: u8 = 1;

fn len32(len: usize) -> Result<[u8; 4], StoreError> {
    u32::try_from(len)
        .map(u32::to_be_bytes)
        .map_err(|_| StoreError::engine("encoding a commit", std::io::Error::other("a key or value over 4 GiB")))
}

pub fn encode(ops: &[Op]) -> Result<Vec<u8>, StoreError> {
    let size = 5 + ops.iter().map(|op| 10 + op.key.len() + op.value.as_ref().map_or(0, Vec::len)).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.push(VERSION);
    out.extend_from_slice(&len32(ops.len())?);
    for op in ops {
        out.push(op.tree as u8);
        out.extend_from_slice(&len32(op.key.len())?);
        out.extend_from_slice(&op.key);
        match &op.value {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                out.extend_from_slice(&len32(value.len())?);
                out.extend_from_slice(value);
            }
        }
    }
    Ok(out)
}

/// Reads an encoded intent front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn len32(&mut self) -> Option<usize> {
        let b = self.take(4)?;
        usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok()
    }
    fn chunk(&mut self) -> Option<Vec<u8>> {
        let n = self.len32()?;
        self.take(n).map(<[u8]>::to_vec)
    }
}

/// Decodes [`encode`]'s output; anything malformed is `Corrupt`.
pub fn decode(bytes: &[u8]) -> Result<Vec<Op>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { key: format!("{INTENTS_TREE}/last"), reason };
    let truncated = || corrupt(String::from("intent is truncated"));
    let mut r = Reader(bytes);
    match r.byte() {
        Some(VERSION) => {}
        Some(v) => return Err(corrupt(format!("unknown intent version {v}"))),
        None => return Err(truncated()),
    }
    let count = r.len32().ok_or_else(truncated)?;
    // Each op takes at least 6 bytes: do not trust `count` for the allocation.
    let mut ops = Vec::with_capacity(count.min(bytes.len() / 6));
    for _ in 0..count {
        let code = r.byte().ok_or_else(truncated)?;
        let tree = TreeId::from_code(code).ok_or_else(|| corrupt(format!("unknown tree code {code}")))?;
        let key = r.chunk().ok_or_else(truncated)?;
        let value = match r.byte().ok_or_else(truncated)? {
            0 => None,
            1 => Some(r.chunk().ok_or_else(truncated)?),
            tag => return Err(corrupt(format!("unknown op tag {tag}"))),
        };
        ops.push(Op { tree, key, value });
    }
    if !r.0.is_empty() {
        return Err(corrupt(format!("{} bytes after the last op", r.0.len())));
    }
    Ok(ops)
}

/// Re-applies the intent left by the last group, if any, then removes it
/// and flushes: what a crash cut short is complete before anyone reads.
/// Returns whether there was one.
pub fn replay(trees: &super::trees::Trees) -> Result<bool, StoreError> {
    let Some(bytes) = trees.intents.get(INTENT_KEY).map_err(|e| trees.error(e, "reading the last commit"))? else {
        return Ok(false);
    };
    let ops = decode(&bytes)?;
    trees.apply(&ops, std::time::Duration::ZERO)?;
    trees.intents.remove(INTENT_KEY).map_err(|e| trees.error(e, "completing the last commit"))?;
    trees.flush()?;
    tracing::info!(writes = ops.len(), "re-applied the last commit group's intent");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_round_trip_and_garbage_is_corrupt_not_a_panic() {
        let ops = vec![
            Op::put(TreeId::Cards, b"123".to_vec(), vec![1, 2, 3]),
            Op::remove(TreeId::Phones, b"+7".to_vec()),
            Op::put(TreeId::History, vec![0; 17], Vec::new()),
        ];
        let bytes = encode(&ops).unwrap();
        assert_eq!(decode(&bytes).unwrap(), ops);
        for cut in 0..bytes.len() {
            assert!(matches!(decode(&bytes[..cut]), Err(StoreError::Corrupt { .. })), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
        let mut bad_tree = bytes;
        bad_tree[5] = 99;
        assert!(decode(&bad_tree).is_err());
    }
}
