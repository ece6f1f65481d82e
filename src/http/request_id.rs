//! The request id (`X-Request-Id`): the caller's, when it is sane, else a
//! new one. It goes back in the response header, onto every log line of the
//! request (a tracing span) and into its journal entry.

use warp::http::HeaderMap;

/// The header, in the lower case HTTP/2 and warp use.
pub const HEADER: &str = "x-request-id";

/// Longest id taken from a caller; longer ones are replaced. 128 bytes
/// hold any UUID, ULID or trace id with room to spare.
pub const ID_BYTES_MAX: usize = 128;

/// The caller's id if it is sane, else a new random one (a UUID v4).
pub fn take_or_make(headers: &HeaderMap) -> String {
    headers.get(HEADER).and_then(|v| v.to_str().ok()).filter(|id| is_sane(id)).map(str::to_owned).unwrap_or_else(new_id)
}

/// A new random UUID v4, from the thread's own generator: `Uuid::new_v4`
/// asks the kernel (a `getrandom` call) for every id, a few percent of a
/// balance request's CPU.
fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string()
}

/// 1 to [`ID_BYTES_MAX`] printable ASCII characters, no spaces: nothing
/// that could break a log line, a header or a JSON field, or bloat them.
pub fn is_sane(id: &str) -> bool {
    (1..=ID_BYTES_MAX).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    fn with(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    #[test]
    fn a_sane_id_is_kept_as_sent() {
        assert_eq!(take_or_make(&with(b"pos-17:0042")), "pos-17:0042");
        let longest = "a".repeat(ID_BYTES_MAX);
        assert_eq!(take_or_make(&with(longest.as_bytes())), longest);
    }

    #[test]
    fn a_missing_or_insane_id_is_replaced_by_a_uuid() {
        let made = take_or_make(&HeaderMap::new());
        assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
        assert_ne!(made, take_or_make(&HeaderMap::new()), "each made id is new");
        let too_long = "a".repeat(ID_BYTES_MAX + 1);
        for insane in [&b""[..], b"two words", b"tab\there", too_long.as_bytes(), "é".as_bytes()] {
            let made = take_or_make(&with(insane));
            assert!(uuid::Uuid::parse_str(&made).is_ok(), "{insane:?} gave {made}");
        }
    }
}
