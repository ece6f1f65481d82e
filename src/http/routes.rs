//! The route table. Paths match case-insensitively and each segment is
//! percent-decoded after splitting, so `%2F` inside a value stays in it.

use crate::rules::Method as RuleMethod;

/// A matched route with its path values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// GET /api/card/balance/by/number/{number}
    BalanceByNumber(String),
    /// GET /api/card/balance/by/phone/{phone}
    BalanceByPhone(String),
    /// GET /api/card/balance/by/code/{code}
    BalanceByCode(String),
    /// GET /api/card/balance/by/{value}
    BalanceByValue(String),
    /// GET /api/card/Issue?Number=…
    Issue,
    /// POST /api/card/BindTo
    BindTo,
    /// GET /api/card/Active?Number=…
    Active,
    /// POST /api/card/Block
    Block,
    /// POST /api/card/UnBlock
    UnBlock,
    /// PUT /api/admin/contacts/{code}
    PutContact(String),
    /// PUT /api/admin/cards/{number}
    PutCard(String),
    /// POST /api/admin/cards/{number}/bonuses
    AddBonus(String),
    /// GET /api/admin/cards/{number}/history
    History(String),
    /// POST /api/purchase/Calculate
    Calculate,
    /// POST /api/purchase/Confirm
    Confirm,
    /// POST /api/purchase/Cancel
    Cancel,
    /// POST /api/purchase/Return
    Return,
    /// GET /api/purchase/Receipt/{ReceiptId}
    Receipt(String),
    /// GET /health: the process answers (no auth).
    Health,
    /// GET /ready: the store answers, rules and users are loaded (no auth).
    Ready,
}

impl Route {
    /// The rules' name for the method, for access checks; `None` for the
    /// load balancer's probes, which need no credentials.
    pub fn method(&self) -> Option<RuleMethod> {
        Some(match self {
            Route::BalanceByNumber(_)
            | Route::BalanceByPhone(_)
            | Route::BalanceByCode(_)
            | Route::BalanceByValue(_) => RuleMethod::Balance,
            Route::Issue => RuleMethod::Issue,
            Route::BindTo => RuleMethod::BindTo,
            Route::Active => RuleMethod::Active,
            Route::Block => RuleMethod::Block,
            Route::UnBlock => RuleMethod::UnBlock,
            Route::PutContact(_) | Route::PutCard(_) | Route::AddBonus(_) | Route::History(_) => RuleMethod::Admin,
            Route::Calculate => RuleMethod::Calculate,
            Route::Confirm => RuleMethod::Confirm,
            Route::Cancel => RuleMethod::Cancel,
            Route::Return => RuleMethod::Return,
            Route::Receipt(_) => RuleMethod::Receipt,
            Route::Health | Route::Ready => return None,
        })
    }

    /// The method's name in metrics and logs: the rules' name, or the probe's.
    pub fn name(&self) -> &'static str {
        match (self, self.method()) {
            (_, Some(method)) => method.name(),
            (Route::Health, None) => "Health",
            (_, None) => "Ready",
        }
    }

    /// Whether the route reads a JSON body.
    pub fn has_body(&self) -> bool {
        matches!(
            self,
            Route::BindTo
                | Route::Block
                | Route::UnBlock
                | Route::PutContact(_)
                | Route::PutCard(_)
                | Route::AddBonus(_)
                | Route::Calculate
                | Route::Confirm
                | Route::Cancel
                | Route::Return
        )
    }
}

/// Why no route matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    NotFound,
    /// The path is known; these HTTP methods are allowed on it.
    MethodNotAllowed(&'static str),
}

fn decode(seg: &str) -> Option<String> {
    percent_encoding::percent_decode_str(seg).decode_utf8().ok().map(|c| c.into_owned())
}

/// `/api/card/balance/by/{number|phone|code}/` with nothing after the last
/// slash: that way of looking up with an empty value (a missing parameter),
/// not `/balance/by/{value}` with the value `number`.
fn empty_balance_value(raw_path: &str) -> Option<Route> {
    let lower = raw_path.to_ascii_lowercase();
    let kind = lower.strip_prefix("/api/card/balance/by/")?.strip_suffix('/')?;
    match kind {
        "number" => Some(Route::BalanceByNumber(String::new())),
        "phone" => Some(Route::BalanceByPhone(String::new())),
        "code" => Some(Route::BalanceByCode(String::new())),
        _ => None,
    }
}

