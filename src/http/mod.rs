//! The HTTP contract of SPEC.md §4–§7 on warp.
//!
//! One catch-all warp filter hands (method, path, query, headers, body stream)
//! to [`handle`], which routes with [`routes::match_route`]. Why not one warp
//! filter per route: the contract wants case-insensitive paths and an exact
//! precedence — unknown path 404, then wrong method 405, then 401, 403, 413,
//! 400 — and warp's rejection ranking across many filters does not give that
//! order reliably. Here the order is the code's order.
//!
//! Around each request [`handle`] keeps the request id (`request_id`), a
//! tracing span carrying it, the metrics and the journal entry; `/health` and
//! `/ready` (`probes`) and `/api/openapi.json` (`openapi`) are answered
//! without credentials.
//!
//! The only module that knows HTTP status codes and wire field names.

mod admin;
mod export_stream;
mod json_out;
pub mod openapi;
mod probes;
pub mod purchase;
pub mod request_id;
mod routes;
pub mod wire;

pub use routes::{match_route, Endpoint, NoRoute, Route, ROUTES};

use crate::auth::{AuthOutcome, Authenticator};
use crate::journal::{escape_text, Journal, JournalEntry};
use crate::metrics;
use crate::service::{BonusInput, Caller, CardService, ContactInput, Failure, Lookup};
use crate::ErrorKey;
use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;
use tracing::{Instrument, Span};
use warp::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use warp::Filter;
use wire::{Envelope, Fields, Malformed};

/// Default request body limit, in bytes (SPEC §4).
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// What the handlers share.
pub struct App {
    pub service: Arc<CardService>,
    pub auth: Arc<Authenticator>,
    pub journal: Option<Arc<Journal>>,
    pub body_bytes_max: usize,
    /// How long reading a request's body may take (408 after it).
    pub body_timeout: std::time::Duration,
}

type Resp = Response<Bytes>;

