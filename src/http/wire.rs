//! Wire DTOs: request field access (case-insensitive names, exact decimals,
//! codes as string or integer) and the response envelope. The only place that
//! knows wire field names.

use super::json_out::JsonOut;
use crate::domain::Amount;
use crate::service::Balance;
use crate::store::HistoryEntry;
use crate::ErrorKey;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fmt;

/// A JSON request body: an object's fields in order, values kept raw so a
/// decimal is never rounded through a float.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut out: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    if out.iter().any(|(o, _)| o.eq_ignore_ascii_case(&k)) {
                        return Err(serde::de::Error::custom(format!("field `{}` is given twice", short(&k))));
                    }
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Why a request could not be read; answered 400 MalformedRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

fn short(s: &str) -> String {
    crate::domain::truncate_for_message(s)
}

impl Fields {
    /// Parses a body that must be a JSON object.
    pub fn parse(body: &[u8]) -> Result<Fields, Malformed> {
        let text = std::str::from_utf8(body).map_err(|_| Malformed("the body is not UTF-8 text".into()))?;
        if text.trim().is_empty() {
            return Err(Malformed("the body must be a JSON object".into()));
        }
        serde_json::from_str::<Fields>(text).map_err(|e| {
            let msg = e.to_string();
            if msg.starts_with("invalid type") {
                Malformed("the body must be a JSON object".into())
            } else {
                Malformed(format!("the body is not valid JSON: {msg}"))
            }
        })
    }

    /// The first field whose name is none of `known` (letter case aside,
    /// SPEC §4), as the request spelt it.
    pub fn unknown(&self, known: &[&str]) -> Option<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).find(|k| !known.iter().any(|n| n.eq_ignore_ascii_case(k)))
    }

    /// The field's JSON text, `None` when absent or `null`.
    fn present(&self, name: &str) -> Option<&str> {
        self.raw(name).map(|r| r.get().trim()).filter(|t| *t != "null")
    }

    fn raw(&self, name: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }

    /// A string field; `null` or absent is `None`.
    pub fn string(&self, name: &str) -> Result<Option<String>, Malformed> {
        let Some(raw) = self.raw(name) else { return Ok(None) };
        match serde_json::from_str::<Option<String>>(raw.get()) {
            Ok(v) => Ok(v),
            Err(_) => Err(Malformed(format!("field `{name}` must be a string"))),
        }
    }

    /// A code: a string, or an integer (`0` and `"0"` mean the same). An
    /// integer is one in JSON's sense, as JSON Schema and the OpenAPI
    /// document count it: `2.0` and `2e0` are the code `2`.
    pub fn code(&self, name: &str) -> Result<Option<String>, Malformed> {
        let Some(text) = self.present(name) else { return Ok(None) };
        // The first byte says which JSON type it is: trying a string on a
        // number costs serde_json a formatted error message.
        if text.starts_with('"') {
            if let Some(s) = quoted(text) {
                return Ok(Some(s));
            }
        } else if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
            if let Some(i) = integral(text) {
                return Ok(Some(i));
            }
        }
        Err(Malformed(format!("field `{name}` must be a string or an integer code")))
    }

    /// A decimal amount: a JSON number (read exactly, never via a float) or a string.
    pub fn amount(&self, name: &str) -> Result<Option<String>, Malformed> {
        let Some(text) = self.present(name) else { return Ok(None) };
        if text.starts_with('"') {
            if let Some(s) = quoted(text) {
                return Ok(Some(s));
            }
        } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
            && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
        {
            return Ok(Some(text.to_string()));
        }
        Err(Malformed(format!("field `{name}` must be a number")))
    }

    /// A boolean; absent or `null` is false.
    pub fn boolean(&self, name: &str) -> Result<bool, Malformed> {
        let Some(raw) = self.raw(name) else { return Ok(false) };
        match serde_json::from_str::<Option<bool>>(raw.get()) {
            Ok(v) => Ok(v.unwrap_or(false)),
            Err(_) => Err(Malformed(format!("field `{name}` must be true or false"))),
        }
    }

    /// An array of JSON objects (a receipt's `Lines`); absent or `null` →
    /// None.
    pub fn objects(&self, name: &str) -> Result<Option<Vec<Fields>>, Malformed> {
        let Some(text) = self.present(name) else { return Ok(None) };
        match serde_json::from_str::<Vec<Fields>>(text) {
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(Malformed(format!("field `{name}` must be an array of objects"))),
        }
    }

    /// An object of string values (`Fields` of a contact); `null` → None.
    pub fn string_map(&self, name: &str) -> Result<Option<std::collections::BTreeMap<String, String>>, Malformed> {
        let Some(raw) = self.raw(name) else { return Ok(None) };
        match serde_json::from_str::<Option<std::collections::BTreeMap<String, Option<String>>>>(raw.get()) {
            Ok(v) => Ok(v.map(|m| m.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect())),
            Err(_) => Err(Malformed(format!("field `{name}` must be an object of string values"))),
        }
    }
}

