//! The route table. Paths match case-insensitively and each segment is
//! percent-decoded after splitting, so `%2F` inside a value stays in it.

use crate::export::ExportKind;
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
    /// GET /api/admin/export/{contacts.csv|cards.csv|bonuses.csv|receipts.jsonl}
    Export(crate::export::ExportKind),
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
    /// GET /api/openapi.json: the OpenAPI document (no auth).
    OpenApi,
}

impl Route {
    /// The rules' name for the method, for access checks; `None` for the
    /// load balancer's probes and the OpenAPI document, which need no
    /// credentials.
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
            | Route::History(_)
            | Route::Export(_) => RuleMethod::Admin,
            Route::Calculate => RuleMethod::Calculate,
            Route::Confirm => RuleMethod::Confirm,
            Route::Cancel => RuleMethod::Cancel,
            Route::Return => RuleMethod::Return,
            Route::Receipt(_) => RuleMethod::Receipt,
            Route::Health | Route::Ready | Route::OpenApi => return None,
        })
    }

    /// The method's name in metrics and logs: the rules' name, or the probe's.
    pub fn name(&self) -> &'static str {
        match (self, self.method()) {
            (_, Some(method)) => method.name(),
            (Route::Health, None) => "Health",
            (Route::OpenApi, None) => "OpenApi",
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
    /// The path is known; these HTTP methods are allowed on it (the value
    /// of the `Allow` header, e.g. `GET` or `GET, PUT`).
    MethodNotAllowed(String),
}

/// One row of the route table: the HTTP method, the path template (a
/// `{name}` segment takes any one segment, percent-decoded, as a value) and
/// how the route is made from the values, in path order.
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    make: fn(&mut Values) -> Route,
}

/// The values of a path's `{name}` segments, taken in order by [`Endpoint`]s.
pub struct Values(std::vec::IntoIter<String>);

impl Values {
    fn next(&mut self) -> String {
        self.0.next().unwrap_or_default()
    }
}

macro_rules! endpoint {
    ($method:literal $path:literal => $make:expr) => {
        Endpoint { method: $method, path: $path, make: $make }
    };
}

/// Every route the server answers. The OpenAPI document (docs/openapi.json)
/// must name exactly these: tests/openapi.rs compares the two.
pub const ROUTES: &[Endpoint] = &[
    endpoint!("GET" "/api/card/balance/by/number/{number}" => |v| Route::BalanceByNumber(v.next())),
    endpoint!("GET" "/api/card/balance/by/phone/{phone}" => |v| Route::BalanceByPhone(v.next())),
    endpoint!("GET" "/api/card/balance/by/code/{code}" => |v| Route::BalanceByCode(v.next())),
    endpoint!("GET" "/api/card/balance/by/{value}" => |v| Route::BalanceByValue(v.next())),
    endpoint!("GET" "/api/card/Issue" => |_| Route::Issue),
    endpoint!("POST" "/api/card/BindTo" => |_| Route::BindTo),
    endpoint!("GET" "/api/card/Active" => |_| Route::Active),
    endpoint!("POST" "/api/card/Block" => |_| Route::Block),
    endpoint!("POST" "/api/card/UnBlock" => |_| Route::UnBlock),
    endpoint!("GET" "/api/admin/contacts" => |_| Route::SearchContacts),
    endpoint!("GET" "/api/admin/contacts/{code}" => |v| Route::GetContact(v.next())),
    endpoint!("PUT" "/api/admin/contacts/{code}" => |v| Route::PutContact(v.next())),
    endpoint!("POST" "/api/admin/contacts/{code}/erase" => |v| Route::EraseContact(v.next())),
    endpoint!("GET" "/api/admin/cards" => |_| Route::SearchCards),
    endpoint!("GET" "/api/admin/cards/{number}" => |v| Route::GetCard(v.next())),
    endpoint!("PUT" "/api/admin/cards/{number}" => |v| Route::PutCard(v.next())),
    endpoint!("POST" "/api/admin/cards/{number}/bonuses" => |v| Route::AddBonus(v.next())),
    endpoint!("GET" "/api/admin/cards/{number}/history" => |v| Route::History(v.next())),
    endpoint!("GET" "/api/admin/export/contacts.csv" => |_| Route::Export(ExportKind::Contacts)),
    endpoint!("GET" "/api/admin/export/cards.csv" => |_| Route::Export(ExportKind::Cards)),
    endpoint!("GET" "/api/admin/export/bonuses.csv" => |_| Route::Export(ExportKind::Bonuses)),
    endpoint!("GET" "/api/admin/export/receipts.jsonl" => |_| Route::Export(ExportKind::Receipts)),
    endpoint!("POST" "/api/purchase/Calculate" => |_| Route::Calculate),
    endpoint!("POST" "/api/purchase/Confirm" => |_| Route::Confirm),
    endpoint!("POST" "/api/purchase/Cancel" => |_| Route::Cancel),
    endpoint!("POST" "/api/purchase/Return" => |_| Route::Return),
    endpoint!("GET" "/api/purchase/Receipt/{ReceiptId}" => |v| Route::Receipt(v.next())),
    endpoint!("GET" "/health" => |_| Route::Health),
    endpoint!("GET" "/ready" => |_| Route::Ready),
    endpoint!("GET" "/api/openapi.json" => |_| Route::OpenApi),
];