/// The response's `Key`, carried beside its body so that metrics and the
/// journal need not parse the body to learn it.
#[derive(Debug, Clone, Copy)]
struct ReplyKey(&'static str);

/// Every response is built here: JSON, with its `Key` attached.
fn respond(status: StatusCode, key: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
    r.extensions_mut().insert(ReplyKey(key));
    r
}

fn envelope(status: StatusCode, key: ErrorKey, value: &str) -> Resp {
    respond(status, key.as_key(), serde_json::to_vec(&Envelope::error(key, value)).unwrap_or_default())
}

fn ok_envelope() -> Resp {
    let ok = Envelope::ok();
    respond(StatusCode::OK, ok.key, serde_json::to_vec(&ok).unwrap_or_default())
}

/// The HTTP status for a refusal from the service (SPEC §4's table).
fn failure_response(f: &Failure) -> Resp {
    let status = match f.key {
        ErrorKey::AccessDenied => StatusCode::FORBIDDEN,
        ErrorKey::MalformedRequest => StatusCode::BAD_REQUEST,
        ErrorKey::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    };
    let value = if f.key == ErrorKey::InternalError { "internal error" } else { f.message.as_str() };
    envelope(status, f.key, value)
}

fn malformed(m: Malformed) -> Resp {
    envelope(StatusCode::BAD_REQUEST, ErrorKey::MalformedRequest, &m.0)
}

/// The warp filter serving the whole API.
pub fn api(app: Arc<App>) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone {
    warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .and(warp::any().map(move || app.clone()))
        .then(|method: Method, path: warp::path::FullPath, query: String, headers: HeaderMap, body, app: Arc<App>| async move {
            export_stream::into_reply(handle(app, method, path.as_str().to_string(), query, headers, body).await)
        })
        // The catch-all above rejects nothing by design; this one recover
        // keeps the envelope promise should warp itself reject a request.
        .recover(|_rejection: warp::Rejection| async move {
            let r = envelope(StatusCode::BAD_REQUEST, ErrorKey::MalformedRequest, "the request could not be read");
            Ok::<_, Infallible>(export_stream::into_reply(r))
        })
        .unify()
}

/// A request as the journal, the metrics and the log see it.
struct Seen {
    /// The route's name ([`Route::name`]); [`NO_ROUTE`] until one matched.
    route: &'static str,
    method: String,
    path: String,
    user: String,
    role: String,
    request_body: Option<String>,
    request_id: String,
    started: Instant,
}

/// The method label of a request no route matched (404, 405).
const NO_ROUTE: &str = "-";

pub async fn handle<S, B>(
    app: Arc<App>,
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: S,
) -> Resp
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin,
    B: Buf,
{
    let started = Instant::now();
    let request_id = request_id::take_or_make(&headers);
    // ERROR level, so the span is on whenever any line of the request can
    // be: with `RUST_LOG=warn` a warning still carries the request id.
    let span = tracing::error_span!("request", request_id = %request_id);
    let mut seen = Seen {
        route: NO_ROUTE,
        method: method.as_str().to_string(),
        path: if query.is_empty() { path.clone() } else { format!("{path}?{query}") },
        user: String::new(),
        role: String::new(),
        request_body: None,
        request_id,
        started,
    };
    let mut resp = handle_inner(&app, &method, &path, &query, &headers, body, &mut seen).instrument(span.clone()).await;
    span.in_scope(|| finish(&app, &seen, &mut resp));
    resp
}

/// After the answer: the request id header, metrics, the debug line, the journal.
fn finish(app: &App, seen: &Seen, resp: &mut Resp) {
    debug_assert!(resp.extensions().get::<ReplyKey>().is_some(), "every response is built by `respond`");
    let key = resp.extensions().get::<ReplyKey>().map_or("", |k| k.0);
    let status = resp.status().as_u16();
    let elapsed = seen.started.elapsed();
    metrics::request(seen.route, key, status);
    metrics::request_latency(seen.route, elapsed);
    tracing::debug!(
        method = %seen.method,
        path = %escape_text(&seen.path),
        user = %seen.user,
        status,
        key = %key,
        ms = elapsed.as_secs_f64() * 1000.0,
        "answered"
    );
    // A sane id is visible ASCII and a made one a UUID: always a valid value.
    if let Ok(id) = HeaderValue::from_str(&seen.request_id) {
        resp.headers_mut().insert(request_id::HEADER, id);
    }
    if let Some(j) = &app.journal {
        record(j, seen, resp, key);
    }
}

fn record(j: &Journal, seen: &Seen, resp: &Resp, key: &str) {
    let body = resp.body();
    let status = resp.status().as_u16();
    // Every envelope is serialised with `Status` first, so success is a
    // prefix test. (Parsing every 1.5 KB balance body cost the hot path dearly.)
    // An export's body streams after this (empty here): its key says.
    let ok = body.starts_with(br#"{"Status":true"#) || (body.is_empty() && key == "OK");
    let error = !ok || status >= 400;
    if !error && !j.log_requests() {
        return;
    }
    j.record(JournalEntry {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        request_id: seen.request_id.clone(),
        user: seen.user.clone(),
        role: seen.role.clone(),
        method: seen.method.clone(),
        path: seen.path.clone(),
        http_status: status,
        key: key.to_owned(),
        error,
        request_body: seen.request_body.clone(),
        response_body: Some(String::from_utf8_lossy(body).into_owned()),
        duration_ms: seen.started.elapsed().as_secs_f64() * 1000.0,
    });
}

async fn read_body<S, B>(mut body: S, limit: usize) -> Result<Vec<u8>, Resp>
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin,
    B: Buf,
{
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk
            .map_err(|_| envelope(StatusCode::BAD_REQUEST, ErrorKey::MalformedRequest, "the body could not be read"))?;
        if out.len() + chunk.remaining() > limit {
            return Err(too_large(limit));
        }
        while chunk.has_remaining() {
            let c = chunk.chunk();
            out.extend_from_slice(c);
            let n = c.len();
            chunk.advance(n);
        }
    }
    Ok(out)
}

fn too_large(limit: usize) -> Resp {
    envelope(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKey::RequestTooLarge,
        &format!("the body is larger than {limit} bytes"),
    )
}

/// 408: the body did not arrive in time. The rest of it will not be read,
/// so the connection closes after the answer.
fn body_timed_out(limit: std::time::Duration) -> Resp {
    let mut r = envelope(
        StatusCode::REQUEST_TIMEOUT,
        ErrorKey::RequestTimeout,
        &format!("the body did not arrive within {} s", limit.as_secs_f64()),
    );
    r.headers_mut().insert("connection", HeaderValue::from_static("close"));
    r
}

fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.into_owned())
}