/// The text of a JSON string literal (`text` starts with `"`).
fn quoted(text: &str) -> Option<String> {
    debug_assert!(text.starts_with('"'), "only a string literal is tried as one");
    serde_json::from_str(text).ok()
}

/// The digits of a JSON number that is a whole number from `i64::MIN` to
/// `u64::MAX` (the range the OpenAPI document gives codes), else `None`.
fn integral(number: &str) -> Option<String> {
    use rust_decimal::prelude::ToPrimitive;
    use rust_decimal::Decimal;
    if let Ok(i) = number.parse::<i128>() {
        return in_code_range(i).then(|| i.to_string());
    }
    let d = if number.contains(['e', 'E']) {
        Decimal::from_scientific(number).ok()?
    } else {
        Decimal::from_str_exact(number).ok()?
    };
    let i = d.fract().is_zero().then(|| d.to_i128()).flatten()?;
    in_code_range(i).then(|| i.to_string())
}

fn in_code_range(i: i128) -> bool {
    (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&i)
}

/// The envelope every response carries.
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    #[serde(rename = "Status")]
    pub status: bool,
    #[serde(rename = "Key")]
    pub key: &'a str,
    #[serde(rename = "Value")]
    pub value: &'a str,
}

impl Envelope<'_> {
    pub fn ok() -> Envelope<'static> {
        Envelope { status: true, key: "OK", value: "" }
    }
    pub fn error(key: ErrorKey, value: &str) -> Envelope<'_> {
        Envelope { status: false, key: key.as_key(), value }
    }
}

/// An OK answer: the envelope, then the body's fields beside it.
pub fn ok_json<T: Serialize>(body: T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Answer<T> {
        #[serde(flatten)]
        envelope: Envelope<'static>,
        #[serde(flatten)]
        body: T,
    }
    serde_json::to_vec(&Answer { envelope: Envelope::ok(), body }).unwrap_or_default()
}

/// An amount as a JSON number with its exact decimal digits.
pub fn amount_json(a: Amount) -> Box<RawValue> {
    // Display of a normalised Decimal is always a valid JSON number.
    RawValue::from_string(a.to_string()).unwrap_or_else(|_| RawValue::from_string("0".into()).expect("literal"))
}

/// A balance answer, written by [`JsonOut`] (the hottest answer there is).
pub fn balance_json(b: &Balance) -> Vec<u8> {
    let mut out = JsonOut::object(256 + 160 * b.bonuses.len());
    out.bool("Status", true).str("Key", "OK").str("Value", "");
    out.str("Number", &b.number).str("MobileNumber", &b.mobile).str("Code", &b.code).str("Name", &b.name);
    out.str("StatusCode", &b.status_code).str("StatusName", &b.status_name);
    out.str("CategoryCode", &b.category_code).str("CategoryName", &b.category_name);
    out.str("TypeCode", &b.type_code).str("TypeName", &b.type_name);
    out.array("Bonuses");
    for l in &b.bonuses {
        out.element().amount("Amount", l.amount).str("StatusCode", l.state.code()).str("StatusName", &l.state_name);
        out.date("ExpireDate", l.expire).str("TypeCode", l.bonus_type.code()).str("TypeName", &l.type_name);
        out.end_object();
    }
    out.end_array();
    out.finish()
}

