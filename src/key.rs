//! The error keys of the API contract (SPEC.md §4, §5, §7, §8.4). One enum, one
//! `as_key()`: the wire string lives here and nowhere else.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKey {
    RequiredParameterNotSpecified,
    InvalidCardNumber,
    InvalidMobileNumber,
    InvalidContactCode,
    CannotFindCardNumber,
    /// Issue's own spelling of "card not found" (the source's).
    CardNumberCannotFind,
    CannotFindMobile,
    CannotFindMobileNumber,
    CannotFindContactCode,
    BlockReasonError,
    UnBlockReasonError,
    StatusError,
    CardNumberBindToAnotherContact,
    ContactBindToAnotherCardNumber,
    MobileNumberTaken,
    InvalidCategoryCode,
    InvalidTypeCode,
    InvalidAmount,
    InvalidDate,
    /// An unknown body field, a custom field not declared in
    /// registration.toml, a Gender outside its `genders` list (issue 13).
    InvalidField,
    /// An `Email` that is not an e-mail address (issue 13).
    InvalidEmail,
    /// An import line whose card number or contact code an earlier line of
    /// the same file already had (issue 13).
    DuplicateLine,
    InvalidReceiptId,
    InvalidReturnId,
    InvalidPosition,
    RedeemLimitExceeded,
    NotEnoughBonuses,
    ReceiptIdConflict,
    CannotFindReceipt,
    ReceiptCancelled,
    ReturnExceedsPurchase,
    Unauthorized,
    AccessDenied,
    MalformedRequest,
    RequestTooLarge,
    RequestTimeout,
    NotFound,
    MethodNotAllowed,
    /// No longer answered: a throttled login is 401 `Unauthorized` with
    /// `Retry-After` (docs/api.md §3). Kept so the name stays reserved.
    TooManyRequests,
    /// `/ready`: the server cannot serve yet (503).
    NotReady,
    InternalError,
}

impl ErrorKey {
    pub const ALL: [ErrorKey; 41] = [
        ErrorKey::RequiredParameterNotSpecified,
        ErrorKey::InvalidCardNumber,
        ErrorKey::InvalidMobileNumber,
        ErrorKey::InvalidContactCode,
        ErrorKey::CannotFindCardNumber,
        ErrorKey::CardNumberCannotFind,
        ErrorKey::CannotFindMobile,
        ErrorKey::CannotFindMobileNumber,
        ErrorKey::CannotFindContactCode,
        ErrorKey::BlockReasonError,
        ErrorKey::UnBlockReasonError,
        ErrorKey::StatusError,
        ErrorKey::CardNumberBindToAnotherContact,
        ErrorKey::ContactBindToAnotherCardNumber,
        ErrorKey::MobileNumberTaken,
        ErrorKey::InvalidCategoryCode,
        ErrorKey::InvalidTypeCode,
        ErrorKey::InvalidAmount,
        ErrorKey::InvalidDate,
        ErrorKey::InvalidField,
        ErrorKey::InvalidEmail,
        ErrorKey::DuplicateLine,
        ErrorKey::InvalidReceiptId,
        ErrorKey::InvalidReturnId,
        ErrorKey::InvalidPosition,
        ErrorKey::RedeemLimitExceeded,
        ErrorKey::NotEnoughBonuses,
        ErrorKey::ReceiptIdConflict,
        ErrorKey::CannotFindReceipt,
        ErrorKey::ReceiptCancelled,
        ErrorKey::ReturnExceedsPurchase,
        ErrorKey::Unauthorized,
        ErrorKey::AccessDenied,
        ErrorKey::MalformedRequest,
        ErrorKey::RequestTooLarge,
        ErrorKey::RequestTimeout,
        ErrorKey::NotFound,
        ErrorKey::MethodNotAllowed,
        ErrorKey::TooManyRequests,
        ErrorKey::NotReady,
        ErrorKey::InternalError,
    ];

    /// The string sent as `Key`.
    pub fn as_key(self) -> &'static str {
        match self {
            ErrorKey::RequiredParameterNotSpecified => "RequiredParameterNotSpecified",
            ErrorKey::InvalidCardNumber => "InvalidCardNumber",
            ErrorKey::InvalidMobileNumber => "InvalidMobileNumber",
            ErrorKey::InvalidContactCode => "InvalidContactCode",
            ErrorKey::CannotFindCardNumber => "CannotFindCardNumber",
            ErrorKey::CardNumberCannotFind => "CardNumberCannotFind",
            ErrorKey::CannotFindMobile => "CannotFindMobile",
            ErrorKey::CannotFindMobileNumber => "CannotFindMobileNumber",
            ErrorKey::CannotFindContactCode => "CannotFindContactCode",
            ErrorKey::BlockReasonError => "BlockReasonError",
            ErrorKey::UnBlockReasonError => "UnBlockReasonError",
            ErrorKey::StatusError => "StatusError",
            ErrorKey::CardNumberBindToAnotherContact => "CardNumberBindToAnotherContact",
            ErrorKey::ContactBindToAnotherCardNumber => "ContactBindToAnotherCardNumber",
            ErrorKey::MobileNumberTaken => "MobileNumberTaken",
            ErrorKey::InvalidCategoryCode => "InvalidCategoryCode",
            ErrorKey::InvalidTypeCode => "InvalidTypeCode",
            ErrorKey::InvalidAmount => "InvalidAmount",
            ErrorKey::InvalidDate => "InvalidDate",
            ErrorKey::InvalidField => "InvalidField",
            ErrorKey::InvalidEmail => "InvalidEmail",
            ErrorKey::DuplicateLine => "DuplicateLine",
            ErrorKey::InvalidReceiptId => "InvalidReceiptId",
            ErrorKey::InvalidReturnId => "InvalidReturnId",
            ErrorKey::InvalidPosition => "InvalidPosition",
            ErrorKey::RedeemLimitExceeded => "RedeemLimitExceeded",
            ErrorKey::NotEnoughBonuses => "NotEnoughBonuses",
            ErrorKey::ReceiptIdConflict => "ReceiptIdConflict",
            ErrorKey::CannotFindReceipt => "CannotFindReceipt",
            ErrorKey::ReceiptCancelled => "ReceiptCancelled",
            ErrorKey::ReturnExceedsPurchase => "ReturnExceedsPurchase",
            ErrorKey::Unauthorized => "Unauthorized",
            ErrorKey::AccessDenied => "AccessDenied",
            ErrorKey::MalformedRequest => "MalformedRequest",
            ErrorKey::RequestTooLarge => "RequestTooLarge",
            ErrorKey::RequestTimeout => "RequestTimeout",
            ErrorKey::NotFound => "NotFound",
            ErrorKey::MethodNotAllowed => "MethodNotAllowed",
            ErrorKey::TooManyRequests => "TooManyRequests",
            ErrorKey::NotReady => "NotReady",
            ErrorKey::InternalError => "InternalError",
        }
    }

    pub fn from_key(s: &str) -> Option<ErrorKey> {
        ErrorKey::ALL.into_iter().find(|k| k.as_key() == s)
    }
}

impl std::fmt::Display for ErrorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_key())
    }
}