#[allow(clippy::too_many_arguments)]
async fn handle_inner<S, B>(
    app: &Arc<App>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: S,
    seen: &mut Seen,
) -> Resp
where
    S: Stream<Item = Result<B, warp::Error>> + Send + Unpin,
    B: Buf,
{
    // 1. route: unknown path 404, known path with a wrong method 405.
    let route = match match_route(method.as_str(), path) {
        Ok(r) => r,
        Err(NoRoute::NotFound) => return envelope(StatusCode::NOT_FOUND, ErrorKey::NotFound, "no such path"),
        Err(NoRoute::MethodNotAllowed(allowed)) => {
            let mut r = envelope(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorKey::MethodNotAllowed,
                &format!("use {} for this path", allowed.replace(", ", " or ")),
            );
            if let Ok(v) = HeaderValue::from_str(&allowed) {
                r.headers_mut().insert("allow", v);
            }
            return r;
        }
    };
    seen.route = route.name();
    // The load balancer's probes and the API document need no credentials.
    let Some(rule_method) = route.method() else {
        return match route {
            Route::OpenApi => openapi::answer(),
            _ => probes::answer(app, &route),
        };
    };
    // 2. authentication. Argon2 runs off the async threads; a cached
    // credential is answered without it.
    let authz = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let auth = app.auth.clone();
    let outcome = match auth.check_cached(authz.as_deref()) {
        Some(o) => {
            if matches!(o, AuthOutcome::Ok(_)) {
                metrics::credential_cache_hit();
            }
            o
        }
        None => {
            metrics::credential_cache_miss();
            let span = Span::current();
            match tokio::task::spawn_blocking(move || span.in_scope(|| auth.check(authz.as_deref()))).await {
                Ok(o) => o,
                Err(_) => {
                    return envelope(StatusCode::INTERNAL_SERVER_ERROR, ErrorKey::InternalError, "internal error")
                }
            }
        }
    };
    let principal = match outcome {
        AuthOutcome::Ok(p) => p,
        AuthOutcome::Unauthorized => {
            let mut r = envelope(StatusCode::UNAUTHORIZED, ErrorKey::Unauthorized, "no or wrong credentials");
            r.headers_mut().insert("www-authenticate", HeaderValue::from_static("Basic realm=\"cashdesk\""));
            return r;
        }
        // A throttled name is not checked at all, so its credentials are not
        // accepted: SPEC §4's 401 for them, with the wait in `Retry-After`.
        // (A 429 here broke the SPEC row "wrong credentials → 401" for a
        // caller that tried a wrong password more than five times.)
        AuthOutcome::Throttled { retry_after_secs } => {
            metrics::login_throttled();
            let mut r = envelope(
                StatusCode::UNAUTHORIZED,
                ErrorKey::Unauthorized,
                &format!("too many failed logins for this user; retry after {retry_after_secs} s"),
            );
            r.headers_mut().insert("www-authenticate", HeaderValue::from_static("Basic realm=\"cashdesk\""));
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
            return r;
        }
    };
    seen.user = principal.name.clone();
    seen.role = principal.role.clone();
    let caller = Caller::new(principal.name, principal.role);
    // 3. method access per role (403), before the body is read.
    if let Err(f) = app.service.check_access(&caller, rule_method) {
        return failure_response(&f);
    }
    // 4. body: size limit (413), then a JSON object (400).
    let fields = if route.has_body() {
        let declared =
            headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > app.body_bytes_max as u64) {
            return too_large(app.body_bytes_max);
        }
        let bytes = match tokio::time::timeout(app.body_timeout, read_body(body, app.body_bytes_max)).await {
            Ok(Ok(b)) => b,
            Ok(Err(r)) => return r,
            Err(_) => return body_timed_out(app.body_timeout),
        };
        if app.journal.as_ref().is_some_and(|j| j.log_requests()) {
            seen.request_body = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        match Fields::parse(&bytes) {
            Ok(f) => f,
            Err(m) => return malformed(m),
        }
    } else {
        Fields::default()
    };
    match dispatch(app, &route, query, &fields, caller).await {
        Ok(r) => r,
        Err(m) => malformed(m),
    }
}