fn decode(seg: &str) -> Option<String> {
    percent_encoding::percent_decode_str(seg).decode_utf8().ok().map(|c| c.into_owned())
}

/// `/api/card/balance/by/{number|phone|code}/` with nothing after the last
/// slash: that way of looking up with an empty value (a missing parameter),
/// not `/balance/by/{value}` with the value `number`.
fn empty_balance_value(raw_path: &str) -> Option<Route> {
    const PREFIX: &str = "/api/card/balance/by/";
    let head = raw_path.get(..PREFIX.len()).filter(|h| h.eq_ignore_ascii_case(PREFIX))?;
    let kind = raw_path[head.len()..].strip_suffix('/')?;
    if kind.eq_ignore_ascii_case("number") {
        Some(Route::BalanceByNumber(String::new()))
    } else if kind.eq_ignore_ascii_case("phone") {
        Some(Route::BalanceByPhone(String::new()))
    } else if kind.eq_ignore_ascii_case("code") {
        Some(Route::BalanceByCode(String::new()))
    } else {
        None
    }
}

/// Each row's template split into segments, once.
fn templates() -> &'static [Vec<&'static str>] {
    static SPLIT: std::sync::OnceLock<Vec<Vec<&'static str>>> = std::sync::OnceLock::new();
    SPLIT.get_or_init(|| ROUTES.iter().map(|e| e.path.split('/').skip(1).collect()).collect())
}

/// The path's values when it fits the template (literal segments compared
/// case-insensitively); `Err(())` when a value is not UTF-8 once decoded.
fn fit(template: &[&str], raw: &[&str]) -> Option<Result<Vec<String>, ()>> {
    if template.len() != raw.len() {
        return None;
    }
    let mut values = Vec::new();
    for (t, r) in template.iter().zip(raw) {
        if t.starts_with('{') {
            match decode(r) {
                Some(v) => values.push(v),
                None => return Some(Err(())),
            }
        } else if !t.eq_ignore_ascii_case(r) {
            return None;
        }
    }
    Some(Ok(values))
}

