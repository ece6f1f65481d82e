//! A JSON writer for the answers on the hot path (balance, Calculate):
//! their keys are constants and almost every value needs no escaping, so
//! the writer copies bytes and escapes only a string that needs it (through
//! serde_json). serde_json's byte-by-byte escaping of a 1.5 KB balance body
//! was about a sixth of the instructions of a balance request.

use crate::domain::Amount;
use chrono::{Datelike, NaiveDate};
use std::io::Write;

pub struct JsonOut {
    buf: Vec<u8>,
}

/// A byte that may stand in a JSON string as it is.
fn plain(b: u8) -> bool {
    b >= 0x20 && b != b'"' && b != b'\\'
}

impl JsonOut {
    /// A new object; `capacity` is a guess of the body's size.
    pub fn object(capacity: usize) -> JsonOut {
        let mut buf = Vec::with_capacity(capacity);
        buf.push(b'{');
        JsonOut { buf }
    }

    /// The comma before a member or an element, unless it is the first.
    fn comma(&mut self) {
        if !matches!(self.buf.last(), Some(b'{' | b'[')) {
            self.buf.push(b',');
        }
    }

    fn key(&mut self, key: &str) {
        debug_assert!(key.bytes().all(plain), "keys are plain constants: {key}");
        self.comma();
        self.buf.push(b'"');
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    fn string(&mut self, value: &str) {
        if value.bytes().all(plain) {
            self.buf.push(b'"');
            self.buf.extend_from_slice(value.as_bytes());
            self.buf.push(b'"');
        } else {
            // Writing a &str into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.buf, value);
        }
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut JsonOut {
        self.key(key);
        self.string(value);
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut JsonOut {
        self.key(key);
        self.buf.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    pub fn uint(&mut self, key: &str, value: u64) -> &mut JsonOut {
        self.key(key);
        padded(&mut self.buf, value, 0);
        self
    }

    /// An amount as a JSON number with its exact decimal digits.
    pub fn amount(&mut self, key: &str, value: Amount) -> &mut JsonOut {
        self.key(key);
        write_amount(&mut self.buf, value);
        self
    }

    /// A date as `"YYYY-MM-DD"`, or `null`.
    pub fn date(&mut self, key: &str, value: Option<NaiveDate>) -> &mut JsonOut {
        self.key(key);
        match value {
            Some(d) if (0..=9999).contains(&d.year()) => {
                self.buf.push(b'"');
                padded(&mut self.buf, d.year().unsigned_abs().into(), 4);
                self.buf.push(b'-');
                padded(&mut self.buf, d.month().into(), 2);
                self.buf.push(b'-');
                padded(&mut self.buf, d.day().into(), 2);
                self.buf.push(b'"');
            }
            Some(d) => self.string(&d.format("%Y-%m-%d").to_string()),
            None => self.buf.extend_from_slice(b"null"),
        }
        self
    }

    /// Opens an array member; its elements are objects ([`JsonOut::element`]).
    pub fn array(&mut self, key: &str) -> &mut JsonOut {
        self.key(key);
        self.buf.push(b'[');
        self
    }

    /// Opens an object element of the open array.
    pub fn element(&mut self) -> &mut JsonOut {
        self.comma();
        self.buf.push(b'{');
        self
    }

    /// Closes the innermost open object.
    pub fn end_object(&mut self) -> &mut JsonOut {
        self.buf.push(b'}');
        self
    }

    /// Closes the innermost open array.
    pub fn end_array(&mut self) -> &mut JsonOut {
        self.buf.push(b']');
        self
    }

    /// Closes the outer object and gives its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(b'}');
        debug_assert!(serde_json::from_slice::<serde_json::Value>(&self.buf).is_ok(), "valid JSON");
        self.buf
    }
}

/// What `Amount`'s Display writes (the normalised decimal: `12.5`, `0`,
/// `1000`), from the integer mantissa: Display goes through the decimal's
/// general formatter, a third of a Calculate answer's writing.
fn write_amount(buf: &mut Vec<u8>, value: Amount) {
    let d = value.value().normalize();
    let (mantissa, scale) = (d.mantissa(), d.scale());
    let (Ok(m), true) = (u64::try_from(mantissa), scale <= 19) else {
        let _ = write!(buf, "{value}");
        return;
    };
    let unit = 10u64.pow(scale);
    let mut digits = itoa::Buffer::new();
    buf.extend_from_slice(digits.format(m / unit).as_bytes());
    if scale > 0 {
        buf.push(b'.');
        padded(buf, m % unit, scale as usize);
    }
}

/// `n` in decimal, zero-padded on the left to `width` digits.
fn padded(buf: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let text = digits.format(n);
    buf.resize(buf.len() + width.saturating_sub(text.len()), b'0');
    buf.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_as_display_writes_them() {
        let samples = ["0", "0.00", "0.3", "0.30", "12", "12.50", "1000000000", "0.01", "4.95", "123456789.123456789"];
        let extremes = ["79228162514264337593543950335", "0.0000000000000000000000000001", "18446744073709551616.5"];
        for text in samples.iter().chain(&extremes) {
            let a = Amount::parse(text).unwrap();
            let mut buf = Vec::new();
            write_amount(&mut buf, a);
            assert_eq!(String::from_utf8(buf).unwrap(), a.to_string(), "{text}");
        }
    }

    #[test]
    fn writes_what_serde_json_reads_back() {
        let mut out = JsonOut::object(16);
        out.bool("Status", true).str("Name", "Иван \"Ваня\"\n\\").amount("Amount", Amount::parse("12.50").unwrap());
        out.array("Lines");
        out.element().date("Expire", NaiveDate::from_ymd_opt(2027, 1, 2)).end_object();
        out.element().date("Expire", None).end_object();
        out.element().date("Expire", NaiveDate::from_ymd_opt(33, 11, 30)).uint("N", 7).end_object();
        out.end_array();
        let v: serde_json::Value = serde_json::from_slice(&out.finish()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Status": true, "Name": "Иван \"Ваня\"\n\\", "Amount": 12.5,
                "Lines": [{"Expire": "2027-01-02"}, {"Expire": null}, {"Expire": "0033-11-30", "N": 7}]})
        );
    }
}