/// The administrator's reads, searches and erasure (issue 13), off the
/// async threads: a search page reads up to 500 records.
async fn admin_read(svc: Arc<CardService>, route: &Route, query: &str, caller: Caller) -> Resp {
    let route = route.clone();
    let params = admin::SearchParams::parse(query);
    let ok = |body: &Vec<u8>| respond(StatusCode::OK, "OK", body.clone());
    blocking_with(
        move || {
            let rules = svc.rules();
            Ok(match &route {
                Route::GetContact(code) => admin::contact_json(&rules, &svc.contact_details(&caller, code)?),
                Route::GetCard(number) => admin::card_json(&rules, &svc.card_details(&caller, number, svc.today())?),
                Route::EraseContact(code) => admin::erased_json(code, &svc.erase_contact(&caller, code)?),
                Route::SearchContacts => {
                    let (after, limit) = params.shape(&admin::CONTACT_CRITERIA)?;
                    let search = params.contact_search()?;
                    admin::contact_page_json(&svc.search_contacts(&caller, search, after.as_deref(), limit)?)
                }
                _ => {
                    let (after, limit) = params.shape(&admin::CARD_CRITERIA)?;
                    let search = params.card_search()?;
                    admin::card_page_json(&rules, &svc.search_cards(&caller, search, after.as_deref(), limit)?)
                }
            })
        },
        ok,
    )
    .await
}

/// `InvalidField` for an admin body field that is none of `known` (issue
/// 13: a misspelt field must not be dropped and answered OK). It comes
/// after the 400s (the known fields' JSON types) and before every key of the
/// method itself: what the body means is unclear until the name is fixed.
fn unknown_field(fields: &Fields, known: &[&str]) -> Option<Resp> {
    let name = fields.unknown(known)?;
    let f = crate::service::invalid_field("field", name, known.iter().copied());
    Some(failure_response(&f))
}

/// Runs a state-changing service call (it waits for fsync) off the async
/// threads, inside the request's span, and answers with the plain envelope.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Failure> + Send + 'static) -> Resp {
    blocking_with(f, |_| ok_envelope()).await
}

/// As [`blocking`], answering a success with the body `ok` builds.
async fn blocking_with<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
    ok: impl FnOnce(&T) -> Resp,
) -> Resp {
    let span = Span::current();
    match tokio::task::spawn_blocking(move || span.in_scope(f)).await {
        Ok(Ok(v)) => ok(&v),
        Ok(Err(f)) => failure_response(&f),
        Err(_) => envelope(StatusCode::INTERNAL_SERVER_ERROR, ErrorKey::InternalError, "internal error"),
    }
}

