//! The load balancer's probes, answered without credentials in the usual
//! envelope: `/health` says the process answers; `/ready` that it can serve
//! (the store answers a read, rules and users are loaded).

use super::{envelope, ok_envelope, App, Resp, Route};
use crate::ErrorKey;
use warp::http::StatusCode;

/// A card number no card can have: `/ready` reads it to see the store answer.
const PROBE_CARD: &str = "";

pub(super) fn answer(app: &App, route: &Route) -> Resp {
    debug_assert!(route.method().is_none(), "only the probes are answered here");
    match route {
        Route::Ready => ready(app),
        _ => ok_envelope(),
    }
}

/// 200 `OK` when the server can serve, else 503 `NotReady` saying why. The
/// users need no check of their own: the server listens only once the
/// users file has been read and checked, and a refused reload keeps the
/// users in force.
fn ready(app: &App) -> Resp {
    if let Err(error) = app.service.store().card(PROBE_CARD) {
        tracing::warn!(error = %error.chain(), "not ready: the store does not answer");
        return envelope(StatusCode::SERVICE_UNAVAILABLE, ErrorKey::NotReady, "the store does not answer");
    }
    if app.service.rules().role_names().next().is_none() {
        return envelope(StatusCode::SERVICE_UNAVAILABLE, ErrorKey::NotReady, "the rules define no roles");
    }
    ok_envelope()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Authenticator, Users};
    use crate::rules::{RuleHandle, RuleSet};
    use crate::service::CardService;
    use crate::store::{
        CardQuery, CardRecord, ContactQuery, ContactRecord, HistoryEntry, Lot, MemStore, Operation, Page,
        ReceiptRecord, Source, Store, StoreError, StoreRead, Stored, Table,
    };
    use std::sync::Arc;

    /// A store whose every call fails, as a database that went away does.
    struct Gone;

    fn gone() -> StoreError {
        StoreError::Unavailable(Source::new(std::io::Error::other("connection refused")))
    }

    impl StoreRead for Gone {
        fn card(&self, _: &str) -> Result<Option<CardRecord>, StoreError> {
            Err(gone())
        }
        fn contact(&self, _: &str) -> Result<Option<ContactRecord>, StoreError> {
            Err(gone())
        }
        fn contact_by_mobile(&self, _: &str) -> Result<Option<ContactRecord>, StoreError> {
            Err(gone())
        }
        fn contact_cards(&self, _: &str) -> Result<Vec<String>, StoreError> {
            Err(gone())
        }
        fn lots(&self, _: &str) -> Result<Vec<Lot>, StoreError> {
            Err(gone())
        }
        fn history(&self, _: &str) -> Result<Vec<HistoryEntry>, StoreError> {
            Err(gone())
        }
        fn receipt(&self, _: &str) -> Result<Option<ReceiptRecord>, StoreError> {
            Err(gone())
        }
    }

    impl Store for Gone {
        fn transact(&self, _: &mut Operation<'_>) -> Result<(), StoreError> {
            Err(gone())
        }
        fn card_count(&self) -> Result<u64, StoreError> {
            Err(gone())
        }
        fn find_contacts(
            &self,
            _: &ContactQuery,
            _: Option<&str>,
            _: usize,
        ) -> Result<Page<ContactRecord>, StoreError> {
            Err(gone())
        }
        fn find_cards(&self, _: &CardQuery, _: Option<&str>, _: usize) -> Result<Page<CardRecord>, StoreError> {
            Err(gone())
        }
        fn scan(&self, _: Table, _: Option<&str>, _: usize) -> Result<Page<Stored>, StoreError> {
            Err(gone())
        }
    }

    fn app(store: Arc<dyn Store>) -> App {
        let rules = Arc::new(RuleHandle::new(RuleSet::shipped()));
        App {
            service: Arc::new(CardService::new(store, rules)),
            auth: Arc::new(Authenticator::new(Users::default())),
            journal: None,
            body_bytes_max: 1024,
            body_timeout: std::time::Duration::from_secs(30),
        }
    }

    fn key(resp: &Resp) -> String {
        let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
        body["Key"].as_str().unwrap().to_owned()
    }

    #[test]
    fn ready_says_not_ready_while_the_store_does_not_answer() {
        let working = app(Arc::new(MemStore::new()));
        let ready = answer(&working, &Route::Ready);
        assert_eq!((ready.status(), key(&ready)), (StatusCode::OK, "OK".to_owned()));

        let broken = app(Arc::new(Gone));
        let ready = answer(&broken, &Route::Ready);
        assert_eq!((ready.status(), key(&ready)), (StatusCode::SERVICE_UNAVAILABLE, "NotReady".to_owned()));
        // The process still answers: healthy, only not ready.
        let health = answer(&broken, &Route::Health);
        assert_eq!((health.status(), key(&health)), (StatusCode::OK, "OK".to_owned()));
    }
}