#[derive(Serialize)]
struct HistoryItem<'a> {
    #[serde(rename = "Time")]
    time: &'a str,
    #[serde(rename = "User")]
    user: &'a str,
    #[serde(rename = "Role")]
    role: &'a str,
    #[serde(rename = "Method")]
    method: &'a str,
    #[serde(rename = "FromStatus")]
    from: Option<&'a str>,
    #[serde(rename = "ToStatus")]
    to: Option<&'a str>,
    #[serde(rename = "Reason")]
    reason: &'a str,
}

#[derive(Serialize)]
struct HistoryBody<'a> {
    #[serde(rename = "Status")]
    status: bool,
    #[serde(rename = "Key")]
    key: &'a str,
    #[serde(rename = "Value")]
    value: &'a str,
    #[serde(rename = "History")]
    history: Vec<HistoryItem<'a>>,
}

pub fn history_json(entries: &[HistoryEntry]) -> Vec<u8> {
    let body = HistoryBody {
        status: true,
        key: "OK",
        value: "",
        history: entries
            .iter()
            .map(|e| HistoryItem {
                time: &e.time,
                user: &e.user,
                role: &e.role,
                method: &e.method,
                from: e.from.map(|s| s.code()),
                to: e.to.map(|s| s.code()),
                reason: &e.reason,
            })
            .collect(),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_match_case_insensitively_and_codes_may_be_integers() {
        let f = Fields::parse(br#"{"number":"123456","BLOCKREASONCODE":0,"x":null}"#).unwrap();
        assert_eq!(f.string("Number").unwrap().as_deref(), Some("123456"));
        assert_eq!(f.code("BlockReasonCode").unwrap().as_deref(), Some("0"));
        assert_eq!(f.string("X").unwrap(), None);
        assert_eq!(f.string("missing").unwrap(), None);
    }

    #[test]
    fn wrong_shapes_are_malformed() {
        assert!(Fields::parse(b"[1,2]").is_err());
        assert!(Fields::parse(b"\"x\"").is_err());
        assert!(Fields::parse(b"").is_err());
        assert!(Fields::parse(b"{").is_err());
        assert!(Fields::parse(b"\xff\xfe").is_err());
        assert!(Fields::parse(br#"{"a":1,"A":2}"#).is_err());
        let f = Fields::parse(br#"{"Number":123,"Code":1.5,"Frozen":"yes"}"#).unwrap();
        assert!(f.string("Number").is_err());
        assert!(f.code("Code").is_err());
        assert!(f.boolean("Frozen").is_err());
    }

    #[test]
    fn a_code_may_be_any_json_integer_in_range() {
        let f = Fields::parse(
            br#"{"a":270493.0,"b":1e2,"c":-0.0,"d":18446744073709551615,"e":-9223372036854775808,"f":1E+1}"#,
        )
        .unwrap();
        for (name, want) in [
            ("a", "270493"),
            ("b", "100"),
            ("c", "0"),
            ("d", "18446744073709551615"),
            ("e", "-9223372036854775808"),
            ("f", "10"),
        ] {
            assert_eq!(f.code(name).unwrap().as_deref(), Some(want), "{name}");
        }
        let f = Fields::parse(br#"{"a":1.5,"b":18446744073709551616,"c":-9223372036854775809,"d":1e400,"e":true}"#)
            .unwrap();
        for name in ["a", "b", "c", "d", "e"] {
            assert!(f.code(name).is_err(), "{name}");
        }
    }

    #[test]
    fn unknown_fields_are_found_whatever_their_letter_case() {
        let f = Fields::parse(br#"{"name":"A","Nmae":"B"}"#).unwrap();
        assert_eq!(f.unknown(&["Name", "City"]), Some("Nmae"));
        assert_eq!(Fields::parse(br#"{"CITY":"x"}"#).unwrap().unknown(&["Name", "City"]), None);
    }

    #[test]
    fn amounts_keep_their_exact_digits() {
        let f = Fields::parse(br#"{"Amount":0.10000000000000000001}"#).unwrap();
        assert_eq!(f.amount("Amount").unwrap().as_deref(), Some("0.10000000000000000001"));
        assert_eq!(amount_json(Amount::parse("0.30").unwrap()).get(), "0.3");
    }
}
