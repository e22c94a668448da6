//! `*.query` filters and options (`filter_list` of the middleware).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::wire_error::MethodError;

fn bad(attr: impl Into<String>, msg: impl Into<String>) -> MethodError {
    MethodError::validation(attr, msg)
}

/// Looks up a dotted field (`group.bsdgrp_gid`).
fn get_field<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

/// `{"$date": ms}` compares as its number.
fn scalar(v: &Value) -> &Value {
    v.get("$date").unwrap_or(v)
}

fn cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (scalar(a), scalar(b)) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

fn lower(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.to_lowercase()),
        Value::Array(a) => Value::Array(a.iter().map(lower).collect()),
        other => other.clone(),
    }
}

fn eq(a: &Value, b: &Value) -> bool {
    cmp(a, b) == Some(Ordering::Equal) || scalar(a) == scalar(b)
}

fn contains(container: &Value, item: &Value) -> bool {
    match container {
        Value::Array(a) => a.iter().any(|x| eq(x, item)),
        Value::String(s) => item.as_str().is_some_and(|i| s.contains(i)),
        _ => false,
    }
}

/// One `[field, op, value]` condition against `entry`.
pub(crate) fn matches_one(entry: &Value, filter: &[Value]) -> Result<bool, MethodError> {
    let [field, op, value] = filter else {
        return Err(bad("filters", "Invalid filter"));
    };
    let field = field
        .as_str()
        .ok_or_else(|| bad("filters", "Invalid filter"))?;
    let op = op
        .as_str()
        .ok_or_else(|| bad("filters", "Invalid filter"))?;
    let (ci, op) = match op.strip_prefix('C') {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, op),
    };
    let null = Value::Null;
    let left = get_field(entry, field).unwrap_or(&null);
    let (left, value) = if ci {
        (lower(left), lower(value))
    } else {
        (left.clone(), value.clone())
    };
    let s = |v: &Value| v.as_str().map(str::to_owned);
    Ok(match op {
        "=" => eq(&left, &value),
        "!=" => !eq(&left, &value),
        ">" => cmp(&left, &value) == Some(Ordering::Greater),
        ">=" => matches!(
            cmp(&left, &value),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        "<" => cmp(&left, &value) == Some(Ordering::Less),
        "<=" => matches!(cmp(&left, &value), Some(Ordering::Less | Ordering::Equal)),
        "~" => match (s(&left), s(&value)) {
            (Some(l), Some(pat)) => crate::unconfirmed::regex_search(&pat, &l),
            _ => false,
        },
        "in" => contains(&value, &left),
        "nin" => !contains(&value, &left),
        "rin" => contains(&left, &value),
        "rnin" => !contains(&left, &value),
        "^" => matches!((s(&left), s(&value)), (Some(l), Some(v)) if l.starts_with(&v)),
        "!^" => !matches!((s(&left), s(&value)), (Some(l), Some(v)) if l.starts_with(&v)),
        "$" => matches!((s(&left), s(&value)), (Some(l), Some(v)) if l.ends_with(&v)),
        "!$" => !matches!((s(&left), s(&value)), (Some(l), Some(v)) if l.ends_with(&v)),
        other => return Err(bad("filters", format!("Invalid operation: {other}"))),
    })
}

