//! The query options of a request (`$top`, `$skip`, `$count`, `$select`, `$orderby`,
//! `$filter`, `$expand`), checked once and with limits a hostile query cannot pass, and how a
//! collection answer is cut, ordered and paged with them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::filter;

/// Entities in one page when `$top` does not say; and at most.
pub(super) const DEFAULT_TOP: usize = 100;
pub(super) const MAX_TOP: usize = 1000;

/// The longest query option, path and `$expand` nesting taken, and the most entities one
/// answer may hold: a hostile query gets 400, never unbounded work.
pub(super) const MAX_OPTION_LEN: usize = 4096;
pub(super) const MAX_EXPAND_DEPTH: usize = 3;
pub(super) const MAX_EXPAND_ITEMS: usize = 8;
pub(super) const MAX_ORDERBY: usize = 8;
pub(super) const MAX_ENTITIES: usize = 20_000;

/// The query options, checked once.
#[derive(Debug, Default)]
pub(super) struct Options {
    pub(super) top: usize,
    pub(super) skip: usize,
    pub(super) count: bool,
    pub(super) select: Option<Vec<String>>,
    pub(super) orderby: Vec<(String, bool)>,
    pub(super) filter: Option<filter::Expr>,
    /// The filter as written, for the next page's link.
    pub(super) filter_text: Option<String>,
    /// Related entities to put inline, each with its own options.
    pub(super) expand: Vec<Expand>,
    pub(super) expand_text: Option<String>,
}

/// One `$expand` item: a navigation property and the options of what it brings.
#[derive(Debug)]
pub(super) struct Expand {
    pub(super) property: String,
    pub(super) options: Options,
}

/// Splits at `sep` outside parentheses and quotes.
pub(super) fn split_top(text: &str, sep: char) -> Vec<&str> {
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let mut parts = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            c if c == sep && depth == 0 && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `Locations,Datastreams($expand=Observations($top=1;$orderby=phenomenonTime desc))`, and
/// the path form `Datastreams/Observations`.
pub(super) fn parse_expand(text: &str, depth: usize) -> Result<Vec<Expand>, String> {
    if depth >= MAX_EXPAND_DEPTH {
        return Err(format!(
            "$expand: nested more than {MAX_EXPAND_DEPTH} levels deep"
        ));
    }
    let items = split_top(text, ',');
    if items.len() > MAX_EXPAND_ITEMS {
        return Err(format!(
            "$expand: at most {MAX_EXPAND_ITEMS} items at a level"
        ));
    }
    let mut out: Vec<Expand> = Vec::new();
    for item in items {
        let item = item.trim();
        let (head, inner) = match item.find('(') {
            Some(i) if item.ends_with(')') => (&item[..i], Some(&item[i + 1..item.len() - 1])),
            Some(_) => return Err(format!("$expand: `{item}` lacks its closing `)`")),
            None => (item, None),
        };
        let mut path = head.split('/');
        let first = path.next().unwrap_or("").trim();
        const NAVIGATIONS: [&str; 12] = [
            "Things",
            "Thing",
            "Locations",
            "HistoricalLocations",
            "Datastreams",
            "Datastream",
            "Sensor",
            "ObservedProperty",
            "Observations",
            "FeatureOfInterest",
            "Sensors",
            "ObservedProperties",
        ];
        if !NAVIGATIONS.contains(&first) {
            return Err(format!("$expand: `{first}` is not a navigation property"));
        }
        let mut query = BTreeMap::new();
        for pair in inner.map(|i| split_top(i, ';')).unwrap_or_default() {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("$expand: `{pair}` is not OPTION=VALUE"))?;
            query.insert(k.trim().to_owned(), v.trim().to_owned());
        }
        let rest: Vec<&str> = path.collect();
        if !rest.is_empty() {
            // `A/B(opts)`: A expanded with B expanded in it.
            let nested = format!(
                "{}{}",
                rest.join("/"),
                inner.map(|i| format!("({i})")).unwrap_or_default()
            );
            query = BTreeMap::from([("$expand".to_owned(), nested)]);
        }
        let mut options = options_at(&query, depth + 1)?;
        if !query.contains_key("$top") {
            options.top = DEFAULT_TOP;
        }
        if out.iter().any(|e| e.property == first) {
            return Err(format!("$expand: `{first}` twice"));
        }
        out.push(Expand {
            property: first.to_owned(),
            options,
        });
    }
    Ok(out)
}

pub(super) fn options(query: &BTreeMap<String, String>) -> Result<Options, String> {
    options_at(query, 0)
}

