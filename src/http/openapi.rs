//! The OpenAPI 3.1 document of the HTTP API, kept in `docs/openapi.json` and
//! served as it is, without credentials, at `GET /api/openapi.json`.
//! tests/openapi.rs holds it to the route table and the server's answers.

use super::{respond, Resp};
use warp::http::StatusCode;

/// The document, compiled into the binary.
pub const DOCUMENT: &str = include_str!("../../docs/openapi.json");

pub(super) fn answer() -> Resp {
    respond(StatusCode::OK, "OK", DOCUMENT.as_bytes())
}
