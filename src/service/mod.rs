//! The card operations of SPEC.md §5 and §7: parse the input, read the card
//! through the transaction's handle, ask the rules, put state and history in
//! one batch, and answer once it is durable. The only module that combines
//! rules and store.
//!
//! Checks run in SPEC.md's order; the first that fails answers. A refused
//! call changes nothing. Every state change is one [`Store::transact`]
//! whose operation reads only through its handle and has no effect outside
//! the batch it returns, so an engine may run it more than once.
//!
//! - [`parse`]: wire strings into domain values, the checks that need no store;
//! - [`lookup`]: finding cards and contacts through a read handle;
//! - [`lifecycle`]: Issue, Active, BindTo, Block, UnBlock;
//! - [`admin`]: contacts, cards, bonus lots, history;
//! - [`admin_read`]: the administrator's reads and searches;
//! - [`erase`]: erasing a contact's personal data;
//! - [`bulk`]: the admin writes in bulk, for imports;
//! - [`balance`]: a card's balance as of a day;
//! - [`purchase`]: sales at the till, their cancellation and returns (SPEC §8).

mod admin;
mod admin_read;
mod balance;
mod bulk;
mod erase;
mod lifecycle;
mod lookup;
mod migrate;
mod parse;
mod purchase;

pub use admin::{BonusInput, ContactInput};
pub use admin_read::{
    parse_limit, CardDetails, CardSearch, ContactDetails, ContactSearch, LotState, SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
};
pub use balance::{Balance, BonusLine};
pub use bulk::{BadRows, BonusRow, CardRow, ContactRow};
pub use erase::{Erased, ERASED_REASON};
pub use lookup::Lookup;
pub use parse::{invalid_field, parse_card_type, parse_category, parse_code, parse_lot, parse_mobile, parse_number};
pub use purchase::{LineFigures, LineInput, LineReversal, ReturnInput, ReversalAnswer, SaleAnswer, SaleInput};

use crate::domain::Status;
use crate::rules::{Method, RoleId, RuleHandle, RuleSet};
use crate::store::{Batch, CardRecord, HistoryEntry, Store, StoreError, StoreRead};
use crate::ErrorKey;
use chrono::NaiveDate;
use std::sync::Arc;

/// Longest value of a contact field, in characters.
pub const FIELD_CHARS_MAX: usize = 1024;
/// Most custom fields a contact may carry.
pub const CUSTOM_FIELDS_MAX: usize = 64;

/// Who is calling: the rules get the role, the history gets both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: String,
    pub role: String,
}

impl Caller {
    pub fn new(user: impl Into<String>, role: impl Into<String>) -> Caller {
        Caller { user: user.into(), role: role.into() }
    }
}

/// A refused call: one of SPEC's keys and a sentence for `Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub key: ErrorKey,
    pub message: String,
}

impl Failure {
    pub fn new(key: ErrorKey, message: impl Into<String>) -> Failure {
        Failure { key, message: message.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for Failure {}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        tracing::error!(error = %e.chain(), "store failure");
        crate::metrics::store_error();
        Failure::new(ErrorKey::InternalError, "internal error")
    }
}

/// Why an operation inside a transaction stopped: a refusal (the answer;
/// nothing is written) or a store error (handed to the engine, which may
/// run the operation again).
#[derive(Debug)]
pub(crate) enum Abort {
    Refused(Failure),
    Store(StoreError),
}

impl From<Failure> for Abort {
    fn from(f: Failure) -> Abort {
        Abort::Refused(f)
    }
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Abort {
        Abort::Store(e)
    }
}

impl From<Abort> for Failure {
    fn from(a: Abort) -> Failure {
        match a {
            Abort::Refused(f) => f,
            Abort::Store(e) => e.into(),
        }
    }
}

type R<T> = Result<T, Failure>;
/// The result of work inside a transaction.
pub(crate) type Tx<V> = Result<V, Abort>;

/// What a state-changing call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// False when the call was an allowed no-op (already in that state).
    pub changed: bool,
    /// The card's status afterwards.
    pub status: Status,
}

/// The card service. Cheap to share behind an `Arc`.
pub struct CardService {
    store: Arc<dyn Store>,
    rules: Arc<RuleHandle>,
}

impl CardService {
    pub fn new(store: Arc<dyn Store>, rules: Arc<RuleHandle>) -> CardService {
        CardService { store, rules }
    }

    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.current()
    }

    pub fn rule_handle(&self) -> &Arc<RuleHandle> {
        &self.rules
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// "Today" in the rules' time zone.
    pub fn today(&self) -> NaiveDate {
        self.rules.current().zone().today()
    }

    /// May this caller call this method at all? (AccessDenied otherwise.)
    /// The HTTP layer asks before reading a body, so a 403 comes before 413/400.
    pub fn check_access(&self, caller: &Caller, method: Method) -> R<()> {
        access(&self.rules.current(), caller, method).map(|_| ())
    }

    /// Runs one state change: `f` reads through the handle it is given,
    /// puts what it writes in the batch, and returns the answer. The store
    /// isolates it from every other change and may run it more than once;
    /// the last run's batch is written all or nothing (nothing when `f`
    /// refuses), and the answer is given once that, and the state it was
    /// decided on, is durable.
    fn write<V: Send>(&self, mut f: impl FnMut(&dyn StoreRead, &mut Batch) -> Tx<V> + Send) -> R<V> {
        let mut answer: Option<R<V>> = None;
        let stored = self.store.transact(&mut |read| {
            let mut batch = Batch::default();
            answer = None;
            match f(read, &mut batch) {
                Ok(v) => {
                    answer = Some(Ok(v));
                    Ok((!batch.is_empty()).then_some(batch))
                }
                Err(Abort::Refused(refusal)) => {
                    answer = Some(Err(refusal));
                    Ok(None)
                }
                Err(Abort::Store(e)) => Err(e),
            }
        });
        stored?;
        answer.unwrap_or_else(|| Err(Failure::new(ErrorKey::InternalError, "internal error")))
    }

    /// The card as stored (for tests and tools).
    pub fn card(&self, number: &str) -> R<Option<CardRecord>> {
        Ok(self.store.card(number)?)
    }

    /// The bonus lots of a card (for tests and tools).
    pub fn lots(&self, number: &str) -> R<Vec<crate::store::Lot>> {
        Ok(self.store.lots(number)?)
    }
}

/// The caller's role, if it may call `method` at all.
fn access(rules: &RuleSet, caller: &Caller, method: Method) -> R<RoleId> {
    match rules.role(&caller.role) {
        Some(r) if rules.may_call(r, method) => Ok(r),
        Some(_) => Err(Failure::new(
            ErrorKey::AccessDenied,
            format!("the role `{}` may not call {}", caller.role, method.name()),
        )),
        None => Err(Failure::new(ErrorKey::AccessDenied, format!("the role `{}` is not in the rules", caller.role))),
    }
}

/// Appends one entry to the card's history in the batch and advances the
/// card's sequence; every history write goes through here. The caller puts
/// the card record.
fn record_history(
    batch: &mut Batch,
    card: &mut CardRecord,
    caller: &Caller,
    method: Method,
    (from, to): (Option<Status>, Option<Status>),
    reason: String,
) {
    let entry = HistoryEntry {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        user: caller.user.clone(),
        role: caller.role.clone(),
        method: method.name().to_string(),
        from,
        to,
        reason,
    };
    batch.push_history(&card.number, entry);
    card.history_len += 1;
}
