//! JSON-RPC 2.0 framing (`/api/current`, `/api/vX`): validation, error objects, replies.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::connection::{Action, Session};
use crate::methods;
use crate::unconfirmed;
use crate::wire_error::{jsonrpc_error_frame, jsonrpc_plain_error, jsonrpc_result_frame};

/// A well-formed request, read without building a generic JSON tree. Whatever it cannot take (a
/// missing or mistyped member, an escaped `jsonrpc`, a repeated key, a batch) goes the generic
/// way, which answers with the middleware's exact error texts.
#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    jsonrpc: &'a str,
    /// `None` when absent (a notification); `Some(Null)` for `"id": null`.
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(default)]
    params: Vec<Value>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The id types `validate_message` accepts.
fn valid_id(id: Option<&Value>) -> bool {
    match id {
        None | Some(Value::Null | Value::String(_) | Value::Bool(_)) => true,
        Some(Value::Number(n)) => n.is_i64() || n.is_u64(),
        Some(_) => false,
    }
}

/// `validate_message`: the exact texts of the middleware.
fn validate(msg: &Map<String, Value>) -> Result<(), &'static str> {
    match msg.get("jsonrpc") {
        None => return Err("Missing 'jsonrpc' member"),
        Some(Value::String(s)) if s == "2.0" => {}
        Some(_) => return Err("'jsonrpc' member must be of type string and must be exactly '2.0'"),
    }
    if !valid_id(msg.get("id")) {
        return Err("'id' member must be of type null, string or number");
    }
    match msg.get("method") {
        None => return Err("Missing 'method' member"),
        Some(Value::String(_)) => {}
        Some(_) => return Err("'method' member must be of type string"),
    }
    match msg.get("params") {
        None | Some(Value::Array(_)) => {}
        Some(_) => return Err("'params' member must be of type array"),
    }
    Ok(())
}

pub(crate) fn on_text(session: &Session, text: &str) -> Action {
    if let Some((code, reason)) = session.size_violation(text) {
        return Action::Close(code, reason);
    }
    if let Ok(req) = serde_json::from_str::<Request<'_>>(text)
        && req.jsonrpc == "2.0"
        && valid_id(req.id.as_ref())
    {
        return call(session, req.id, req.method.into_owned(), req.params);
    }
    let parsed: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            session.send(jsonrpc_plain_error(
                &Value::Null,
                -32700,
                &unconfirmed::python_json_error(text, &e),
            ));
            return Action::None;
        }
    };
    let mut msg = match parsed {
        Value::Object(m) => m,
        Value::Array(_) => {
            session.send(jsonrpc_plain_error(
                &Value::Null,
                -32700,
                "Batch messages are not supported at this time",
            ));
            return Action::None;
        }
        _ => {
            session.send(jsonrpc_plain_error(
                &Value::Null,
                -32700,
                "Invalid Message Format",
            ));
            return Action::None;
        }
    };
    // A request without an `id` key is a notification: never answered.
    let id = msg.get("id").cloned();
    if let Err(text) = validate(&msg) {
        if let Some(id) = &id {
            session.send(jsonrpc_plain_error(id, -32600, text));
        }
        return Action::None;
    }
    let method = msg
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let params = match msg.remove("params") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    call(session, id, method, params)
}

/// Runs a valid request: unknown methods and a full connection are refused first.
fn call(session: &Session, id: Option<Value>, method: String, params: Vec<Value>) -> Action {
    if methods::lookup(&method).is_none() {
        if let Some(id) = &id {
            session.send(jsonrpc_plain_error(id, -32601, "Method does not exist"));
        }
        return Action::None;
    }
    if !session.has_room() {
        if let Some(id) = &id {
            session.send(jsonrpc_plain_error(
                id,
                -32000,
                "Maximum number of concurrent calls (20) has exceeded",
            ));
        }
        return Action::None;
    }
    session.start_call(method, params, move |method, result| {
        let id = id?;
        Some(match result {
            Ok(v) => jsonrpc_result_frame(&id, &v),
            Err(e) => jsonrpc_error_frame(&id, e.to_jsonrpc(method)),
        })
    })
}