/// Matches an HTTP method and raw path to a route: the first row of
/// [`ROUTES`] whose path fits and whose method is the request's; a path
/// that fits only rows of other methods is 405 with those methods.
pub fn match_route(method: &str, raw_path: &str) -> Result<Route, NoRoute> {
    if let Some(route) = empty_balance_value(raw_path) {
        return if method.eq_ignore_ascii_case("GET") {
            Ok(route)
        } else {
            Err(NoRoute::MethodNotAllowed("GET".into()))
        };
    }
    let trimmed = raw_path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(raw_path);
    let raw: Vec<&str> = trimmed.split('/').skip(1).collect();
    let mut allowed: Vec<&'static str> = Vec::new();
    for (e, template) in ROUTES.iter().zip(templates()) {
        let Some(values) = fit(template, &raw) else { continue };
        let Ok(values) = values else { return Err(NoRoute::NotFound) };
        if method.eq_ignore_ascii_case(e.method) {
            return Ok((e.make)(&mut Values(values.into_iter())));
        }
        if !allowed.contains(&e.method) {
            allowed.push(e.method);
        }
    }
    if allowed.is_empty() {
        Err(NoRoute::NotFound)
    } else {
        Err(NoRoute::MethodNotAllowed(allowed.join(", ")))
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
        assert_eq!(match_route("GET", "/api/card/block"), Err(NoRoute::MethodNotAllowed("POST".into())));
        assert_eq!(match_route("GET", "/api/card/balance/by/code/%FF"), Err(NoRoute::NotFound));
        assert_eq!(match_route("POST", "/api/admin/cards/123456/bonuses"), Ok(Route::AddBonus("123456".into())));
        assert_eq!(
            match_route("GET", "/api/Admin/Export/Cards.CSV"),
            Ok(Route::Export(crate::export::ExportKind::Cards))
        );
        assert_eq!(match_route("GET", "/api/admin/export/cards"), Err(NoRoute::NotFound));
        assert_eq!(match_route("POST", "/api/admin/export/bonuses.csv"), Err(NoRoute::MethodNotAllowed("GET".into())));
        assert_eq!(match_route("GET", "/Health"), Ok(Route::Health));
        assert_eq!(match_route("GET", "/ready/"), Ok(Route::Ready));
        assert_eq!(match_route("POST", "/ready"), Err(NoRoute::MethodNotAllowed("GET".into())));
    }

    #[test]
    fn every_row_matches_its_own_template_and_no_row_is_shadowed() {
        for (i, e) in ROUTES.iter().enumerate() {
            let path = e.path.replace('{', "x").replace('}', "");
            let route = match_route(e.method, &path).unwrap_or_else(|n| panic!("{} {}: {n:?}", e.method, e.path));
            // The first row that fits is this one: no earlier row shadows it.
            let first =
                ROUTES.iter().position(|o| o.method == e.method && fit(&split(o.path), &split(&path)).is_some());
            assert_eq!(first, Some(i), "{} {} is shadowed by an earlier row", e.method, e.path);
            assert_eq!(route.method().is_none(), matches!(route, Route::Health | Route::Ready | Route::OpenApi));
        }
    }

    fn split(path: &str) -> Vec<&str> {
        path.split('/').skip(1).collect()
    }

    #[test]
    fn a_known_path_names_its_methods_and_the_document_has_a_route() {
        assert_eq!(match_route("DELETE", "/api/admin/cards/1/history"), Err(NoRoute::MethodNotAllowed("GET".into())));
        assert_eq!(match_route("GET", "/api/openapi.json"), Ok(Route::OpenApi));
        assert_eq!(match_route("GET", "/API/OpenAPI.JSON"), Ok(Route::OpenApi));
    }

    #[test]
    fn an_empty_balance_value_is_that_lookup_with_nothing_to_look_up() {
        assert_eq!(match_route("GET", "/api/card/balance/by/number/"), Ok(Route::BalanceByNumber(String::new())));
        assert_eq!(match_route("GET", "/api/Card/Balance/By/Phone/"), Ok(Route::BalanceByPhone(String::new())));
        assert_eq!(match_route("GET", "/api/card/balance/by/code/"), Ok(Route::BalanceByCode(String::new())));
        // Without the slash it is still the source's `/balance/by/{value}`.
        assert_eq!(match_route("GET", "/api/card/balance/by/number"), Ok(Route::BalanceByValue("number".into())));
        assert_eq!(match_route("POST", "/api/card/balance/by/number/"), Err(NoRoute::MethodNotAllowed("GET".into())));
    }

    #[test]
    fn admin_paths_with_two_methods_allow_both() {
        assert_eq!(match_route("GET", "/api/admin/contacts/C-1"), Ok(Route::GetContact("C-1".into())));
        assert_eq!(match_route("put", "/api/admin/contacts/C-1"), Ok(Route::PutContact("C-1".into())));
        assert_eq!(match_route("DELETE", "/api/admin/contacts/C-1"), Err(NoRoute::MethodNotAllowed("GET, PUT".into())));
        assert_eq!(match_route("GET", "/api/admin/cards/123456"), Ok(Route::GetCard("123456".into())));
        assert_eq!(match_route("POST", "/api/admin/cards/123456"), Err(NoRoute::MethodNotAllowed("GET, PUT".into())));
        assert_eq!(match_route("GET", "/api/admin/contacts/"), Ok(Route::SearchContacts));
        assert_eq!(match_route("GET", "/api/Admin/Cards"), Ok(Route::SearchCards));
        assert_eq!(match_route("PUT", "/api/admin/cards"), Err(NoRoute::MethodNotAllowed("GET".into())));
        assert_eq!(match_route("POST", "/api/admin/contacts/C-1/Erase"), Ok(Route::EraseContact("C-1".into())));
        assert_eq!(match_route("GET", "/api/admin/contacts/C-1/erase"), Err(NoRoute::MethodNotAllowed("POST".into())));
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
