//! Legacy DDP-like framing (`/websocket`): `msg` dispatch, `connect`, error dicts with `type`.

use serde_json::{Map, Value, json};

use crate::connection::{Action, Session};
use crate::methods::{self, METHODS};
use crate::unconfirmed;
use crate::wire_error::{MethodError, errno};

fn failed(session: &Session) {
    session.send(json!({"msg": "failed", "version": "1"}).to_string());
}

fn result_error(session: &Session, id: &Value, method: &str, e: &MethodError) {
    session.send(json!({"msg": "result", "id": id, "error": e.to_legacy(method)}).to_string());
}

/// The error `utils/service/call.py` raises for a method that does not exist.
fn no_method(name: &str) -> MethodError {
    let Some((service, method)) = name.rsplit_once('.') else {
        return MethodError::call(errno::EBADMSG, "Invalid method name");
    };
    let known = METHODS
        .iter()
        .any(|(m, _)| m.rsplit_once('.').is_some_and(|(s, _)| s == service));
    if known {
        MethodError::call(
            errno::ENOMETHOD,
            format!("Method '{method}' not found in '{service}'"),
        )
    } else {
        MethodError::call(errno::ENOMETHOD, format!("Service '{service}' not found"))
    }
}

fn plain(reason: &str, errno: i64) -> MethodError {
    MethodError::Exception {
        class: "CallError".into(),
        reason: reason.into(),
        repr: format!("CallError({reason:?}, {errno})"),
        errno,
    }
}

pub(crate) fn on_text(session: &Session, connected: &mut bool, text: &str) -> Action {
    if let Some((code, reason)) = session.size_violation(text) {
        return Action::Close(code, reason);
    }
    // parse_message errors close the legacy socket with 1007 (JSON-RPC answers -32700 instead).
    let msg: Map<String, Value> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => m,
        Ok(Value::Array(_)) => {
            return Action::Close(1007, "Batch messages are not supported at this time".into());
        }
        Ok(_) => return Action::Close(1007, "Invalid Message Format".into()),
        Err(e) => return Action::Close(1007, unconfirmed::python_json_error(text, &e)),
    };
    // `message["msg"]` raises KeyError('msg'); str() of it keeps the quotes: the seed bug of §1.5.
    let Some(kind) = msg.get("msg") else {
        return Action::Close(1011, "'msg'".into());
    };
    let kind = kind.as_str().unwrap_or_default();
    if kind == "connect" {
        if msg.get("version").and_then(Value::as_str) == Some("1") {
            *connected = true;
            session.send(
                json!({"msg": "connected", "session": uuid::Uuid::new_v4().to_string()})
                    .to_string(),
            );
        } else {
            failed(session);
        }
        return Action::None;
    }
    if !*connected {
        failed(session);
        return Action::None;
    }
    let id = msg.get("id").cloned().unwrap_or(Value::Null);
    match kind {
        "method" => {
            let Some(method) = msg.get("method").and_then(Value::as_str).map(str::to_owned) else {
                result_error(
                    session,
                    &id,
                    "",
                    &plain("Message is malformed: 'method' is absent.", errno::EINVAL),
                );
                return Action::None;
            };
            if methods::lookup(&method).is_none() {
                result_error(session, &id, &method, &no_method(&method));
                return Action::None;
            }
            let params = match msg.get("params") {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            session.start_call(method, params, move |method, result| {
                Some(match result {
                    Ok(v) => json!({"id": id, "msg": "result", "result": v}).to_string(),
                    Err(e) => {
                        json!({"msg": "result", "id": id, "error": e.to_legacy(method)}).to_string()
                    }
                })
            })
        }
        "sub" => {
            if session.conn.authenticated() {
                session.send(json!({"msg": "ready", "subs": [id]}).to_string());
            } else {
                result_error(session, &id, "", &plain("Not authorized", errno::EACCES));
            }
            Action::None
        }
        // `ping` has had no pong since 25.04; `unsub` answers nothing.
        _ => Action::None,
    }
}