async fn dispatch(
    app: &Arc<App>,
    route: &Route,
    query: &str,
    fields: &Fields,
    caller: Caller,
) -> Result<Resp, Malformed> {
    let svc = app.service.clone();
    let resp = match route {
        Route::BalanceByNumber(_) | Route::BalanceByPhone(_) | Route::BalanceByCode(_) | Route::BalanceByValue(_) => {
            let lookup = match route {
                Route::BalanceByNumber(v) => Lookup::Number(v),
                Route::BalanceByPhone(v) => Lookup::Phone(v),
                Route::BalanceByCode(v) => Lookup::Code(v),
                Route::BalanceByValue(v) => Lookup::Value(v),
                _ => unreachable!("matched above"),
            };
            // A balance is a few point reads: answered on the async thread.
            match svc.balance(&caller, lookup, svc.today()) {
                Ok(b) => respond(StatusCode::OK, Envelope::ok().key, wire::balance_json(&b)),
                Err(f) => failure_response(&f),
            }
        }
        Route::Issue | Route::Active => {
            let number = query_param(query, "Number");
            let is_issue = *route == Route::Issue;
            blocking(move || {
                if is_issue {
                    svc.issue(&caller, number.as_deref())
                } else {
                    svc.active(&caller, number.as_deref())
                }
            })
            .await
        }
        Route::BindTo => {
            let number = fields.string("Number")?;
            let mobile = fields.string("MobileNumber")?;
            blocking(move || svc.bind_to(&caller, number.as_deref(), mobile.as_deref())).await
        }
        Route::Block | Route::UnBlock => {
            let is_block = *route == Route::Block;
            let number = fields.string("Number")?;
            let mobile = fields.string("ContactMobileNumber")?;
            let reason = fields.code(if is_block { "BlockReasonCode" } else { "UnBlockReasonCode" })?;
            // The reason name is informational; still a string if present.
            let _ = fields.string(if is_block { "BlockReasonName" } else { "UnBlockReasonName" })?;
            blocking(move || {
                if is_block {
                    svc.block(&caller, number.as_deref(), mobile.as_deref(), reason.as_deref())
                } else {
                    svc.unblock(&caller, number.as_deref(), mobile.as_deref(), reason.as_deref())
                }
            })
            .await
        }
        Route::PutContact(code) => {
            const KNOWN: [&str; 7] = ["MobileNumber", "Name", "Email", "BirthDate", "Gender", "City", "Fields"];
            let input = ContactInput {
                mobile: fields.string("MobileNumber")?,
                name: fields.string("Name")?,
                email: fields.string("Email")?,
                birth_date: fields.string("BirthDate")?,
                gender: fields.string("Gender")?,
                city: fields.string("City")?,
                fields: fields.string_map("Fields")?,
            };
            if let Some(r) = unknown_field(fields, &KNOWN) {
                return Ok(r);
            }
            let code = code.clone();
            blocking(move || svc.upsert_contact(&caller, &code, input)).await
        }
        Route::PutCard(number) => {
            let category = fields.code("CategoryCode")?;
            let card_type = fields.code("TypeCode")?;
            if let Some(r) = unknown_field(fields, &["CategoryCode", "TypeCode"]) {
                return Ok(r);
            }
            let number = number.clone();
            blocking(move || svc.upsert_card(&caller, &number, category.as_deref(), card_type.as_deref())).await
        }
        Route::AddBonus(number) => {
            let input = BonusInput {
                amount: fields.amount("Amount")?,
                type_code: fields.code("TypeCode")?,
                active_from: fields.string("ActiveFrom")?,
                expire_date: fields.string("ExpireDate")?,
                frozen: fields.boolean("Frozen")?,
            };
            if let Some(r) = unknown_field(fields, &["Amount", "TypeCode", "ActiveFrom", "ExpireDate", "Frozen"]) {
                return Ok(r);
            }
            let number = number.clone();
            blocking(move || svc.add_bonus(&caller, &number, input)).await
        }
        Route::GetContact(_)
        | Route::SearchContacts
        | Route::EraseContact(_)
        | Route::GetCard(_)
        | Route::SearchCards => admin_read(svc, route, query, caller).await,
        Route::Export(kind) => export_stream::start(svc.store().clone(), *kind),
        Route::History(number) => match svc.history(&caller, number) {
            Ok(h) => respond(StatusCode::OK, Envelope::ok().key, wire::history_json(&h)),
            Err(f) => failure_response(&f),
        },
        Route::Calculate => {
            let input = purchase::sale_input(fields)?;
            // A Calculate reads and computes; no durable write to wait for.
            match svc.calculate(&caller, &input, svc.today()) {
                Ok(a) => respond(StatusCode::OK, "OK", purchase::calculate_json(&a)),
                Err(f) => failure_response(&f),
            }
        }
        Route::Confirm => {
            let input = purchase::sale_input(fields)?;
            let json = |a: &_| respond(StatusCode::OK, "OK", purchase::confirm_json(a));
            blocking_with(move || svc.confirm(&caller, &input, svc.today()), json).await
        }
        Route::Cancel => {
            let id = fields.string("ReceiptId")?;
            let json = |a: &_| respond(StatusCode::OK, "OK", purchase::cancel_json(a));
            blocking_with(move || svc.cancel(&caller, id.as_deref(), svc.today()), json).await
        }
        Route::Return => {
            let input = purchase::return_input(fields)?;
            let json = |a: &_| respond(StatusCode::OK, "OK", purchase::return_json(a));
            blocking_with(move || svc.return_goods(&caller, &input, svc.today()), json).await
        }
        Route::Receipt(id) => match svc.receipt(&caller, id) {
            Ok(r) => respond(StatusCode::OK, "OK", purchase::receipt_json(&r)),
            Err(f) => failure_response(&f),
        },
        // Answered before authentication; here only for completeness.
        Route::OpenApi => openapi::answer(),
        Route::Health | Route::Ready => probes::answer(app, route),
    };
    Ok(resp)
}
