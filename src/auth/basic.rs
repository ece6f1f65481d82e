//! HTTP Basic (RFC 7617): the `Authorization` value split into user name and
//! password, or nothing.

use super::users_file::NAME_CHARS_MAX;
use base64::Engine as _;

/// Longest `Authorization` value we look at; longer ones are refused before
/// any decoding, so a huge header costs nothing.
pub const AUTHORIZATION_BYTES_MAX: usize = 4096;

/// Splits `Basic base64(user:password)` into user and password. `None` for
/// anything else, including names no user can have (empty, too long,
/// control characters), which are refused without running Argon2id: no
/// such user exists, so refusing quickly reveals nothing.
pub(super) fn parse_basic(value: &str) -> Option<(String, String)> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode};
    // RFC 7617 says padded standard base64; some clients drop the padding.
    const BASE64: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    if value.len() > AUTHORIZATION_BYTES_MAX {
        return None;
    }
    let (scheme, credentials) = value.trim().split_once([' ', '\t'])?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64.decode(credentials.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (name, password) = decoded.split_once(':')?;
    if name.is_empty() || name.chars().count() > NAME_CHARS_MAX || name.chars().any(char::is_control) {
        return None;
    }
    Some((name.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpadded_base64_and_extra_spaces_are_accepted() {
        assert_eq!(parse_basic("basic   ZGVzazE6cHc  "), Some(("desk1".into(), "pw".into())));
        assert_eq!(parse_basic("Basic ZGVzazE6cHc="), Some(("desk1".into(), "pw".into())));
    }
}
