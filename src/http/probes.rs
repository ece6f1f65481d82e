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