/// Matches an HTTP method and raw path to a route.
pub fn match_route(method: &str, raw_path: &str) -> Result<Route, NoRoute> {
    if let Some(route) = empty_balance_value(raw_path) {
        return if method.eq_ignore_ascii_case("GET") { Ok(route) } else { Err(NoRoute::MethodNotAllowed("GET")) };
    }
    let trimmed = raw_path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(raw_path);
    let raw: Vec<&str> = trimmed.split('/').skip(1).collect();
    let lower: Vec<String> = raw.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let value = |i: usize| decode(raw[i]).ok_or(NoRoute::NotFound);
    let (route, allowed): (Route, &'static str) = match l.as_slice() {
        ["api", "card", "balance", "by", "number", _] => (Route::BalanceByNumber(value(5)?), "GET"),
        ["api", "card", "balance", "by", "phone", _] => (Route::BalanceByPhone(value(5)?), "GET"),
        ["api", "card", "balance", "by", "code", _] => (Route::BalanceByCode(value(5)?), "GET"),
        ["api", "card", "balance", "by", _] => (Route::BalanceByValue(value(4)?), "GET"),
        ["api", "card", "issue"] => (Route::Issue, "GET"),
        ["api", "card", "bindto"] => (Route::BindTo, "POST"),
        ["api", "card", "active"] => (Route::Active, "GET"),
        ["api", "card", "block"] => (Route::Block, "POST"),
        ["api", "card", "unblock"] => (Route::UnBlock, "POST"),
        ["api", "admin", "contacts", _] => (Route::PutContact(value(3)?), "PUT"),
        ["api", "admin", "cards", _] => (Route::PutCard(value(3)?), "PUT"),
        ["api", "admin", "cards", _, "bonuses"] => (Route::AddBonus(value(3)?), "POST"),
        ["api", "admin", "cards", _, "history"] => (Route::History(value(3)?), "GET"),
        ["api", "purchase", "calculate"] => (Route::Calculate, "POST"),
        ["api", "purchase", "confirm"] => (Route::Confirm, "POST"),
        ["api", "purchase", "cancel"] => (Route::Cancel, "POST"),
        ["api", "purchase", "return"] => (Route::Return, "POST"),
        ["api", "purchase", "receipt", _] => (Route::Receipt(value(3)?), "GET"),
        ["health"] => (Route::Health, "GET"),
        ["ready"] => (Route::Ready, "GET"),
        _ => return Err(NoRoute::NotFound),
    };
    if method.eq_ignore_ascii_case(allowed) {
        Ok(route)
    } else {
        Err(NoRoute::MethodNotAllowed(allowed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_case_insensitively_and_values_are_decoded() {
        assert_eq!(match_route("POST", "/api/Card/UnBlock"), Ok(Route::UnBlock));
        assert_eq!(match_route("POST", "/API/CARD/unblock/"), Ok(Route::UnBlock));
        assert_eq!(
            match_route("GET", "/api/card/balance/by/phone/%2B79123456789"),
            Ok(Route::BalanceByPhone("+79123456789".into()))
        );
        assert_eq!(match_route("GET", "/api/card/balance/by/Code/AbC"), Ok(Route::BalanceByCode("AbC".into())));
        assert_eq!(match_route("GET", "/api/card/balance/by/123456"), Ok(Route::BalanceByValue("123456".into())));
        assert_eq!(match_route("GET", "/api/card/nothing"), Err(NoRoute::NotFound));
        assert_eq!(match_route("GET", "/api/card/block"), Err(NoRoute::MethodNotAllowed("POST")));
        assert_eq!(match_route("GET", "/api/card/balance/by/code/%FF"), Err(NoRoute::NotFound));
        assert_eq!(match_route("POST", "/api/admin/cards/123456/bonuses"), Ok(Route::AddBonus("123456".into())));
        assert_eq!(match_route("GET", "/Health"), Ok(Route::Health));
        assert_eq!(match_route("GET", "/ready/"), Ok(Route::Ready));
        assert_eq!(match_route("POST", "/ready"), Err(NoRoute::MethodNotAllowed("GET")));
    }

    #[test]
    fn an_empty_balance_value_is_that_lookup_with_nothing_to_look_up() {
        assert_eq!(match_route("GET", "/api/card/balance/by/number/"), Ok(Route::BalanceByNumber(String::new())));
        assert_eq!(match_route("GET", "/api/Card/Balance/By/Phone/"), Ok(Route::BalanceByPhone(String::new())));
        assert_eq!(match_route("GET", "/api/card/balance/by/code/"), Ok(Route::BalanceByCode(String::new())));
        // Without the slash it is still the source's `/balance/by/{value}`.
        assert_eq!(match_route("GET", "/api/card/balance/by/number"), Ok(Route::BalanceByValue("number".into())));
        assert_eq!(match_route("POST", "/api/card/balance/by/number/"), Err(NoRoute::MethodNotAllowed("GET")));
    }

    #[test]
    fn only_the_probes_go_without_a_rules_method() {
        assert_eq!(Route::Health.method(), None);
        assert_eq!(Route::Ready.method(), None);
        assert_eq!((Route::Health.name(), Route::Ready.name()), ("Health", "Ready"));
        assert_eq!(Route::Block.name(), "Block");
        assert_eq!(Route::BalanceByPhone("x".into()).name(), "Balance");
        assert_eq!(Route::History("1".into()).method(), Some(RuleMethod::Admin));
    }
}
