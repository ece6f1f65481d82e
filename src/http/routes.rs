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
    /// GET /api/admin/contacts/{code}
    GetContact(String),
    /// GET /api/admin/contacts?phone=…|code=…|name=…&limit=&after=
    SearchContacts,
    /// POST /api/admin/contacts/{code}/erase
    EraseContact(String),
    /// PUT /api/admin/cards/{number}
    PutCard(String),
    /// GET /api/admin/cards/{number}
    GetCard(String),
    /// GET /api/admin/cards?status=…|contact=…&limit=&after=
    SearchCards,
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
            Route::PutContact(_)
            | Route::GetContact(_)
            | Route::SearchContacts
            | Route::EraseContact(_)
            | Route::PutCard(_)
            | Route::GetCard(_)
            | Route::SearchCards
            | Route::AddBonus(_)
            | Route::History(_) => RuleMethod::Admin,
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
    /// The path is known; these HTTP methods are allowed on it (the
    /// `Allow` header's value, e.g. `GET, PUT`).
    MethodNotAllowed(&'static str),
}

fn decode(seg: &str) -> Option<String> {
    percent_encoding::percent_decode_str(seg).decode_utf8().ok().map(|c| c.into_owned())
}

/// Matches an HTTP method and raw path to a route.
pub fn match_route(method: &str, raw_path: &str) -> Result<Route, NoRoute> {
    let trimmed = raw_path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(raw_path);
    let raw: Vec<&str> = trimmed.split('/').skip(1).collect();
    let lower: Vec<String> = raw.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let value = |i: usize| decode(raw[i]).ok_or(NoRoute::NotFound);
    // Each path's routes by HTTP method, and the `Allow` header naming them.
    let one = |m: &'static str, r: Route| (vec![(m, r)], m);
    let (routes, allowed): (Vec<(&'static str, Route)>, &'static str) = match l.as_slice() {
        ["api", "card", "balance", "by", "number", _] => one("GET", Route::BalanceByNumber(value(5)?)),
        ["api", "card", "balance", "by", "phone", _] => one("GET", Route::BalanceByPhone(value(5)?)),
        ["api", "card", "balance", "by", "code", _] => one("GET", Route::BalanceByCode(value(5)?)),
        ["api", "card", "balance", "by", _] => one("GET", Route::BalanceByValue(value(4)?)),
        ["api", "card", "issue"] => one("GET", Route::Issue),
        ["api", "card", "bindto"] => one("POST", Route::BindTo),
        ["api", "card", "active"] => one("GET", Route::Active),
        ["api", "card", "block"] => one("POST", Route::Block),
        ["api", "card", "unblock"] => one("POST", Route::UnBlock),
        ["api", "admin", "contacts"] => one("GET", Route::SearchContacts),
        ["api", "admin", "contacts", _] => {
            let code = value(3)?;
            (vec![("GET", Route::GetContact(code.clone())), ("PUT", Route::PutContact(code))], "GET, PUT")
        }
        ["api", "admin", "contacts", _, "erase"] => one("POST", Route::EraseContact(value(3)?)),
        ["api", "admin", "cards"] => one("GET", Route::SearchCards),
        ["api", "admin", "cards", _] => {
            let number = value(3)?;
            (vec![("GET", Route::GetCard(number.clone())), ("PUT", Route::PutCard(number))], "GET, PUT")
        }
        ["api", "admin", "cards", _, "bonuses"] => one("POST", Route::AddBonus(value(3)?)),
        ["api", "admin", "cards", _, "history"] => one("GET", Route::History(value(3)?)),
        ["api", "purchase", "calculate"] => one("POST", Route::Calculate),
        ["api", "purchase", "confirm"] => one("POST", Route::Confirm),
        ["api", "purchase", "cancel"] => one("POST", Route::Cancel),
        ["api", "purchase", "return"] => one("POST", Route::Return),
        ["api", "purchase", "receipt", _] => one("GET", Route::Receipt(value(3)?)),
        ["health"] => one("GET", Route::Health),
        ["ready"] => one("GET", Route::Ready),
        _ => return Err(NoRoute::NotFound),
    };
    debug_assert!(routes.iter().all(|(m, _)| allowed.split(", ").any(|a| a == *m)), "Allow names every method");
    routes
        .into_iter()
        .find(|(m, _)| method.eq_ignore_ascii_case(m))
        .map(|(_, route)| route)
        .ok_or(NoRoute::MethodNotAllowed(allowed))
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
    fn admin_paths_with_two_methods_allow_both() {
        assert_eq!(match_route("GET", "/api/admin/contacts/C-1"), Ok(Route::GetContact("C-1".into())));
        assert_eq!(match_route("put", "/api/admin/contacts/C-1"), Ok(Route::PutContact("C-1".into())));
        assert_eq!(match_route("DELETE", "/api/admin/contacts/C-1"), Err(NoRoute::MethodNotAllowed("GET, PUT")));
        assert_eq!(match_route("GET", "/api/admin/cards/123456"), Ok(Route::GetCard("123456".into())));
        assert_eq!(match_route("POST", "/api/admin/cards/123456"), Err(NoRoute::MethodNotAllowed("GET, PUT")));
        assert_eq!(match_route("GET", "/api/admin/contacts/"), Ok(Route::SearchContacts));
        assert_eq!(match_route("GET", "/api/Admin/Cards"), Ok(Route::SearchCards));
        assert_eq!(match_route("PUT", "/api/admin/cards"), Err(NoRoute::MethodNotAllowed("GET")));
        assert_eq!(match_route("POST", "/api/admin/contacts/C-1/Erase"), Ok(Route::EraseContact("C-1".into())));
        assert_eq!(match_route("GET", "/api/admin/contacts/C-1/erase"), Err(NoRoute::MethodNotAllowed("POST")));
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