pub(super) fn options_at(
    query: &BTreeMap<String, String>,
    depth: usize,
) -> Result<Options, String> {
    let mut o = Options {
        top: DEFAULT_TOP,
        ..Options::default()
    };
    for (key, value) in query {
        if value.len() > MAX_OPTION_LEN {
            return Err(format!("{key}: longer than {MAX_OPTION_LEN} characters"));
        }
        match key.as_str() {
            "$top" => {
                o.top = value
                    .parse::<usize>()
                    .map_err(|_| format!("$top: `{value}` is not a whole number"))?
                    .min(MAX_TOP)
            }
            "$skip" => {
                o.skip = value
                    .parse()
                    .map_err(|_| format!("$skip: `{value}` is not a whole number"))?
            }
            "$count" => {
                o.count = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("$count: `{value}` is not true or false")),
                }
            }
            "$select" => {
                o.select = Some(value.split(',').map(|s| s.trim().to_owned()).collect());
            }
            "$orderby" => {
                for part in value.split(',') {
                    let mut words = part.split_whitespace();
                    let property = words
                        .next()
                        .ok_or_else(|| format!("$orderby: `{value}` names no property"))?;
                    let descending = match words.next() {
                        None | Some("asc") => false,
                        Some("desc") => true,
                        Some(other) => {
                            return Err(format!("$orderby: `{other}` is not asc or desc"))
                        }
                    };
                    o.orderby.push((property.to_owned(), descending));
                }
                if o.orderby.len() > MAX_ORDERBY {
                    return Err(format!("$orderby: at most {MAX_ORDERBY} properties"));
                }
            }
            "$filter" => {
                o.filter = Some(filter::parse(value).map_err(|e| e.to_string())?);
                o.filter_text = Some(value.clone());
            }
            "$expand" => {
                o.expand = parse_expand(value, depth)?;
                o.expand_text = Some(value.clone());
            }
            "$resultFormat" => return Err(format!("{key}: not supported by this server yet")),
            other if other.starts_with('$') => {
                return Err(format!("{other}: not a SensorThings query option"))
            }
            _ => {}
        }
    }
    Ok(o)
}

/// A property of an entity for `$orderby`, `id` meaning `@iot.id`.
pub(super) fn property<'a>(entity: &'a Value, name: &str) -> &'a Value {
    match name {
        "id" | "@iot.id" => &entity["@iot.id"],
        other => &entity[other],
    }
}

pub(super) fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Less,
        (_, Value::Null) => std::cmp::Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Only the selected properties of an entity (and the expanded ones).
pub(super) fn select(entity: Value, select: &Option<Vec<String>>, expanded: &[Expand]) -> Value {
    let (Some(fields), Value::Object(map)) = (select, &entity) else {
        return entity;
    };
    let kept = map
        .iter()
        .filter(|(k, _)| {
            fields
                .iter()
                .any(|f| f == *k || (f == "id" && *k == "@iot.id"))
                || expanded.iter().any(|e| e.property == **k)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// A collection answer: ordered, counted, paged, with the link to the next page.
#[cfg(test)]
pub(super) fn collection(entities: Vec<Value>, o: &Options, self_path: &str, base: &str) -> Value {
    let (page, total) = page_of(entities, o);
    let page = page
        .into_iter()
        .map(|e| select(e, &o.select, &[]))
        .collect();
    wrap(page, total, o, self_path, base)
}

/// Filtered, ordered and cut to the page; with the number before the cut.
pub(super) fn page_of(mut entities: Vec<Value>, o: &Options) -> (Vec<Value>, usize) {
    if let Some(f) = &o.filter {
        let now = sensorhub_store::time::now_ms();
        entities.retain(|e| filter::matches(f, e, now));
    }
    if !o.orderby.is_empty() {
        entities.sort_by(|a, b| {
            o.orderby
                .iter()
                .map(|(p, desc)| {
                    let order = compare(property(a, p), property(b, p));
                    if *desc {
                        order.reverse()
                    } else {
                        order
                    }
                })
                .find(|c| c.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    let total = entities.len();
    let page = entities.into_iter().skip(o.skip).take(o.top).collect();
    (page, total)
}

/// A page as the answer writes it: the count and the next page's link around the entities.
pub(super) fn wrap(
    page: Vec<Value>,
    total: usize,
    o: &Options,
    self_path: &str,
    base: &str,
) -> Value {
    let mut body = serde_json::Map::new();
    if o.count {
        body.insert("@iot.count".into(), json!(total));
    }
    if o.skip + page.len() < total && o.top > 0 {
        let mut params = vec![
            format!("$top={}", o.top),
            format!("$skip={}", o.skip + o.top),
        ];
        if o.count {
            params.push("$count=true".into());
        }
        if !o.orderby.is_empty() {
            let order: Vec<String> = o
                .orderby
                .iter()
                .map(|(p, d)| format!("{p}%20{}", if *d { "desc" } else { "asc" }))
                .collect();
            params.push(format!("$orderby={}", order.join(",")));
        }
        if let Some(fields) = &o.select {
            params.push(format!("$select={}", fields.join(",")));
        }
        if let Some(text) = &o.filter_text {
            params.push(format!("$filter={}", percent(text)));
        }
        if let Some(text) = &o.expand_text {
            params.push(format!("$expand={}", percent(text)));
        }
        body.insert(
            "@iot.nextLink".into(),
            json!(format!("{base}/{self_path}?{}", params.join("&"))),
        );
    }
    body.insert("value".into(), Value::Array(page));
    Value::Object(body)
}

/// Text for a query string: everything but unreserved characters percent-encoded.
pub(super) fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
