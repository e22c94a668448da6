//! JSON-RPC 2.0 framing (`/api/current`, `/api/vX`): validation, error objects, replies.

use serde_json::{Map, Value};

use crate::connection::{Action, Session};
use crate::methods;
use crate::unconfirmed;
use crate::wire_error::{jsonrpc_error_frame, jsonrpc_plain_error};

/// `validate_message`: the exact texts of the middleware.
fn validate(msg: &Map<String, Value>) -> Result<(), &'static str> {
    match msg.get("jsonrpc") {
        None => return Err("Missing 'jsonrpc' member"),
        Some(Value::String(s)) if s == "2.0" => {}
        Some(_) => return Err("'jsonrpc' member must be of type string and must be exactly '2.0'"),
    }
    match msg.get("id") {
        None | Some(Value::Null | Value::String(_) | Value::Bool(_)) => {}
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        Some(_) => return Err("'id' member must be of type null, string or number"),
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
    let params = match msg.remove("params") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    session.start_call(method, params, move |method, result| {
        let id = id?;
        Some(match result {
            Ok(v) => format!(r#"{{"jsonrpc":"2.0","result":{v},"id":{id}}}"#),
            Err(e) => jsonrpc_error_frame(&id, e.to_jsonrpc(method)),
        })
    })
}
