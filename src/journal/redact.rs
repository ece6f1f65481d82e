//! Redaction: secrets out of a body before it reaches the journal file.

/// Replaces the value of a redacted field.
const REDACTED: &str = "***";

/// Replaces a body that is not JSON but mentions a secret field: without a
/// parse we cannot tell where the secret ends, so none of the body is kept.
const WITHHELD_BODY: &str = "*** body withheld: not JSON and names a secret field ***";

/// Field names containing one of these (case-insensitively) are redacted.
const SECRET_FIELD_PARTS: [&str; 2] = ["password", "authorization"];

/// Replaces with `***` the value of every JSON object field, at any depth,
/// whose name contains `password` or `authorization` (any case).
///
/// Returns the text unchanged when nothing was redacted (so the journal shows
/// the body exactly as sent) and when it is not JSON — except that non-JSON
/// text naming a secret field is withheld entirely: without a parse there is
/// no telling where the secret ends, and SPEC §6 says passwords never appear.
pub fn redact_json_body(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut value) => {
            if redact_value(&mut value) {
                // Cannot fail: the value was just parsed from JSON.
                serde_json::to_string(&value).unwrap_or_else(|_| WITHHELD_BODY.to_owned())
            } else {
                body.to_owned()
            }
        }
        Err(_) if names_secret(body) => WITHHELD_BODY.to_owned(),
        Err(_) => body.to_owned(),
    }
}

/// Redacts in place; says whether anything was redacted.
fn redact_value(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(fields) => {
            let mut redacted = false;
            for (name, field) in fields.iter_mut() {
                if names_secret(name) {
                    *field = serde_json::Value::String(REDACTED.to_owned());
                    redacted = true;
                } else {
                    redacted |= redact_value(field);
                }
            }
            redacted
        }
        serde_json::Value::Array(items) => {
            // No short-circuit: every item must be visited.
            items.iter_mut().fold(false, |acc, item| redact_value(item) | acc)
        }
        _ => false,
    }
}

fn names_secret(text: &str) -> bool {
    let lower = text.to_lowercase();
    SECRET_FIELD_PARTS.iter().any(|part| lower.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_leaves_other_bodies_exactly_as_sent() {
        let body = "{ \"Number\" : \"1234\",\n \"Name\": \"Anna\" }";
        assert_eq!(redact_json_body(body), body);
        assert_eq!(redact_json_body("not json at all"), "not json at all");
        assert_eq!(redact_json_body(""), "");
    }

    #[test]
    fn non_json_text_naming_a_password_is_withheld() {
        let redacted = redact_json_body(r#"{"Password": "hunter2", "#);
        assert!(!redacted.contains("hunter2"));
    }
}