fn matches_all(entry: &Value, filters: &[Value]) -> Result<bool, MethodError> {
    for f in filters {
        let arr = f
            .as_array()
            .ok_or_else(|| bad("filters", "Filter must be a list"))?;
        let ok = if arr.len() == 2 && arr[0].as_str() == Some("OR") {
            let branches = arr[1]
                .as_array()
                .ok_or_else(|| bad("filters", "OR requires a list of filters"))?;
            let mut any = false;
            for b in branches {
                let b = b
                    .as_array()
                    .ok_or_else(|| bad("filters", "Filter must be a list"))?;
                // A branch is either one filter or a list of filters (AND).
                let hit = if b.first().is_some_and(Value::is_array) {
                    matches_all(entry, b)?
                } else {
                    matches_one(entry, b)?
                };
                if hit {
                    any = true;
                    break;
                }
            }
            any
        } else {
            matches_one(entry, arr)?
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn insert_path(map: &mut Map<String, Value>, parts: &[&str], value: Value) {
    match parts {
        [] => {}
        [last] => {
            map.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let next = map
                .entry((*first).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = next {
                insert_path(m, rest, value);
            }
        }
    }
}

fn select(entry: &Value, fields: &[Value]) -> Value {
    let mut out = Map::new();
    for f in fields.iter().filter_map(Value::as_str) {
        // Nested selects keep the dotted path's structure.
        if let Some(v) = get_field(entry, f) {
            let parts: Vec<&str> = f.split('.').collect();
            insert_path(&mut out, &parts, v.clone());
        }
    }
    Value::Object(out)
}

/// Applies `[filters, options]` to the entries; returns the list, a count, or one entry.
pub(crate) fn filter_list(
    entries: Vec<Value>,
    filters: &Value,
    options: &Value,
) -> Result<Value, MethodError> {
    let filters = match filters {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        _ => return Err(bad("filters", "Input should be a valid list")),
    };
    let empty = Map::new();
    let options = match options {
        Value::Null => &empty,
        Value::Object(o) => o,
        _ => return Err(bad("options", "Input should be a valid dictionary")),
    };
    const KNOWN: &[&str] = &[
        "extra",
        "order_by",
        "select",
        "count",
        "get",
        "offset",
        "limit",
        "force_sql_filters",
    ];
    for k in options.keys() {
        if !KNOWN.contains(&k.as_str()) {
            return Err(bad(
                format!("options.{k}"),
                "Extra inputs are not permitted",
            ));
        }
    }
    let mut rows = Vec::new();
    for e in entries {
        if matches_all(&e, &filters)? {
            rows.push(e);
        }
    }
    if let Some(order) = options.get("order_by").and_then(Value::as_array) {
        for key in order.iter().rev().filter_map(Value::as_str) {
            let (key, nulls_first) = match key.strip_prefix("nulls_first:") {
                Some(k) => (k, Some(true)),
                None => match key.strip_prefix("nulls_last:") {
                    Some(k) => (k, Some(false)),
                    None => (key, None),
                },
            };
            let (key, desc) = match key.strip_prefix('-') {
                Some(k) => (k, true),
                None => (key, false),
            };
            rows.sort_by(|a, b| {
                let (x, y) = (
                    get_field(a, key).unwrap_or(&Value::Null),
                    get_field(b, key).unwrap_or(&Value::Null),
                );
                match (x.is_null(), y.is_null(), nulls_first) {
                    (true, false, Some(nf)) => {
                        return if nf {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        };
                    }
                    (false, true, Some(nf)) => {
                        return if nf {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        };
                    }
                    _ => {}
                }
                let o = cmp(x, y).unwrap_or(Ordering::Equal);
                if desc { o.reverse() } else { o }
            });
        }
    }
    if options.get("count").and_then(Value::as_bool) == Some(true) {
        return Ok(Value::from(rows.len()));
    }
    let offset = options.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
    let mut rows: Vec<Value> = rows.into_iter().skip(offset).collect();
    if let Some(limit) = options
        .get("limit")
        .and_then(Value::as_u64)
        .filter(|l| *l > 0)
    {
        rows.truncate(limit as usize);
    }
    if let Some(fields) = options
        .get("select")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    {
        rows = rows.iter().map(|r| select(r, fields)).collect();
    }
    if options.get("get").and_then(Value::as_bool) == Some(true) {
        return rows
            .into_iter()
            .next()
            .ok_or_else(MethodError::match_not_found);
    }
    Ok(Value::Array(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> Vec<Value> {
        vec![
            json!({"id": 1, "username": "alice", "uid": 3000, "groups": [1, 2], "group": {"bsdgrp_gid": 3000}, "email": null}),
            json!({"id": 2, "username": "Bob", "uid": 3001, "groups": [2], "group": {"bsdgrp_gid": 3001}, "email": "b@x"}),
            json!({"id": 3, "username": "carol", "uid": 950, "groups": [], "group": {"bsdgrp_gid": 950}, "email": null}),
        ]
    }

    fn names(v: &Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["username"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn operators() {
        let q = |f: Value| names(&filter_list(data(), &f, &json!({})).unwrap());
        assert_eq!(q(json!([["username", "=", "alice"]])), ["alice"]);
        assert_eq!(q(json!([["username", "C=", "bob"]])), ["Bob"]);
        assert_eq!(q(json!([["uid", ">=", 3000]])), ["alice", "Bob"]);
        assert_eq!(q(json!([["uid", "<", 3000]])), ["carol"]);
        assert_eq!(
            q(json!([["username", "in", ["alice", "carol"]]])),
            ["alice", "carol"]
        );
        assert_eq!(q(json!([["username", "nin", ["alice", "carol"]]])), ["Bob"]);
        assert_eq!(q(json!([["groups", "rin", 1]])), ["alice"]);
        assert_eq!(q(json!([["groups", "rnin", 2]])), ["carol"]);
        assert_eq!(q(json!([["username", "^", "ca"]])), ["carol"]);
        assert_eq!(q(json!([["username", "!^", "ca"]])), ["alice", "Bob"]);
        assert_eq!(q(json!([["username", "$", "ol"]])), ["carol"]);
        assert_eq!(q(json!([["username", "~", "^a.i"]])), ["alice"]);
        assert_eq!(q(json!([["group.bsdgrp_gid", "=", 950]])), ["carol"]);
        assert_eq!(
            q(json!([[
                "OR",
                [["uid", "=", 950], ["username", "=", "alice"]]
            ]])),
            ["alice", "carol"]
        );
        assert_eq!(q(json!([["email", "!=", null]])), ["Bob"]);
    }

    #[test]
    fn options() {
        let r = filter_list(
            data(),
            &json!([]),
            &json!({"order_by": ["-uid"], "limit": 2}),
        )
        .unwrap();
        assert_eq!(names(&r), ["Bob", "alice"]);
        let r = filter_list(data(), &json!([]), &json!({"offset": 1})).unwrap();
        assert_eq!(names(&r), ["Bob", "carol"]);
        assert_eq!(
            filter_list(data(), &json!([]), &json!({"count": true})).unwrap(),
            json!(3)
        );
        let r = filter_list(
            data(),
            &json!([["id", "=", 2]]),
            &json!({"get": true, "select": ["username", "group.bsdgrp_gid"]}),
        )
        .unwrap();
        assert_eq!(r, json!({"username": "Bob", "group": {"bsdgrp_gid": 3001}}));
        assert!(filter_list(data(), &json!([["id", "=", 9]]), &json!({"get": true})).is_err());
    }
}
